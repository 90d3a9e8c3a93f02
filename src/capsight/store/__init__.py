"""capsight.store."""
