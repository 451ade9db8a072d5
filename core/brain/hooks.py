"""The default brain, registered as a ``trylast`` plugin so any part can be replaced."""
