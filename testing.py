"""Fixtures and builders for testing deskmate plugins; import them in your own conftest.py.

``pytest_plugins = ["deskmate.testing"]`` makes every fixture here available.
"""
