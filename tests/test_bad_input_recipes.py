"""Recipes the workflow refuses, the library refuses too (one validator per rule, owned by the
library): milestones beyond the last epoch or repeated, non-finite numbers, grid bounds that
parse as infinities (``-1e999``). The commands end in one line (exit status 2) before any
work; the workflow stops before any job, naming the config key."""

from __future__ import annotations

import pytest

from landscape.configs import TrainConfig
from landscape.errors import LandscapeError
from test_workflow import SMOKE, snakemake, write_yaml

BEFORE = b"an earlier output, to be left as it was\n"

TRAIN = ["train", "--model", "resnet20", "--dataset", "synthetic", "--epochs", "2",
         "--train-size", "64", "--device", "cpu"]
RECIPES = {
    "milestone after the last epoch": (["--milestones", "1", "3"],
                                       "milestones [3] come after the last epoch (2)"),
    "repeated milestone": (["--milestones", "1", "1"],
                           "milestones must be strictly increasing epochs, got [1, 1]"),
    "decreasing milestones": (["--milestones", "2", "1"],
                              "milestones must be strictly increasing epochs, got [2, 1]"),
    "infinite learning rate": (["--milestones", "1", "--lr", "inf"],
                               "lr must be a finite number, got inf"),
    "infinite decay": (["--milestones", "1", "--gamma", "1e999"],
                       "gamma must be a finite number, got inf"),
}


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_train_refuses_the_recipe(recipe, cli_error, tmp_path, data_dir):
    extra, expected = RECIPES[recipe]
    (tmp_path / "metrics.csv").write_bytes(BEFORE)
    message = cli_error(*TRAIN, "--data-dir", data_dir, *extra, "--out", tmp_path)
    assert expected in message
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]
    assert (tmp_path / "metrics.csv").read_bytes() == BEFORE


def test_the_python_api_refuses_what_the_command_refuses():
    with pytest.raises(LandscapeError, match=r"milestones \[3\] come after the last epoch"):
        TrainConfig(model="resnet20", epochs=2, milestones=(1, 3)).validate()


GRIDS = {
    "x from -1e999": (["--x=-1e999:1:5"], "grid spec --x '-1e999:1:5': MIN and MAX must be finite"),
    "y to 1e999": (["--x=-1:1:5", "--y=-1:1e999:5"],
                   "grid spec --y '-1:1e999:5': MIN and MAX must be finite"),
    "x of nan": (["--x=nan:1:5"], "grid spec --x 'nan:1:5': MIN and MAX must be numbers"),
}


@pytest.mark.parametrize("grid", list(GRIDS))
def test_surface_refuses_non_finite_grid_bounds(grid, cli_error, tmp_path, trained_checkpoint):
    extra, expected = GRIDS[grid]
    out = tmp_path / "surface.h5"
    out.write_bytes(BEFORE)
    message = cli_error("surface", "--checkpoint", trained_checkpoint, "--directions",
                        tmp_path / "unused.h5", *extra, "--out", out)
    assert expected in message
    assert out.read_bytes() == BEFORE and [p.name for p in tmp_path.iterdir()] == ["surface.h5"]


WORKFLOW = {
    "surface.y from -1e999": ({"surface": {"y": "-1e999:1:7"}},
                              "config key surface.y: grid spec --y '-1e999:1:7': MIN and MAX "
                              "must be finite"),
    "an infinite learning rate": ({"train": {"lr": float("inf")}},
                                  "config key train: lr must be a finite number, got inf"),
    "a per-model recipe whose milestones pass its epochs": (
        {"train_overrides": {"resnet20": {"epochs": 1, "milestones": [2]}}},
        "config key train_overrides.resnet20: milestones [2] come after the last epoch (1)"),
    "a data folder that is a file": (
        {"data_dir": "data_is_a_file"},
        "config key data_dir: data folder {workdir}/data_is_a_file is a file, not a folder"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(WORKFLOW))
def test_workflow_refuses_before_any_job(case, tmp_path):
    content, expected = WORKFLOW[case]
    (tmp_path / "data_is_a_file").write_bytes(b"not a folder\n")
    bad = write_yaml(tmp_path / "bad.yaml", content)
    result = snakemake(tmp_path, configfiles=(SMOKE, bad), check=False)
    assert result.returncode != 0
    assert expected.format(workdir=tmp_path) in result.stdout, result.stdout[-3000:]
    assert not (tmp_path / "results").exists()
