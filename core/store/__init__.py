"""deskmate's database: models, engines and migrations, and one repository module per aggregate.

``db`` (engines, sessions, ``upgrade``), ``models`` (the tables), and the repositories
``events`` (the outbox), ``leases``, ``sessions`` (with messages), ``actions``, ``audit``
and ``knowledge`` (with sync state). See docs/database.md.
"""
