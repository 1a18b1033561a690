"""Training: the recipe's schedule, CPU determinism, kill-and-resume equality, its files."""

import csv
import logging
import re

import pytest
import torch

from landscape.checkpoint import read_checkpoint
from landscape.cli import main
from landscape.errors import LandscapeError
from landscape.train import TrainConfig, checkpoint_epochs, duration, lr_at, train


def small_config(data_dir, **overrides) -> TrainConfig:
    settings = {"model": "resnet20", "dataset": "synthetic", "data_dir": str(data_dir),
                "epochs": 3, "train_size": 256, "test_size": 128, "milestones": (2,),
                "save_every": 2, "seed": 7, "batch_size": 64, "device": "cpu"}
    settings.update(overrides)
    return TrainConfig(**settings)


def weights(path):
    return read_checkpoint(path)["state_dict"]


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_paper_schedule():
    cfg = TrainConfig(model="resnet56")
    assert [lr_at(cfg, e) for e in (1, 150, 151, 225, 226, 275, 276, 300)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001])
    kept = checkpoint_epochs(cfg)
    assert kept[:4] == [0, 1, 10, 20] and kept[-1] == 300
    assert {150, 225, 275} <= set(kept) and len(kept) == 2 + 30 + 2  # 225, 275: not multiples of 10


def test_training_writes_checkpoints_and_metrics(tmp_path, data_dir):
    final = train(small_config(data_dir), tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.glob("epoch_*.pt")) == [
        "epoch_000.pt", "epoch_001.pt", "epoch_002.pt", "epoch_003.pt"]
    ckpt = read_checkpoint(final)
    assert ckpt["arch"] == "resnet20" and ckpt["epoch"] == 3
    assert {"optimizer", "metrics", "config", "rng"} <= set(ckpt)
    assert ckpt["acc"] == ckpt["metrics"]["test_acc"]
    with open(tmp_path / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert [float(r["lr"]) for r in rows] == pytest.approx([0.1, 0.1, 0.01])
    assert list(rows[0]) == ["epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc",
                             "seconds"]
    assert_same_weights(weights(final), weights(tmp_path / "epoch_003.pt"))


def test_loss_goes_down(tmp_path, data_dir):
    cfg = small_config(data_dir, epochs=4, train_size=512, milestones=(), lr=0.05)
    train(cfg, tmp_path, progress=False)
    with open(tmp_path / "metrics.csv") as fh:
        losses = [float(r["train_loss"]) for r in csv.DictReader(fh)]
    assert losses[-1] < losses[0] < 2.5


def test_same_seed_gives_bit_identical_weights(tmp_path, data_dir):
    a = train(small_config(data_dir, epochs=2), tmp_path / "a", progress=False)
    b = train(small_config(data_dir, epochs=2), tmp_path / "b", progress=False)
    assert_same_weights(weights(a), weights(b))
    c = train(small_config(data_dir, epochs=2, seed=8), tmp_path / "c", progress=False)
    assert not torch.equal(weights(a)["conv1.weight"], weights(c)["conv1.weight"])


def test_killed_run_resumes_to_the_same_weights(tmp_path, data_dir):
    cfg = small_config(data_dir)
    whole = train(cfg, tmp_path / "whole", progress=False)

    def kill_after_first_epoch(epoch, row):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "killed", progress=False, on_epoch_end=kill_after_first_epoch)
    assert not (tmp_path / "killed" / "final.pt").exists()
    seen = []
    resumed = train(cfg, tmp_path / "killed", progress=False,
                    on_epoch_end=lambda epoch, row: seen.append(epoch))
    assert seen == [2, 3]  # epoch 1 is not trained again
    assert_same_weights(weights(whole), weights(resumed))
    assert (tmp_path / "whole" / "metrics.csv").read_text().count("\n") == (
        tmp_path / "killed" / "metrics.csv").read_text().count("\n")


def test_resume_refuses_a_different_run(tmp_path, data_dir):
    one = {"epochs": 1, "milestones": (1,)}
    train(small_config(data_dir, **one), tmp_path, progress=False)
    with pytest.raises(LandscapeError, match=r"resume.pt belongs to a run with different settings \(lr\)"):
        train(small_config(data_dir, **one, lr=0.2), tmp_path, progress=False)
    train(small_config(data_dir, **one, lr=0.2), tmp_path, restart=True, progress=False)
    assert read_checkpoint(tmp_path / "final.pt")["config"]["lr"] == 0.2


def test_restart_if_changed_resumes_same_settings_and_restarts_changed_ones(tmp_path, data_dir):
    cfg = small_config(data_dir, epochs=2, save_every=1)

    def kill(epoch, row):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path, progress=False, on_epoch_end=kill)
    seen = []
    train(cfg, tmp_path, progress=False, restart_if_changed=True,
          on_epoch_end=lambda e, r: seen.append(e))
    assert seen == [2]  # same settings: resumed after epoch 1
    changed = small_config(data_dir, epochs=1, milestones=(1,), save_every=1, lr=0.05)
    seen.clear()
    train(changed, tmp_path, progress=False, restart_if_changed=True,
          on_epoch_end=lambda e, r: seen.append(e))
    assert seen == [1]  # other settings: started afresh
    assert read_checkpoint(tmp_path / "final.pt")["config"]["lr"] == 0.05
    assert not (tmp_path / "epoch_002.pt").exists()  # the old run's checkpoints are gone
    assert (tmp_path / "metrics.csv").read_text().count("\n") == 2


@pytest.mark.parametrize("field, value, message", [
    ("model", "resnet21", "model 'resnet21' is not one of: resnet20, "),
    ("epochs", 0, "epochs must be at least 1, got 0"),
    ("milestones", (2, 1), r"milestones must be strictly increasing epochs, got \[2, 1\]"),
    ("milestones", (2, 2), r"milestones must be strictly increasing epochs, got \[2, 2\]"),
    ("milestones", (2, 9), r"milestones \[9\] come after the last epoch \(3\)"),
    ("milestones", (0,), "milestones must be at least 1, got 0"),
    ("train_size", 0, "train_size must be at least 1"),
    ("lr", -0.1, "lr must be positive"),
    ("lr", float("inf"), "lr must be a finite number"),
    ("batch_size", 64.0, "batch_size must be an integer, got 64.0"),
    ("nesterov", "yes", "nesterov must be true or false"),
    ("subset_rule", "last", "subset_rule 'last' is not one of: first, random"),
    ("precision", "fp16", "precision 'fp16' is not one of"),
])
def test_bad_settings_are_refused_before_work(tmp_path, data_dir, field, value, message):
    with pytest.raises(LandscapeError, match=message):
        train(small_config(data_dir, **{field: value}), tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_each_epoch_is_one_line_with_its_metrics_and_an_eta(tmp_path, data_dir, capsys):
    # what the workflow's log files show (the train rule passes --no-progress): no bar, one
    # line per epoch with the numbers metrics.csv records
    out = tmp_path / "run"
    argv = ["train", "--model", "resnet20", "--dataset", "synthetic", "--data-dir",
            str(data_dir), "--epochs", "2", "--train-size", "64", "--test-size", "32",
            "--milestones", "1", "--batch-size", "32", "--device", "cpu", "--no-progress",
            "--out", str(out)]
    capsys.readouterr()
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("landscape train: training resnet20: 2 epochs on 64 synthetic images "
                      "(32 test images), cpu")
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert len(err) == 1 + len(rows) == 3
    for line, row in zip(err[1:], rows):
        match = re.fullmatch(
            r"landscape train: epoch (\d)/2: train loss (\S+), acc (\S+)%; test loss (\S+), "
            r"acc (\S+)%; lr (\S+); \S+ s; ETA \d[\w ]*", line)
        assert match, line
        epoch, *numbers = match.groups()
        assert epoch == row["epoch"]
        expected = [row[k] for k in ("train_loss", "train_acc", "test_loss", "test_acc", "lr")]
        for shown, exact in zip(numbers, expected):
            assert float(shown) == pytest.approx(float(exact), abs=1e-4 + 1e-3 * float(exact))
    assert err[-1].endswith("ETA 0 s")


def test_a_resumed_run_says_where_it_resumes(tmp_path, data_dir, caplog):
    cfg = small_config(data_dir, epochs=2, milestones=(1,), train_size=64, test_size=32)

    def kill(epoch, row):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path, progress=False, on_epoch_end=kill)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="landscape"):
        train(cfg, tmp_path, progress=False)
    lines = [r.getMessage() for r in caplog.records if r.name == "landscape.train"]
    assert lines[0] == "resuming resnet20 at epoch 2 of 2 on 64 synthetic images (32 test images), cpu"
    assert [line.split(":")[0] for line in lines[1:]] == ["epoch 2/2"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="landscape"):
        train(cfg, tmp_path, progress=False)
    assert [r.getMessage() for r in caplog.records if r.name == "landscape.train"] == [
        f"resnet20: all 2 epochs already trained in {tmp_path}"]


@pytest.mark.parametrize("seconds, text", [(0.4, "0 s"), (59.4, "59 s"), (61, "1 min 01 s"),
                                           (3599, "59 min 59 s"), (3 * 3600 + 7 * 60, "3 h 07 min")])
def test_durations_read_at_their_precision(seconds, text):
    assert duration(seconds) == text
