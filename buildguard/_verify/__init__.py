"""verify: an image against a record, a past build's images, and marking the verified."""
