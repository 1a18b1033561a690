"""One source per setting: the config dataclasses, the CLI, the workflow config and its schema agree.

The CLI options are generated from the dataclass fields, the workflow builds its command
lines from config sections by the same names, and the schema documents config.yaml: these
tests fail when one of them drifts from another.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest
import yaml

from landscape.choices import DATASETS, MODEL_NAMES
from landscape.cli import build_parser
from landscape.configs import (
    BenchConfig, DataConfig, DirectionsConfig, ProjectConfig, SurfaceConfig, TrainConfig,
    TrajectoryConfig,
)
from landscape.errors import LandscapeError
from landscape.plots.options import FigureOptions, PlotOptions
from landscape.settings import command_line, from_mapping

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
# Required options of each command, as (flag, value), and the config class behind it.
COMMANDS = {
    "train": (TrainConfig, ["--model", "resnet20", "--out", "o"]),
    "surface": (SurfaceConfig, ["--checkpoint", "c.pt", "--directions", "d.h5", "--out", "o.h5"]),
    "directions": (DirectionsConfig, ["--checkpoint", "c.pt", "--out", "o.h5"]),
    "bench": (BenchConfig, ["--model", "resnet20", "--out", "o.json"]),
    "data": (DataConfig, []),
    "plot": (FigureOptions, ["--surface", "s.h5", "--out-prefix", "p"]),
    "panel": (PlotOptions, ["--surfaces", "s.h5", "--models", "m", "--out-prefix", "p"]),
    "trajectory": (TrajectoryConfig, ["--checkpoints", "c", "--out", "p.h5",
                                      "--out-directions", "d.h5"]),
    "project": (ProjectConfig, ["--checkpoints", "c", "--directions", "d.h5", "--out", "p.h5"]),
    "plot-path": (FigureOptions, ["--path", "p.h5", "--out-prefix", "p"]),
}
# TrainConfig fields the workflow sets elsewhere: per model, top-level keys, or not at all
# (the device is a job resource; the test-pass batch size does not change any number).
NOT_RECIPE = {"model", "dataset", "data_dir", "device", "eval_batch_size"}


def parse(command: str, *words: str) -> argparse.Namespace:
    return build_parser().parse_args([command, *COMMANDS[command][1], *words])


def values(cfg) -> dict:
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_cli_defaults_are_the_dataclass_defaults(command):
    cls, _ = COMMANDS[command]
    args = parse(command)
    for field in dataclasses.fields(cls):
        if field.default is not dataclasses.MISSING:
            assert getattr(args, field.name) == field.default, field.name


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_option_says_its_default(command):
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    parser = sub.choices[command]
    for action in parser._actions:
        if action.required or action.dest in ("help",) or not action.option_strings:
            continue
        assert action.help and "(default: " in action.help, action.dest


def test_workflow_train_options_round_trip_through_the_cli():
    # What the train rule passes for each paper model parses back to the same TrainConfig.
    for model in CONFIG["models"]:
        recipe = {**CONFIG["train"], **CONFIG["train_overrides"].get(model, {})}
        expected = from_mapping(TrainConfig, {"model": model, **recipe})
        args = build_parser().parse_args(["train", "--model", model, "--out", "o",
                                           *command_line(recipe)])
        parsed = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}
        parsed["milestones"] = tuple(parsed["milestones"])
        assert parsed == values(expected), model


def test_workflow_plot_options_round_trip():
    plot = CONFIG["plot"]
    keys = ("surf_name", "dpi", "vmin", "vmax", "vlevel", "zmax", "log")
    args = parse("plot", *command_line(plot, only=keys))
    for key in keys:
        assert getattr(args, key) == plot[key], key
    args = parse("plot", *command_line(plot["curve"]))
    for key, value in plot["curve"].items():
        assert getattr(args, key) == value, key


def test_workflow_sweep_and_direction_options_round_trip():
    section = {**CONFIG["sweep"], "x": CONFIG["surface"]["x"], "y": CONFIG["surface"]["y"],
               "splits": CONFIG["surface"]["splits"]}
    args = build_parser().parse_args(["surface", "--checkpoint", "c", "--directions", "d",
                                      "--out", "o", *command_line(section)])
    for key, value in section.items():
        assert getattr(args, key) == value, key
    args = parse("directions", *command_line(CONFIG["directions"]))
    for key, value in CONFIG["directions"].items():
        assert getattr(args, key) == value, key


def test_command_line_spells_every_kind_of_value():
    words = command_line({"lr": 0.1, "nesterov": False, "augment": True, "milestones": [],
                          "train_size": None, "x": "-1:1:5", "splits": ["train", "test"]})
    assert words == ["--lr=0.1", "--no-nesterov", "--augment", "--milestones", "--x=-1:1:5",
                     "--splits", "train", "test"]


def test_config_train_section_is_the_recipe_the_library_takes():
    fields = {f.name for f in dataclasses.fields(TrainConfig)} - NOT_RECIPE
    recipe = set(SCHEMA["$defs"]["recipe"]["properties"])
    assert recipe == fields
    assert set(CONFIG["train"]) == fields
    assert set(SCHEMA["properties"]["train"]["properties"]) == fields


def test_config_sections_use_the_library_names():
    assert set(CONFIG["sweep"]) <= {f.name for f in dataclasses.fields(SurfaceConfig)}
    assert set(CONFIG["directions"]) <= {f.name for f in dataclasses.fields(DirectionsConfig)}
    # a null in config.yaml leaves the option out, so the library's default must be None too
    defaults = {f.name: f.default for f in dataclasses.fields(SurfaceConfig)}
    for key, value in CONFIG["sweep"].items():
        if value is None:
            assert defaults[key] is None, key


def test_schema_defaults_equal_config_yaml():
    def walk(schema: dict, config: dict, path: str) -> list[str]:
        wrong = []
        for key, sub in schema.get("properties", {}).items():
            if "default" in sub and sub["default"] != {} and config.get(key) != sub["default"]:
                wrong.append(f"{path}{key}: schema {sub['default']!r}, config {config.get(key)!r}")
            if isinstance(config.get(key), dict):
                wrong += walk(sub, config[key], f"{path}{key}.")
        return wrong

    assert walk(SCHEMA, CONFIG, "") == []


def test_schema_models_are_the_library_models():
    assert SCHEMA["$defs"]["model"]["enum"] == list(MODEL_NAMES)


def test_schema_data_sets_are_the_library_data_sets():
    assert SCHEMA["properties"]["dataset"]["enum"] == list(DATASETS)


@pytest.mark.parametrize("cls, changes, message", [
    (TrainConfig, {"epochs": 0}, "epochs must be at least 1, got 0"),
    (TrainConfig, {"milestones": (3, 3)}, "milestones must be strictly increasing"),
    (TrainConfig, {"epochs": 10, "milestones": (5, 20)}, r"milestones \[20\] come after"),
    (TrainConfig, {"weight_decay": -1.0}, "weight_decay must be >= 0"),
    (TrainConfig, {"nesterov": True, "momentum": 0.0}, "nesterov momentum needs momentum > 0"),
    (SurfaceConfig, {"x": "-1e999:1:5"}, "MIN and MAX must be finite"),
    (SurfaceConfig, {"splits": ("train", "train")}, "splits must be distinct"),
    (SurfaceConfig, {"subset": 0}, "subset must be at least 1"),
    (DirectionsConfig, {"target": "b.pt", "norm": "layer"}, "--norm do not apply with --target"),
    (DirectionsConfig, {"axes": 3}, "axes 3 is not one of: 1, 2"),
])
def test_validators_name_the_setting(cls, changes, message):
    required = {TrainConfig: {"model": "resnet20"},
                SurfaceConfig: {"checkpoint": "c", "directions": "d", "x": "-1:1:3"},
                DirectionsConfig: {"checkpoint": "c"}}[cls]
    with pytest.raises(LandscapeError, match=message):
        cls(**{**required, **changes}).validate()


def test_from_mapping_refuses_unknown_names():
    with pytest.raises(LandscapeError, match=r"train: unknown setting.*epoch\b"):
        from_mapping(TrainConfig, {"model": "resnet20", "epoch": 3}, "train")
