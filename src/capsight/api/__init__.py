"""capsight.api."""
