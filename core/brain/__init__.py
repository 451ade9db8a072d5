"""core/brain."""
