"""record, seal and run: what a build writes before and after its bundle."""
