module buildguard.test/gojson

go 1.19
