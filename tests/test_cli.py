"""The command line: one clear line and exit status 2 on bad input; the train subcommand."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from landscape.cli import main

SCHEMA = Path(__file__).parents[1] / "workflow" / "schemas" / "config.schema.yaml"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "landscape", *args], capture_output=True, text=True)


def test_version_and_help():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("landscape ")
    result = run_cli("--help")
    assert result.returncode == 0 and "train" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--model", "resnet21", "--out", "x"], "argument --model: invalid choice: 'resnet21'"),
    (["train", "--model", "resnet20", "--out", "x", "--epochs", "0"], "argument --epochs: must be a positive integer"),
    (["train", "--model", "resnet20", "--out", "x", "--lr", "abc"], "argument --lr: invalid positive_float value"),
    (["train", "--model", "resnet20"], "the following arguments are required: --out"),
    (["train", "--model", "resnet20", "--out", "x", "--dataset", "mnist"], "argument --dataset: invalid choice"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_arguments_give_one_line_and_exit_2(tmp_path, args, message):
    result = subprocess.run([sys.executable, "-m", "landscape", *args], capture_output=True,
                            text=True, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("landscape")
    assert not (tmp_path / "x").exists()


def test_library_errors_become_one_line(tmp_path, cli_error):
    err = cli_error("train", "--model", "resnet20", "--dataset", "cifar10", "--data-dir",
                    tmp_path, "--out", tmp_path / "out", "--device", "cuda:7")
    assert "cuda:7" in err and "CUDA is not available" in err


def test_train_command_trains_and_resumes(tmp_path, data_dir, capsys):
    args = ["train", "--model", "resnet20_noshort", "--dataset", "synthetic", "--data-dir",
            str(data_dir), "--out", str(tmp_path), "--epochs", "2", "--train-size", "128",
            "--test-size", "64", "--milestones", "1", "--device", "cpu", "--no-progress"]
    assert main(args) == 0
    assert (tmp_path / "final.pt").exists() and (tmp_path / "metrics.csv").exists()
    assert main(args) == 0  # finished run: nothing left to train, same files
    assert main([*args[:-1], "--lr", "0.5"]) == 2
    assert "different settings (lr)" in capsys.readouterr().err


def test_building_the_parser_imports_no_torch():
    """`landscape plot/merge/table` jobs must not pay torch's start-up just to parse options."""
    code = ("import sys, landscape.cli as cli; cli.build_parser(); "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr


def test_workflow_schema_offers_exactly_the_library_models():
    """The config schema's model enum is a hand-kept copy of MODEL_NAMES: it must not drift."""
    from landscape.choices import MODEL_NAMES

    schema = yaml.safe_load(SCHEMA.read_text())
    assert schema["$defs"]["model"]["enum"] == list(MODEL_NAMES)
