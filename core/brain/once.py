"""Data the brain loads once per process: ahead of the first question, or on it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class LoadedOnce(Generic[T]):
    """``load()``'s result, loaded by whichever thread asks first; the others wait for it."""

    def __init__(self, load: Callable[[], T]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._value: T | None = None

    def warm(self) -> None:
        """Load now (the knowledge warm-up does, in its thread) rather than on first use."""
        with self._lock:
            if self._value is None:
                self._value = self._load()

    def get(self) -> T:
        if self._value is None:
            self.warm()
        assert self._value is not None
        return self._value
