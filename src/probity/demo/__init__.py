"""The demo country: a deterministic synthetic country with planted schemes and its ground truth."""
