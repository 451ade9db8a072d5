"""Alembic migrations of the deskmate store."""
