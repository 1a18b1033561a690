"""Temporary files: those a kill leaves mid-write (``.NAME.tmp.<host>.<pid>.<random>``) are
removed by the next run, which ends as an uninterrupted one would; two identical commands
writing the same output at once both succeed and leave one valid file (each writes its own
temporary file and renames it into place: the last rename wins, with equal contents)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import torch

from faultkit import BASE_ENV, landscape, temporaries
from landscape import atomic
from landscape.cli import main
from landscape.faults import ENV as KILL_ENV
from landscape.surface_file import read_surface


@pytest.fixture(scope="module")
def directions(trained_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("temporaries") / "dirs.h5"
    assert main(["directions", "--checkpoint", str(trained_checkpoint), "--out", str(out)]) == 0
    return out


def surface(checkpoint, dirs, out):
    return ["surface", "--checkpoint", checkpoint, "--directions", dirs, "--x=-1:1:3",
            "--y=-1:1:3", "--dataset", "synthetic", "--subset", "16", "--precision", "fp32",
            "--device", "cpu", "--flush-seconds", "0", "--out", out]


def train(data_dir, out):
    return ["train", "--model", "resnet20", "--dataset", "synthetic", "--data-dir", data_dir,
            "--epochs", "2", "--milestones", "1", "--train-size", "64", "--test-size", "32",
            "--batch-size", "32", "--device", "cpu", "--out", out]


@pytest.fixture(scope="module")
def reference_surface(trained_checkpoint, directions, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "surface.h5"
    assert landscape(*surface(trained_checkpoint, directions, out)).returncode == 0
    return read_surface(out)


def test_kill_during_a_progress_write_leaves_litter_the_rerun_removes(
        trained_checkpoint, directions, reference_surface, tmp_path):
    out = tmp_path / "surface.h5"
    argv = surface(trained_checkpoint, directions, out)
    killed = landscape(*argv, env={KILL_ENV: "write:3"})  # the third save of OUT.partial
    assert killed.returncode == -9
    litter = temporaries(tmp_path)
    assert [p.name.startswith(".surface.h5.partial.tmp.") for p in litter] == [True]
    assert read_surface(tmp_path / "surface.h5.partial").computed.sum() == 2
    rerun = landscape(*argv)
    assert rerun.returncode == 0, rerun.stderr
    assert "7 computed now" in rerun.stdout
    assert not temporaries(tmp_path) and sorted(os.listdir(tmp_path)) == ["surface.h5"]
    for name, values in reference_surface.values.items():
        assert (read_surface(out).values[name] == values).all(), name


def test_kill_during_a_resume_write_leaves_litter_the_rerun_removes(data_dir, tmp_path):
    reference, out = tmp_path / "reference", tmp_path / "run"
    assert landscape(*train(data_dir, reference)).returncode == 0
    # writes: epoch_000.pt, then per epoch metrics.csv, epoch_NNN.pt, resume.pt
    killed = landscape(*train(data_dir, out), env={KILL_ENV: "write:4"})
    assert killed.returncode == -9
    assert [p.name.startswith(".resume.pt.tmp.") for p in temporaries(out)] == [True]
    rerun = landscape(*train(data_dir, out))
    assert rerun.returncode == 0, rerun.stderr
    assert not temporaries(out)
    expected = torch.load(reference / "final.pt", weights_only=True)["state_dict"]
    resumed = torch.load(out / "final.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(resumed[k], v) for k, v in expected.items())


def test_two_identical_commands_at_once_leave_one_valid_file(
        trained_checkpoint, directions, reference_surface, tmp_path):
    out = tmp_path / "surface.h5"
    env = {**os.environ, **BASE_ENV}
    runs = [subprocess.Popen([sys.executable, "-m", "landscape",
                              *map(str, surface(trained_checkpoint, directions, out))],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
    assert not temporaries(tmp_path) and sorted(os.listdir(tmp_path)) == ["surface.h5"]
    written = read_surface(out)
    assert written.computed.all()
    for name, values in reference_surface.values.items():
        assert (written.values[name] == values).all(), name


def test_only_temporaries_of_dead_processes_of_this_host_are_removed(tmp_path):
    target = tmp_path / "out.h5"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid, live_pid = int(dead.stdout), os.getppid()
    host = atomic._HOST
    names = {
        f".out.h5.tmp.{host}.{dead_pid}.0badc0de": False,  # killed here: removed
        f".out.h5.tmp{dead_pid}": False,  # the earlier name pattern, killed here: removed
        f".out.h5.tmp.{host}.{live_pid}.0badc0de": True,  # a concurrent writer: kept
        f".out.h5.tmp.elsewhere-{socket.gethostname()[:5]}.{dead_pid}.0badc0de": True,
        ".out.h5.partial.tmp.x.1.0badc0de": True,  # another target's
        "out.h5": True,
    }
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    atomic.atomic_write_bytes(target, b"new")
    assert sorted(os.listdir(tmp_path)) == sorted(n for n, kept in names.items() if kept)
    assert target.read_bytes() == b"new"
