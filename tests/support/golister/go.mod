module buildguard.test/golister

go 1.19
