"""capsight.training."""
