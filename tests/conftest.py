"""Fixtures shared by every test area come from the public testing module."""

pytest_plugins = ["deskmate.testing"]
