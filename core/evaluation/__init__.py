"""``deskmate eval``: cases played through the engine offline, and the figures they give.

``cases`` reads and checks case files, ``knowledge`` loads what they answer from, ``player``
plays them through the engine, ``metrics`` computes the figures, ``report`` prints them and
``export`` drafts cases from stored sessions. See docs/eval.md.
"""
