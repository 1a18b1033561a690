"""Test-only fault injection: SIGKILL this process at a chosen pass through a named site.

The kill tests (tests/test_faults.py) set ``LANDSCAPE_TEST_SIGKILL="SITE:N"`` in a
subprocess's environment: the N-th time the process reaches ``SITE`` it sends itself
SIGKILL (no cleanup, no ``finally``: a power cut, the OOM killer, ``scancel -s KILL``).
Sites:

- ``write``: inside every all-or-nothing write (``landscape.atomic``), after the temporary
  files are written and cut to half their length, before they are renamed into place;
- ``batch``: inside a training epoch, after an SGD step;
- ``point``: inside a sweep, after a point is measured, before it is stored.

``"batch:5,write:2"`` kills at whichever comes first. Unset (always, outside those tests),
``reached`` costs one dictionary lookup.
"""

from __future__ import annotations

import functools
import os
import signal
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

ENV = "LANDSCAPE_TEST_SIGKILL"
SITES = ("write", "batch", "point")
_passes: Counter[str] = Counter()


@functools.cache
def schedule() -> dict[str, int]:
    """``{site: N}`` from the environment variable (read once per process)."""
    plan = {}
    for item in filter(None, os.environ.get(ENV, "").split(",")):
        site, _, count = item.partition(":")
        if site not in SITES or not count.isdigit() or int(count) < 1:
            raise ValueError(f"{ENV}={os.environ[ENV]!r}: use SITE:N with SITE in {SITES}")
        plan[site] = int(count)
    return plan


def reached(site: str, files: Iterable[Path] = ()) -> None:
    """Count one pass through ``site``; on the scheduled pass, cut ``files`` to half, SIGKILL."""
    plan = schedule()
    if site not in plan:
        return
    _passes[site] += 1
    if _passes[site] == plan[site]:
        for path in files:
            if Path(path).exists():
                os.truncate(path, Path(path).stat().st_size // 2)
        os.kill(os.getpid(), signal.SIGKILL)
