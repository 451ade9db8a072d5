"""deskmate: an open-source AI teammate that works inside Intercom."""

from deskmate.hookspecs import hookimpl

__all__ = ["__version__", "hookimpl"]
__version__ = "0.1.0"
