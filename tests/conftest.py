"""Shared fixtures: the synthetic data set, generated once, one small trained model, and the
check every bad-input test makes of the command line (exit status 2, one line, named)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from landscape import data
from landscape.cli import main
from landscape.train import TrainConfig, train


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """A data folder holding the synthetic set (generated once per session)."""
    root = tmp_path_factory.mktemp("data")
    data.load("synthetic", "train", root)
    return root


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory, data_dir) -> Path:
    """``final.pt`` of a resnet20 trained 2 epochs on 500 synthetic images (CPU)."""
    out = tmp_path_factory.mktemp("trained")
    cfg = TrainConfig(model="resnet20", dataset="synthetic", data_dir=str(data_dir), epochs=2,
                      train_size=500, test_size=200, milestones=(1,), save_every=1, seed=0,
                      device="cpu")
    with torch.random.fork_rng(devices=[]):
        return train(cfg, out, progress=False)


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread: tiny batches run many times faster than with two on shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def cli_error(capsys) -> Callable[..., str]:
    """``cli_error(*argv)``: run ``landscape *argv`` in-process; it must exit with status 2 and
    end with exactly one error line, ``landscape <command>: error: ...``, which is returned.
    Progress lines of work done before the failure (``landscape <command>: ...``) may precede
    it; nothing else may (no traceback, no warning of a library)."""

    def run(*argv: str) -> str:
        capsys.readouterr()  # what earlier calls printed
        code = main([str(a) for a in argv])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2, (argv, code, err)
        prefix = f"landscape {argv[0]}: "
        assert err and all(line.startswith(prefix) for line in err), err
        errors = [line for line in err if line.startswith(f"{prefix}error: ")]
        assert errors == [err[-1]], err
        return err[-1]

    return run
