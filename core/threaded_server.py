"""A waitress server running in a background thread, stopped cleanly (the sandbox, the local
stack, tests).

waitress's loop owns its connections: closing them from another thread races the loop over
file descriptors, and a descriptor closed twice may by then belong to another server's socket or
pipe. :meth:`ThreadedServer.stop` therefore asks the loop to close everything itself, waits for
it to end, and only then stops the worker threads.
"""

from __future__ import annotations

import threading

from waitress import wasyncore
from waitress.server import BaseWSGIServer


class ThreadedServer:
    """Runs ``server`` in a daemon thread named ``name`` between :meth:`start` and :meth:`stop`.

    ``server`` listens on one socket (what ``create_server`` makes for one host and port).
    """

    def __init__(self, server: BaseWSGIServer, name: str) -> None:
        self.server = server
        self._thread = threading.Thread(target=server.run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection from inside the loop (so it ends), then the worker threads.

        When the loop can't be woken (its wake-up pipe is already closed), the connections are
        closed from here instead, and the loop ends on its next turn.
        """
        server = self.server
        if not (self._thread.is_alive() and self._close_inside_loop()):
            wasyncore.close_all(server._map)
        self._thread.join(timeout)
        server.task_dispatcher.shutdown()

    def _close_inside_loop(self) -> bool:
        """Ask the loop to close everything; ``False`` if it could not be woken."""
        server = self.server
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        except OSError:
            return False
        return True
