"""The checks verify runs on an image's files: bundles, manifests, findings."""
