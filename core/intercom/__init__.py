"""core/intercom."""
