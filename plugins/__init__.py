"""deskmate's built-in plugins, loaded through the ``deskmate`` entry-point group."""
