"""capsight.batch."""
