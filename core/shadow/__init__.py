"""Shadow mode: the AI decides as in autopilot and records what it would have done; nothing
reaches the customer or the team's inbox. ``guard`` enforces it, ``report`` compares the
recorded decisions with what the humans then did, ``command`` is ``deskmate shadow``."""
