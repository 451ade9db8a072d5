"""core/sandbox."""
