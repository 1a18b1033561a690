"""Faults: a kill at any moment loses nothing, and a compiler that fails is survived.

- Each long-running stage (train, surface, hessian, trajectory) runs under a seeded schedule
  of SIGKILLs at points inside its work (``landscape.faults`` sites: inside an epoch, during
  a checkpoint or progress write, between a point's evaluation and its storing), is rerun
  after each, and must end with the tensors and arrays of an uninterrupted run and no
  temporary file.
- Snakemake itself, killed with all its jobs at a seeded moment of the smoke run, then
  unlocked and rerun with ``--rerun-incomplete``, ends with the same arrays and
  byte-identical figures as an uninterrupted run.
- ``torch.compile`` without a working C++ compiler falls back to eager execution, with one
  warning line recorded in the output's provenance, in training and in sweeps.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from faultkit import (
    assert_same_results, kill_schedule, landscape, reference_smoke, run_with_kills,
    temporaries,
)
from landscape.cli import main
from landscape.configs import SurfaceConfig, TrainConfig
from landscape.surface import compute_surface
from landscape.surface_file import read_surface
from landscape.train import train

SEED = 2018


def train_args(data_dir, out):
    # 2 epochs of 3 batches: writes epoch_000.pt, then per epoch metrics.csv, epoch_NNN.pt,
    # resume.pt, then final.pt and metrics.csv
    return ["train", "--model", "resnet20", "--dataset", "synthetic", "--data-dir", data_dir,
            "--epochs", "2", "--milestones", "1", "--train-size", "96", "--test-size", "32",
            "--batch-size", "32", "--save-every", "1", "--seed", "1", "--device", "cpu",
            "--out", out]


def test_training_killed_at_seeded_moments_ends_as_an_uninterrupted_run(data_dir, tmp_path):
    reference, out = tmp_path / "reference", tmp_path / "killed"
    assert landscape(*train_args(data_dir, reference)).returncode == 0
    # inside epoch 1 or 2; then during one of the first writes of the resumed run (a
    # checkpoint, the metrics, resume.pt); then inside an epoch again
    schedule = kill_schedule(SEED, [("batch", 5), ("write", 3), ("batch", 3)])
    run_with_kills(train_args(data_dir, out), schedule)
    assert not temporaries(out)
    assert sorted(os.listdir(out)) == sorted(os.listdir(reference))
    for name in ("final.pt", "epoch_001.pt", "resume.pt"):
        a = torch.load(reference / name, weights_only=True)
        b = torch.load(out / name, weights_only=True)
        for key, value in a["state_dict"].items():
            assert torch.equal(b["state_dict"][key], value), (name, key)
        momentum = [s["momentum_buffer"] for s in a["optimizer"]["state"].values()]
        assert all(torch.equal(x, y["momentum_buffer"])
                   for x, y in zip(momentum, b["optimizer"]["state"].values())), name
    rows = [line.rsplit(",", 1)[0] for line in (reference / "metrics.csv").read_text().split()]
    assert rows == [line.rsplit(",", 1)[0] for line in (out / "metrics.csv").read_text().split()]


@pytest.fixture(scope="module")
def directions(trained_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("faults") / "dirs.h5"
    assert main(["directions", "--checkpoint", str(trained_checkpoint), "--out", str(out)]) == 0
    return out


def surface_args(checkpoint, dirs, out):
    # 9 points, OUT.partial saved after each
    return ["surface", "--checkpoint", checkpoint, "--directions", dirs, "--x=-1:1:3",
            "--y=-1:1:3", "--shard", "0/1", "--dataset", "synthetic", "--subset", "16",
            "--splits", "train", "test", "--precision", "fp32", "--device", "cpu",
            "--flush-seconds", "0", "--out", out]


def test_sweep_killed_at_seeded_moments_ends_as_an_uninterrupted_run(
        trained_checkpoint, directions, tmp_path):
    reference, out = tmp_path / "reference.h5", tmp_path / "killed" / "surface.h5"
    assert landscape(*surface_args(trained_checkpoint, directions, reference)).returncode == 0
    # between a point's evaluation and its storing; during a progress write of the resumed
    # sweep; at the first point of the next resume
    schedule = kill_schedule(SEED, [("point", 8), ("write", 2), ("point", 1)])
    outcomes = run_with_kills(surface_args(trained_checkpoint, directions, out), schedule)
    assert re.search(r"\(9 points, \d computed now", outcomes[-1].stdout)
    assert not temporaries(out.parent) and sorted(os.listdir(out.parent)) == ["surface.h5"]
    expected, resumed = read_surface(reference), read_surface(out)
    assert sorted(resumed.values) == ["test_acc", "test_loss", "train_acc", "train_loss"]
    for name, values in expected.values.items():
        np.testing.assert_array_equal(resumed.values[name], values, err_msg=name)


def hessian_args(checkpoint, dirs, out):
    # 4 points, OUT.partial saved after each
    return ["hessian", "--checkpoint", checkpoint, "--directions", dirs, "--x=-1:1:2",
            "--y=-1:1:2", "--dataset", "synthetic", "--subset", "8", "--tol", "0.5",
            "--max-iter", "4", "--device", "cpu", "--flush-seconds", "0", "--out", out]


def test_hessian_sweep_killed_at_seeded_moments_ends_as_an_uninterrupted_run(
        trained_checkpoint, directions, tmp_path):
    reference, out = tmp_path / "reference.h5", tmp_path / "killed" / "hessian.h5"
    assert landscape(*hessian_args(trained_checkpoint, directions, reference)).returncode == 0
    schedule = kill_schedule(SEED, [("point", 3), ("write", 1), ("point", 1)])
    outcomes = run_with_kills(hessian_args(trained_checkpoint, directions, out), schedule)
    assert re.search(r"\(4 points, \d computed now", outcomes[-1].stdout)
    assert not temporaries(out.parent) and sorted(os.listdir(out.parent)) == ["hessian.h5"]
    expected, resumed = read_surface(reference), read_surface(out)
    assert {"max_eig", "min_eig", "train_loss"} <= set(resumed.values)
    for name, values in expected.values.items():
        np.testing.assert_array_equal(resumed.values[name], values, err_msg=name)


def h5_arrays(path):
    """Every dataset of an HDF5 file, by name."""
    import h5py

    with h5py.File(path, "r") as fh:
        arrays = {}
        fh.visititems(lambda name, obj: arrays.__setitem__(name, obj[()])
                      if isinstance(obj, h5py.Dataset) else None)
    return arrays


def test_trajectory_killed_while_writing_ends_as_an_uninterrupted_run(trained_checkpoint, tmp_path):
    # the PCA of epochs 0-2; a kill inside the second write (the path, after the directions)
    # and then inside the first: a rerun starts over and writes both
    def args(folder):
        return ["trajectory", "--checkpoints", trained_checkpoint.parent, "--out",
                folder / "path.h5", "--out-directions", folder / "pca.h5", "--no-progress"]

    reference, killed = tmp_path / "reference", tmp_path / "killed"
    assert landscape(*args(reference)).returncode == 0
    run_with_kills(args(killed), kill_schedule(SEED, [("write", 2), ("write", 1)]))
    assert not temporaries(killed) and sorted(os.listdir(killed)) == ["path.h5", "pca.h5"]
    for name in ("path.h5", "pca.h5"):
        expected, resumed = h5_arrays(reference / name), h5_arrays(killed / name)
        assert sorted(resumed) == sorted(expected) and expected, name
        for key, values in expected.items():
            np.testing.assert_array_equal(resumed[key], values, err_msg=f"{name}:{key}")


# ------------------------------------------------------------------------ the workflow


@pytest.mark.slow
def test_snakemake_killed_mid_run_then_rerun_matches_an_uninterrupted_run(
        tmp_path_factory, data_dir):
    from test_workflow import SMOKE, SNAKEFILE, snakemake, write_yaml

    reference = reference_smoke(tmp_path_factory, data_dir)
    workdir = tmp_path_factory.mktemp("smoke_killed")
    data = write_yaml(workdir / "data.yaml", {"data_dir": str(data_dir)})
    rng = np.random.default_rng(SEED)
    finished, delay = int(rng.integers(1, 12)), float(rng.uniform(0, 3))
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    log = workdir / "killed.log"
    with open(log, "w") as fh:
        run = subprocess.Popen(
            [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), "--directory",
             str(workdir), "--cores", "2", "--configfile", str(SMOKE), str(data)],
            env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        while log.read_text().count("Finished jobid") < finished and run.poll() is None:
            time.sleep(0.2)
        time.sleep(delay)
        assert run.poll() is None, "the run ended before its kill"
        os.killpg(run.pid, signal.SIGKILL)  # snakemake and every job it runs, mid-write or not
        run.wait()
    snakemake(workdir, "--unlock", configfiles=(SMOKE, data))
    rerun = snakemake(workdir, "--rerun-incomplete", configfiles=(SMOKE, data))
    assert "Nothing to be done" not in rerun.stdout
    assert_same_results(reference / "results" / "smoke", workdir / "results" / "smoke")
    assert not temporaries(workdir / "results")


# --------------------------------------------------------------------- torch.compile


@pytest.fixture
def no_compiler():
    """inductor finds no C++ compiler (and no cached kernels): compiling for a CPU fails."""
    import torch._inductor.config as inductor

    torch._dynamo.reset()
    with inductor.patch({"cpp.cxx": (None, "/nonexistent/c++"), "fx_graph_cache": False}):
        yield
    torch._dynamo.reset()


def test_training_falls_back_to_eager_when_compilation_fails(no_compiler, data_dir, tmp_path,
                                                              caplog, one_thread):
    cfg = {"model": "resnet20", "dataset": "synthetic", "data_dir": str(data_dir), "epochs": 1,
           "milestones": (1,), "train_size": 32, "test_size": 16, "batch_size": 16,
           "device": "cpu"}
    eager = torch.load(train(TrainConfig(**cfg), tmp_path / "eager", progress=False),
                       weights_only=True)
    with caplog.at_level("WARNING"):
        final = train(TrainConfig(**cfg, compile=True), tmp_path / "compiled", progress=False)
    warnings = [r.getMessage() for r in caplog.records if "torch.compile" in r.getMessage()]
    assert len(warnings) == 1 and "of the model's forward pass failed" in warnings[0]
    assert "running it eagerly" in warnings[0] and "\n" not in warnings[0]
    fallback = torch.load(final, weights_only=True)
    assert fallback["config"]["compile"] is True
    assert "C++ compiler" in fallback["compile_error"] and eager["compile_error"] is None
    for key, value in eager["state_dict"].items():
        assert torch.equal(fallback["state_dict"][key], value), key


def test_sweep_falls_back_to_eager_when_compilation_fails(no_compiler, trained_checkpoint,
                                                           directions, data_dir, tmp_path,
                                                           caplog, one_thread):
    cfg = {"checkpoint": str(trained_checkpoint), "directions": str(directions), "x": "-1:1:3",
           "dataset": "synthetic", "data_dir": str(data_dir), "subset": 16, "precision": "fp32",
           "device": "cpu"}
    compute_surface(SurfaceConfig(**cfg), tmp_path / "eager.h5", progress=False)
    with caplog.at_level("WARNING"):
        compute_surface(SurfaceConfig(**cfg, compile=True), tmp_path / "compiled.h5",
                        progress=False)
    warnings = [r.getMessage() for r in caplog.records if "torch.compile" in r.getMessage()]
    assert len(warnings) == 1 and "of the evaluation step failed" in warnings[0]
    eager, fallback = read_surface(tmp_path / "eager.h5"), read_surface(tmp_path / "compiled.h5")
    assert fallback.attrs["compile"] is True and fallback.attrs["engine_compiled"] is False
    assert "C++ compiler" in fallback.attrs["engine_compile_error"]
    assert "engine_compile_error" not in eager.attrs
    for name, values in eager.values.items():
        np.testing.assert_array_equal(fallback.values[name], values, err_msg=name)

