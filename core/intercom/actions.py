"""The Intercom implementations of the action hooks, registered ``trylast``."""
