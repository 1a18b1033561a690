"""Disk full: every command writing into a full file system ends in one line saying so and
what to do (exit status 2), leaves the files already there byte-identical and no temporary
file behind; a training run that fills the disk midway continues, once space is freed, to
the weights of an uninterrupted run. Each test mounts a small tmpfs (root only)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from faultkit import fill, snapshot, temporaries, tmpfs
from landscape import train as training
from landscape.cli import main
from test_bad_input_paths import COMMANDS, writing

NO_SPACE = "no space left on the device"


@pytest.fixture(scope="module")
def inputs(trained_checkpoint, tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    dirs, surface = root / "dirs.h5", root / "surface.h5"
    assert main(["directions", "--checkpoint", str(trained_checkpoint), "--out", str(dirs)]) == 0
    with h5py.File(surface, "w") as fh:
        fh["xcoordinates"] = np.linspace(-1, 1, 3)
        fh["ycoordinates"] = np.linspace(-1, 1, 3)
        fh["train_loss"] = np.arange(9.0).reshape(3, 3)
        fh["train_acc"] = np.full((3, 3), 50.0)
    return {"checkpoint": trained_checkpoint, "directions": dirs, "surface": surface,
            "metrics": trained_checkpoint.parent / "metrics.csv"}


@pytest.mark.parametrize("name", COMMANDS)
def test_full_disk_is_one_line_and_changes_nothing(name, inputs, data_dir, tmp_path, cli_error):
    with tmpfs(tmp_path / "disk", size="2m") as disk:
        (disk / "earlier.txt").write_bytes(b"written before the disk filled up\n")
        fill(disk)
        before = snapshot(disk)
        message = cli_error(*writing(name, inputs, disk / "out", data_dir))
        assert f"{disk}/out" in message
        # refused up front from an estimate, or stopped by the write that found no space
        assert NO_SPACE in message or "of disk space but" in message, message
        assert "free some space" in message
        assert snapshot(disk) == before and not temporaries(disk)


TRAIN = ["--model", "resnet20", "--dataset", "synthetic", "--epochs", "2", "--milestones", "1",
         "--train-size", "96", "--test-size", "32", "--batch-size", "32", "--save-every", "1",
         "--seed", "3", "--device", "cpu"]


def test_training_into_a_disk_that_fills_up_continues_once_space_is_freed(
        data_dir, tmp_path, monkeypatch, cli_error, one_thread):
    reference = tmp_path / "reference"
    assert main(["train", *TRAIN, "--data-dir", str(data_dir), "--out", str(reference)]) == 0
    with tmpfs(tmp_path / "disk", size="16m") as disk:
        out = disk / "run"
        filler = []
        epoch = training._train_epoch

        def fill_after_first_epoch(*args, **kwargs):
            row = epoch(*args, **kwargs)
            if row["epoch"] == 2 and not filler:
                filler.append(fill(disk))  # epoch 1's files are written; epoch 2's will not be
            return row

        monkeypatch.setattr(training, "_train_epoch", fill_after_first_epoch)
        argv = ["train", *TRAIN, "--data-dir", data_dir, "--out", out]
        message = cli_error(*argv)
        assert message.startswith(f"landscape train: error: cannot write {out}/")
        assert NO_SPACE in message and "rerun the same command (finished work is kept)" in message
        kept = snapshot(out)
        assert {"epoch_000.pt", "epoch_001.pt", "resume.pt", "metrics.csv"} <= set(kept)
        assert "final.pt" not in kept and not temporaries(disk)
        assert torch.load(out / "resume.pt", weights_only=True)["epoch"] == 1

        filler[0].unlink()
        monkeypatch.setattr(training, "_train_epoch", epoch)
        assert main([str(a) for a in argv]) == 0
        resumed = torch.load(out / "final.pt", weights_only=True)
        expected = torch.load(reference / "final.pt", weights_only=True)
        for key, value in expected["state_dict"].items():
            assert torch.equal(resumed["state_dict"][key], value), key
        assert not temporaries(disk)


def test_training_refuses_a_disk_too_small_for_its_checkpoints(data_dir, tmp_path, cli_error):
    with tmpfs(tmp_path / "disk", size="1m") as disk:
        message = cli_error("train", *TRAIN, "--data-dir", data_dir, "--out", disk / "run")
        assert "training resnet20 into" in message and "(5 checkpoints) needs about" in message
        assert "of disk space but" in message and "free" in message
        assert list(disk.iterdir()) == []
