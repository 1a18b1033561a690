"""``torch.compile`` with a way back to eager execution.

Compilation can fail on a user's machine where eager PyTorch runs fine: no C++ compiler
for inductor's CPU kernels, an op the backend does not support, a CUDA-graph capture that
fails. ``Compiled(fn, what)`` calls the compiled ``fn``; if that raises and ``fn`` itself
then runs, it keeps running ``fn`` eagerly from then on, logs one warning line and keeps
the reason in ``error`` for the output's provenance (a surface's ``engine_compile_error``
attribute, a checkpoint's ``compile_error`` entry). An error that eager execution raises
too is the caller's, and is raised.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import torch

log = logging.getLogger(__name__)


class Compiled:
    """``fn`` compiled by ``torch.compile(fn, **options)``, falling back to ``fn`` on failure."""

    def __init__(self, fn: Callable[..., Any], what: str, **options: Any) -> None:
        self.eager = fn
        self.what = what
        self.compiled = torch.compile(fn, **options)
        self.error: str | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether calls still run the compiled code."""
        return self.error is None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.error is None:
            try:
                return self.compiled(*args, **kwargs)
            except torch.OutOfMemoryError:
                raise  # the engine shrinks its batch on this; not a compilation problem
            except Exception as exc:
                result = self.eager(*args, **kwargs)  # raises if the input is at fault
                self._fall_back(exc)
                return result
        return self.eager(*args, **kwargs)

    def _fall_back(self, exc: Exception) -> None:
        with self._lock:
            if self.error is not None:
                return
            lines = str(exc).strip().splitlines()
            self.error = f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
            log.warning("warning: torch.compile of %s failed (%s); running it eagerly",
                        self.what, self.error)


def compile_error(fn: Any) -> str | None:
    """The fallback reason of a ``Compiled`` (None for one that works or plain code)."""
    return getattr(fn, "error", None)
