"""Paths: a data folder that is a file, outputs under a file or onto a folder, a read-only
output folder and a damaged checksum list end in one line naming the path and what to do
(exit status 2), for every command; nothing already there changes."""

from __future__ import annotations

import shutil
import subprocess

import h5py
import numpy as np
import pytest

from faultkit import snapshot, temporaries, tmpfs
from landscape.cli import main


@pytest.fixture(scope="module")
def inputs(trained_checkpoint, tmp_path_factory):
    """Valid inputs for every command: checkpoint, directions, a surface, training metrics."""
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


def writing(name, inputs, out, data_dir):
    """``landscape <name>`` writing its outputs at ``out`` (a file path or a prefix)."""
    data = ["--dataset", "synthetic", "--data-dir", data_dir]
    return {
        "train": ["train", "--model", "resnet20", *data, "--epochs", "1", "--milestones", "1",
                  "--train-size", "64", "--test-size", "64", "--device", "cpu", "--out", out],
        "surface": ["surface", "--checkpoint", inputs["checkpoint"], "--directions",
                    inputs["directions"], "--x=-1:1:3", *data, "--subset", "8", "--device",
                    "cpu", "--out", f"{out}.h5"],
        "directions": ["directions", "--checkpoint", inputs["checkpoint"], "--out", f"{out}.h5"],
        "merge": ["merge", inputs["surface"], "--out", f"{out}.h5"],
        "plot": ["plot", "--surface", inputs["surface"], "--kinds", "contour", "--out-prefix",
                 out],
        "panel": ["panel", "--surfaces", inputs["surface"], "--models", "resnet20",
                  "--out-prefix", out],
        "table": ["table", "--metrics", inputs["metrics"], "--models", "resnet20", "--out-csv",
                  f"{out}.csv", "--out-md", f"{out}.md"],
        "data": ["data", "--dataset", "synthetic", "--data-dir", out],
        "bench": ["bench", "--model", "resnet20", "--images", "8", "--points", "1",
                  "--train-steps", "0", "--no-reference", "--device", "cpu", "--out",
                  f"{out}.json"],
        "html3d": ["html3d", "--surface", inputs["surface"], "--out", f"{out}.html"],
    }[name]


COMMANDS = ["train", "surface", "directions", "merge", "plot", "panel", "table", "data", "bench",
            "html3d"]


@pytest.mark.parametrize("name", COMMANDS)
def test_output_under_a_file(name, inputs, data_dir, tmp_path, cli_error):
    blocker = tmp_path / "results"
    blocker.write_bytes(b"a file where a folder should be\n")
    before = snapshot(tmp_path)
    message = cli_error(*writing(name, inputs, blocker / "sub" / "out", data_dir))
    assert f"cannot write {blocker}/sub/out" in message
    assert f"{blocker} is a file, not a folder" in message or "is a file, not a folder" in message
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", ["surface", "directions", "merge", "bench"])
def test_a_folder_where_the_output_file_goes(name, inputs, data_dir, tmp_path, cli_error):
    for suffix in (".h5", ".json"):
        (tmp_path / f"out{suffix}").mkdir()
        (tmp_path / f"out{suffix}" / "kept").write_bytes(b"inside\n")
    before = snapshot(tmp_path)
    message = cli_error(*writing(name, inputs, tmp_path / "out", data_dir))
    assert "is a folder" in message and str(tmp_path / "out") in message
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", ["train", "surface", "data", "bench-synthetic"])
@pytest.mark.parametrize("where", ["the data folder", "the data set's folder in it"])
def test_data_folder_that_is_a_file(name, where, inputs, tmp_path, cli_error):
    data_dir = tmp_path / "data"
    blocker = data_dir if where == "the data folder" else data_dir / "synthetic-batches-py"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_bytes(b"not a folder\n")
    before = snapshot(tmp_path)
    if name == "bench-synthetic":
        argv = [*writing("bench", inputs, tmp_path / "out", data_dir), "--data", "synthetic",
                "--data-dir", data_dir]
    elif name == "data":
        argv = writing("data", inputs, data_dir, data_dir)
    else:
        argv = writing(name, inputs, tmp_path / "out", data_dir)
    message = cli_error(*argv)
    assert f"data folder {blocker} is a file, not a folder; pass --data-dir a folder" in message
    assert snapshot(tmp_path) == before


DAMAGED_LISTS = {
    "a garbage line": lambda path: path.write_text(path.read_text() + "garbage line\n"),
    "binary bytes": lambda path: path.write_bytes(b"\xff\xfe\x00" * 20),
    "a folder": lambda path: (path.unlink(), path.mkdir()),
}


@pytest.mark.parametrize("name", ["data", "train", "surface"])
@pytest.mark.parametrize("damage", list(DAMAGED_LISTS))
def test_damaged_checksum_list(name, damage, inputs, data_dir, tmp_path, cli_error):
    copy = tmp_path / "data"
    shutil.copytree(data_dir / "synthetic-batches-py", copy / "synthetic-batches-py")
    manifest = copy / "synthetic-batches-py" / "checksums.md5"
    DAMAGED_LISTS[damage](manifest)
    before = snapshot(tmp_path)
    out = copy if name == "data" else tmp_path / "out"
    message = cli_error(*writing(name, inputs, out, copy))
    assert f"checksum list {manifest}" in message
    assert f"delete {copy / 'synthetic-batches-py'} to regenerate it" in message
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", COMMANDS)
def test_read_only_output_folder(name, inputs, data_dir, tmp_path, cli_error):
    with tmpfs(tmp_path / "ro", size="1m") as folder:
        (folder / "earlier.txt").write_bytes(b"written before the file system went read-only\n")
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        before = snapshot(folder)
        message = cli_error(*writing(name, inputs, folder / "out", data_dir))
        assert f"cannot write {folder}/out" in message
        assert "the file system is read-only: choose an output folder you can write to" in message
        assert snapshot(folder) == before and not temporaries(folder)
