"""What every sandbox server shares: started and stopped around a ``with`` block."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class LocalServer(ABC):
    """A server on 127.0.0.1 that a test or the demo starts and must always stop."""

    @abstractmethod
    def start(self) -> Self:
        """Start serving; return self once clients can connect."""

    @abstractmethod
    def stop(self) -> None:
        """Stop serving and release every port, thread and file."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
