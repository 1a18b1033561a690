"""Reading surface files: the plotting API (derived quantities, labels) and every strict refusal."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from landscape.errors import LandscapeError
from landscape.grid import Grid
from landscape.surface_file import Surface, read_surface, write_surface

GRID = Grid.parse("-1:1:5", "-0.5:1:3")  # non-square: ours are stored unscrambled


def ours(path: Path, grid: Grid = GRID, splits=("train", "test"), keep_mask: bool = False,
         **extra: np.ndarray) -> Path:
    """A surface file as the sweep writes it, with values ``k + offset`` at flat point ``k``."""
    attrs = {"landscape_version": "test", "grid_x": grid.x.spec,
             "grid_y": None if grid.y is None else grid.y.spec}
    s = Surface.empty(grid, list(splits), attrs=attrs, dir_file="dirs.h5")
    for offset, name in enumerate(s.values):
        s.values[name][...] = np.arange(grid.size).reshape(grid.shape) + offset
    s.values.update(extra)
    s.computed[...] = True
    return write_surface(path, s, keep_mask)


def raw(path: Path, attrs: dict | None = None, **datasets) -> Path:
    """An HDF5 file holding exactly ``datasets`` and ``attrs`` (the reference writes no attrs)."""
    with h5py.File(path, "w") as f:
        for name, value in datasets.items():
            f[name] = value
        f.attrs.update(attrs or {})
    return path


def refused(path: Path, *needles: str) -> str:
    """Read ``path``, expect a one-line refusal naming the file and every needle."""
    with pytest.raises(LandscapeError) as info:
        read_surface(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    for needle in needles:
        assert needle in message, (needle, message)
    return message


# --- what plotting reads ---------------------------------------------------------------------

def test_surface_api_coordinates_loss_accuracy_and_derived_quantities(tmp_path):
    max_eig = np.full(GRID.shape, 4.0)
    min_eig = -np.arange(GRID.size, dtype=float).reshape(GRID.shape)
    path = ours(tmp_path / "s.h5", max_eig=max_eig, min_eig=min_eig)
    s = read_surface(path, require=["train_err", "test_err", "eig_ratio"])
    assert s.path == path and s.source == str(path) and s.ndim == 2
    np.testing.assert_array_equal(s.x, np.linspace(-1, 1, 5))
    np.testing.assert_array_equal(s.y, np.linspace(-0.5, 1, 3))
    assert sorted(s.splits) == ["test", "train"]
    assert s.loss.shape == (3, 5)  # (len(y), len(x))
    np.testing.assert_array_equal(s.loss, s.values["train_loss"])  # train first, whatever the order
    np.testing.assert_array_equal(s.accuracy, s.values["train_acc"])
    np.testing.assert_allclose(s.get("train_err"), 100 - s.get("train_acc"))
    np.testing.assert_allclose(s.get("test_err"), 100 - s.get("test_acc"))
    np.testing.assert_allclose(s.get("eig_ratio"), np.abs(min_eig / max_eig))
    assert s.has("max_eig") and s.has("eig_ratio") and not s.has("val_loss")
    with pytest.raises(LandscapeError, match=re.escape(
            f"surface {path} has no dataset 'val_err' (present: max_eig, min_eig, test_acc, "
            "test_loss, train_acc, train_loss)")):
        s.get("val_err")
    with pytest.raises(LandscapeError, match=r"s\.h5 has no dataset 'foo'"):
        read_surface(path, require=["train_loss", "foo"])


def test_loss_of_the_first_split_and_no_accuracy(tmp_path):
    s = read_surface(ours(tmp_path / "t.h5", Grid.parse("0:1:4"), splits=("test",)))
    assert s.ndim == 1 and s.y is None and s.loss.shape == (4,)
    np.testing.assert_array_equal(s.loss, s.values["test_loss"])
    only_loss = raw(tmp_path / "l.h5", xcoordinates=np.linspace(0, 1, 4), train_loss=np.ones(4))
    assert read_surface(only_loss).accuracy is None
    hessian = raw(tmp_path / "h.h5", xcoordinates=np.linspace(0, 1, 4), max_eig=np.ones(4))
    with pytest.raises(LandscapeError,
                       match=r"h\.h5 has no dataset 'train_loss' \(present: max_eig\)"):
        _ = read_surface(hessian).loss


def test_labels_and_model_name(tmp_path):
    s = read_surface(ours(tmp_path / "s.h5"))
    assert (s.label("x"), s.label("y"), s.model()) == ("x", "y", None)
    named = s.with_labels("PC1 (61%)", None)
    assert (named.label("x"), named.label("y")) == ("PC1 (61%)", "y") and s.label("x") == "x"
    assert named.values is s.values and s.with_labels() is s
    assert Surface(s.grid, s.values, s.computed, {"arch": "vgg9"}).model() == "vgg9"
    assert Surface(s.grid, s.values, s.computed, {"arch": "a", "model": "m"}).model() == "m"
    assert Surface(s.grid, s.values, s.computed).source == "(in memory)"


def test_partial_file_with_nan_and_mask_is_accepted(tmp_path):
    s = Surface.empty(GRID, ["train"], attrs={"landscape_version": "test", "grid_x": GRID.x.spec,
                                              "grid_y": GRID.y.spec})
    s.computed.flat[::2] = True
    s.values["train_loss"][s.computed] = 1.0
    s.values["train_acc"][s.computed] = 50.0
    back = read_surface(write_surface(tmp_path / "p.h5.partial", s, keep_mask=True))
    np.testing.assert_array_equal(back.computed, s.computed)
    assert np.isnan(back.loss[~back.computed]).all() and (back.loss[back.computed] == 1).all()


def test_single_point_axis_follows_our_grid_attribute(tmp_path):
    grid = Grid.parse("0.5:0.5:1", "-1:1:3")
    s = read_surface(ours(tmp_path / "one.h5", grid))
    assert s.grid == grid and s.loss.shape == (3, 1)
    refused(raw(tmp_path / "ref1.h5", xcoordinates=[0.5], train_loss=[1.0]),
            "'xcoordinates' has a single point")


# --- strict: every refusal names the file and the problem -----------------------------------

def test_misshaped_dataset_is_refused(tmp_path):
    path = ours(tmp_path / "s.h5", max_eig=np.ones((5, 3)))
    refused(path, "dataset 'max_eig' has shape (5, 3), expected (3, 5) = "
                  "(len(ycoordinates), len(xcoordinates))")
    one_d = raw(tmp_path / "c.h5", xcoordinates=np.linspace(0, 1, 4), train_loss=np.ones(4),
                count=7)
    refused(one_d, "dataset 'count' has shape (), expected (4,) = (len(xcoordinates),)")


@pytest.mark.parametrize("coords, problem", [
    (np.linspace(0, 1, 6).reshape(2, 3), "has shape (2, 3), not 1-D"),
    (np.array([]), "is empty"),
    (np.array([0.0, np.nan, 1.0]), "holds non-finite values"),
    (np.array([1.0, 0.5, 0.0]), "is not strictly increasing"),
    (np.array([0.0, 0.5, 0.5]), "is not strictly increasing"),
    (np.array([0.0, 0.1, 1.0]), "is not evenly spaced"),
    (np.array(["a", "b"], dtype="S1"), "has dtype |S1, not numbers"),
])
def test_bad_coordinates_are_refused(tmp_path, coords, problem):
    n = coords.shape[0] if coords.ndim == 1 else 3
    path = raw(tmp_path / "bad.h5", xcoordinates=coords, ycoordinates=np.linspace(0, 1, n),
               train_loss=np.ones((n, n)))
    refused(path, f"'xcoordinates' {problem}", "strictly increasing and evenly spaced")


def test_coordinates_must_match_our_grid_attributes(tmp_path):
    path = ours(tmp_path / "s.h5")
    with h5py.File(path, "r+") as f:
        f.attrs["grid_y"] = "-0.5:2:3"
    refused(path, "'ycoordinates' does not match the grid attribute '-0.5:2.0:3'")
    with h5py.File(path, "r+") as f:
        f.attrs["grid_y"] = "-0.5:1:4"
    refused(path, "'ycoordinates' has 3 points but the grid attribute says '-0.5:1.0:4'")
    with h5py.File(path, "r+") as f:
        f.attrs["grid_y"] = "1:-1:3"
    refused(path, "grid_y attribute is invalid")


def test_unfinished_reference_file_is_refused(tmp_path):
    xs = np.linspace(-1, 1, 5)
    loss, acc = np.full((5, 5), 2.0), np.full((5, 5), 40.0)
    loss[0, :3] = -1.0  # three points the reference has not reached
    acc[0, :4] = -1.0  # the same three, and one more on another array
    path = raw(tmp_path / "ref.h5", xcoordinates=xs, ycoordinates=xs, train_loss=loss,
               train_acc=acc, max_eig=np.full((5, 5), -1.0), dir_file="d.h5")
    message = refused(path, "unfinished run of the reference implementation", "4 of 25 points",
                      "mark -1 (in train_acc, train_loss)", "landscape surface")
    assert "max_eig" not in message  # only losses and accuracies carry the mark
    loss[0, :3], acc[0, :4] = 1.0, 10.0
    raw(path, xcoordinates=xs, ycoordinates=xs, train_loss=loss, train_acc=acc)
    assert read_surface(path).computed.all()
    ours_with_minus_one = ours(tmp_path / "o.h5", train_loss=np.full(GRID.shape, -1.0))
    assert (read_surface(ours_with_minus_one).loss == -1).all()  # ours mark missing points with NaN


def test_non_square_reference_file_is_refused(tmp_path):
    x, y = np.linspace(-1, 1, 5), np.linspace(-1, 1, 3)
    path = raw(tmp_path / "ref.h5", xcoordinates=x, ycoordinates=y, train_loss=np.ones((5, 3)))
    refused(path, "written by the reference implementation",
            "non-square grid (5 x-coordinates, 3 y-coordinates)", "scrambled", "landscape surface")
    raw(path, {"landscape_version": "test"}, xcoordinates=x, ycoordinates=y,
        train_loss=np.ones((3, 5)))
    assert read_surface(path).loss.shape == (3, 5)


def test_damaged_files_are_refused(tmp_path):
    refused(raw(tmp_path / "nox.h5", train_loss=np.ones(3)), "no 'xcoordinates' dataset")
    path = ours(tmp_path / "mask.h5", keep_mask=True)
    with h5py.File(path, "r+") as f:
        del f["computed"]
        f["computed"] = np.ones(4, dtype=bool)
    refused(path, "'computed' has shape (4,), expected (3, 5)")
    path = ours(tmp_path / "noy.h5")
    with h5py.File(path, "r+") as f:
        del f["ycoordinates"]
    refused(path, "grid_y attribute but no 'ycoordinates'")
