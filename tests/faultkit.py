"""Helpers of the fault tests: `landscape` in a subprocess, seeded SIGKILL schedules, small
file systems that fill up or are read-only, and the temporary files a kill leaves.

A stage that runs long enough to be killed gets the same checks by calling these:

    schedule = kill_schedule(seed, [("batch", 5), ("write", 3)])  # where to kill, how late
    outcomes = run_with_kills(["train", ...], schedule)          # each kill, then to the end
    assert outcomes[-1].returncode == 0 and not temporaries(out_folder)

then comparing its outputs with an uninterrupted ``landscape(...)`` run of the same command.
Kill sites are those of ``landscape.faults`` (``write``, ``batch``, ``point``).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from landscape.faults import ENV as KILL_ENV

# One thread in every subprocess: runs that are compared bit for bit use the same one, and
# two-core CI machines are not oversubscribed.
BASE_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def landscape(*args: object, env: Mapping[str, str] | None = None,
              timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m landscape *args`` in a subprocess (this interpreter, this source tree)."""
    full_env = {k: v for k, v in os.environ.items() if k != KILL_ENV}
    full_env.update({**BASE_ENV, **(env or {})})
    src = str(Path(__file__).resolve().parents[1] / "src")
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, full_env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "landscape", *map(str, args)], env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def kill_schedule(seed: int, points: Sequence[tuple[str, int]]) -> list[str]:
    """One kill point ``SITE:N`` per ``(SITE, most)`` in ``points``, in that order, with a
    seeded N in ``1..most``: choose each ``most`` so that the run resumed after the earlier
    kills still reaches the site that often, whatever the earlier draws were."""
    rng = np.random.default_rng(seed)
    return [f"{site}:{int(rng.integers(1, most + 1))}" for site, most in points]


def run_with_kills(args: Sequence[object], schedule: Sequence[str]
                   ) -> list[subprocess.CompletedProcess]:
    """Run ``landscape *args`` once per kill point (each must die by SIGKILL there), then once
    more without one; returns every run's result (the last must have finished)."""
    outcomes = []
    for spec in schedule:
        result = landscape(*args, env={KILL_ENV: spec})
        outcomes.append(result)
        assert result.returncode == -signal.SIGKILL, (
            f"{spec}: expected a SIGKILL, got exit {result.returncode}\n{result.stderr[-3000:]}")
    final = landscape(*args)
    outcomes.append(final)
    assert final.returncode == 0, final.stderr[-3000:]
    return outcomes


def temporaries(folder: Path) -> list[Path]:
    """Temporary files of all-or-nothing writes (``.NAME.tmp...``) anywhere under ``folder``."""
    return sorted(p for p in Path(folder).rglob(".*.tmp*") if p.is_file())


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path: to check nothing changed."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "4m", read_only: bool = False) -> Iterator[Path]:
    """A small RAM file system mounted at ``path`` (root only: skips the test otherwise)."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root; CI runs as root): {mounted.stdout}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path) -> Path:
    """Fill ``folder``'s file system to the last byte with one file; returns it (delete it to
    free the space again)."""
    filler = folder / "filler"
    block = b"\0" * 65536
    with open(filler, "wb", buffering=0) as fh:
        while True:
            try:
                fh.write(block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(block) == 1:
                    break
                block = block[: len(block) // 2]
    return filler


# ------------------------------------------------------------------- workflow runs compared

_SMOKE_RUNS: dict[str, Path] = {}


def reference_smoke(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """The working folder of one uninterrupted local smoke run, made once per test session
    and shared by the tests that compare other runs (killed, on SLURM) with it."""
    from test_workflow import smoke_run

    if str(data_dir) not in _SMOKE_RUNS:
        workdir = tmp_path_factory.mktemp("smoke_reference")
        _, seconds = smoke_run(workdir, data_dir)
        print(f"smoke preset: {seconds:.0f} s on {os.cpu_count()} cores")
        _SMOKE_RUNS[str(data_dir)] = workdir
    return _SMOKE_RUNS[str(data_dir)]


def assert_same_results(first: Path, second: Path) -> None:
    """Two runs' ``results/<run>`` folders hold the same results: equal weights and metrics
    (but their timings), equal surface arrays, byte-identical figures and tables."""
    import h5py
    import torch

    for sub, pattern in (("surfaces", "**/*.h5"), ("trajectories", "**/*.h5"),
                         ("interpolations", "*.h5"), ("hessian", "**/*.h5"), ("figures", "*"),
                         ("tables", "*"), ("train", "*/final.pt"), ("train", "*/metrics.csv")):
        names = sorted(str(p.relative_to(first)) for p in (first / sub).glob(pattern))
        assert names, f"{first / sub} holds no {pattern}"
        assert names == sorted(str(p.relative_to(second)) for p in (second / sub).glob(pattern))
        for name in names:
            a, b = first / name, second / name
            if a.suffix == ".h5":
                with h5py.File(a) as fa, h5py.File(b) as fb:
                    assert sorted(fa) == sorted(fb), name
                    for key in fa:
                        if isinstance(fa[key], h5py.Dataset) and fa[key].dtype.kind in "fiub":
                            np.testing.assert_array_equal(fa[key][()], fb[key][()],
                                                          err_msg=f"{name}:{key}")
            elif a.suffix == ".pt":
                sa = torch.load(a, weights_only=True)["state_dict"]
                sb = torch.load(b, weights_only=True)["state_dict"]
                assert all(torch.equal(sa[k], sb[k]) for k in sa), name
            elif a.name == "metrics.csv":
                strip = lambda text: [line.rsplit(",", 1)[0] for line in text.splitlines()]  # noqa: E731
                assert strip(a.read_text()) == strip(b.read_text()), name
            elif a.name.startswith("provenance_"):
                assert untimed_table(a) == untimed_table(b), name
            else:
                assert a.read_bytes() == b.read_bytes(), name


def untimed_table(path: Path) -> tuple[str, list[list[str]]]:
    """A provenance table (CSV or HTML) without its timing column (``seconds``, ``time (s)``),
    which differs between two runs of the same work: (the HTML outside the rows, the rows)."""
    text = path.read_text()
    if path.suffix == ".csv":
        frame, rows = "", list(csv.reader(io.StringIO(text)))
    else:
        frame = re.sub(r"<tr>.*?</tr>", "<tr/>", text, flags=re.S)
        rows = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
                for row in re.findall(r"<tr>(.*?)</tr>", text, flags=re.S)]
    column = rows[0].index("seconds" if path.suffix == ".csv" else "time (s)")
    return frame, [row[:column] + row[column + 1:] for row in rows]
