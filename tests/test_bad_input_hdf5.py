"""Unreadable or foreign HDF5 files: random bytes, truncated or damaged files and other tools'
layouts, given to every command that reads HDF5, end in one line naming the file and what it
should hold (exit status 2); earlier outputs are left as they were."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from landscape.cli import main

BEFORE = b"an earlier output, to be left as it was\n"
# How a message says what the file should hold: the layout, or the part that is missing.
EXPECTATIONS = ["a direction file holds", "a surface file holds", "has no 'xdirection' group",
                "has no 'xcoordinates' dataset", "is not a numeric dataset", "not numbers"]


@pytest.fixture(scope="module")
def good(trained_checkpoint, tmp_path_factory):
    """A real direction file and a real 3 x 3 surface file of the trained model."""
    root = tmp_path_factory.mktemp("good")
    dirs, surface = root / "dirs.h5", root / "surface.h5"
    assert main(["directions", "--checkpoint", str(trained_checkpoint), "--out", str(dirs)]) == 0
    with h5py.File(surface, "w") as fh:
        fh["xcoordinates"] = np.linspace(-1, 1, 3)
        fh["ycoordinates"] = np.linspace(-1, 1, 3)
        fh["train_loss"] = np.arange(9.0).reshape(3, 3)
        fh["train_acc"] = np.full((3, 3), 50.0)
    return {"direction file": dirs, "surface file": surface}


def random_bytes(path, good):
    path.write_bytes(np.random.default_rng(0).bytes(4096))


def truncated(path, good):
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def damaged_inside(path, good):
    # the superblock is intact, the object headers after it are overwritten
    data = bytearray(good.read_bytes())
    data[512:] = np.random.default_rng(1).bytes(len(data) - 512)
    path.write_bytes(bytes(data))


def empty_hdf5(path, good):
    h5py.File(path, "w").close()


def groups_where_datasets_belong(path, good):
    with h5py.File(path, "w") as fh:  # another tool's idea of the layout
        fh.create_group("xcoordinates")
        fh.create_dataset("xdirection", data=np.zeros(3))
        fh.create_group("train_loss")


def strings_where_numbers_belong(path, good):
    with h5py.File(path, "w") as fh:
        fh["xcoordinates"] = np.array([b"a", b"b", b"c"])
        fh.create_group("xdirection")["0"] = np.array([b"x"])


BAD = [random_bytes, truncated, damaged_inside, empty_hdf5, groups_where_datasets_belong,
       strings_where_numbers_belong]


def commands(kind, bad, checkpoint, out):
    """Every command that reads a file of ``kind``, given ``bad`` in its place."""
    if kind == "direction file":
        return [["surface", "--checkpoint", checkpoint, "--directions", bad, "--x=-1:1:3",
                 "--dataset", "synthetic", "--subset", "8", "--device", "cpu", "--out", out]]
    return [["plot", "--surface", bad, "--out-prefix", out.with_suffix("")],
            ["merge", bad, "--out", out],
            ["panel", "--surfaces", bad, "--models", "resnet20", "--out-prefix",
             out.with_suffix("")]]


@pytest.mark.parametrize("kind", ["direction file", "surface file"])
@pytest.mark.parametrize("make_bad", [*BAD, "the other kind"],
                         ids=lambda f: getattr(f, "__name__", f))
def test_bad_hdf5_is_named_with_what_it_should_hold(kind, make_bad, good, trained_checkpoint,
                                                    tmp_path, cli_error):
    bad = tmp_path / "input.h5"
    if make_bad == "the other kind":
        other = "surface file" if kind == "direction file" else "direction file"
        bad.write_bytes(good[other].read_bytes())
    else:
        make_bad(bad, good[kind])
    out = tmp_path / "out.h5"
    earlier = [out, tmp_path / "out_contour.pdf"]
    for path in earlier:
        path.write_bytes(BEFORE)
    for argv in commands(kind, bad, trained_checkpoint, out):
        message = cli_error(*argv)
        assert f"{kind} {bad}" in message
        assert any(what in message for what in EXPECTATIONS), message
        assert all(path.read_bytes() == BEFORE for path in earlier)
    assert sorted(os.listdir(tmp_path)) == sorted(["input.h5", "out.h5", "out_contour.pdf"])


def test_a_damaged_progress_file_is_named_with_the_way_out(good, trained_checkpoint, tmp_path,
                                                           cli_error):
    out = tmp_path / "surface.h5"
    partial = tmp_path / "surface.h5.partial"
    truncated(partial, good["surface file"])
    before = partial.read_bytes()
    message = cli_error("surface", "--checkpoint", trained_checkpoint, "--directions",
                        good["direction file"], "--x=-1:1:3", "--dataset", "synthetic",
                        "--subset", "8", "--device", "cpu", "--out", out)
    assert f"surface file {partial} is not a readable HDF5 file" in message
    assert f"pass --restart to discard {partial}" in message
    assert partial.read_bytes() == before and not out.exists()
