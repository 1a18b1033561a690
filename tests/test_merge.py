"""Merging surface shards: equal to one job bit for bit; gaps, overlaps and mismatches refused."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from landscape import data
from landscape.cli import main
from landscape.directions import random_directions
from landscape.errors import LandscapeError
from landscape.evaluate import evaluate
from landscape.grid import Grid, Shard
from landscape.surface import partial_path, sweep
from landscape.surface_file import identity, merge_surfaces, read_surface

pytestmark = pytest.mark.usefixtures("one_thread")

GRID = Grid.parse("-1:1:3", "-0.5:1:4")
ATTRS = {"checkpoint": "m.pt", "checkpoint_sha256": "abc", "directions_sha256": "def",
         "batch_size": 8}


@pytest.fixture(scope="module")
def setup(data_dir):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10)).eval()
    train = data.load("synthetic", "train", data_dir).select(torch.arange(24))
    test = data.load("synthetic", "test", data_dir).select(torch.arange(16))
    evaluators = {"train": lambda: evaluate(model, train, 8),
                  "test": lambda: evaluate(model, test, 8)}
    return model, random_directions(model, seed=0), evaluators


def run(setup, out, shard=Shard(0, 1), grid=GRID, attrs=ATTRS, **kwargs):
    model, dirs, evaluators = setup
    return sweep(model, dirs, grid, evaluators, out, shard=shard, attrs=attrs, progress=False,
                 **kwargs).path


@pytest.fixture(scope="module")
def shards(setup, tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    one = run(setup, root / "one.h5")
    return one, [run(setup, root / f"s{i}.h5", Shard(i, 3)) for i in range(3)]


def test_merged_shards_equal_one_job(shards, tmp_path):
    one, parts = shards
    for i, path in enumerate(parts):
        part = read_surface(path)
        assert part.attrs["shard"] == f"{i}/3"
        np.testing.assert_array_equal(part.computed, Shard(i, 3).mask(GRID))
        assert np.isnan(part.values["train_loss"][~part.computed]).all()
    merged_path = merge_surfaces(list(reversed(parts)), tmp_path / "merged.h5")
    merged, single = read_surface(merged_path), read_surface(one)
    assert sorted(merged.values) == ["test_acc", "test_loss", "train_acc", "train_loss"]
    for name in single.values:
        np.testing.assert_array_equal(merged.values[name], single.values[name])
    assert identity(merged.attrs) == identity(single.attrs)
    assert merged.attrs["shards"] == 3 and "shard" not in merged.attrs
    assert merged.attrs["seconds"] == pytest.approx(
        sum(read_surface(p).attrs["seconds"] for p in parts))
    with h5py.File(merged_path) as fh:
        assert "computed" not in fh and fh["train_loss"].shape == (4, 3)


def test_many_shards_including_empty_ones(setup, shards, tmp_path):
    grid1 = Grid.parse("-1:1:3")
    parts = [run(setup, tmp_path / f"p{i}.h5", Shard(i, 5), grid=grid1) for i in range(5)]
    assert read_surface(parts[4]).computed.sum() == 0  # 3 points, 5 shards
    merged = read_surface(merge_surfaces(parts, tmp_path / "m.h5"))
    single = read_surface(run(setup, tmp_path / "single.h5", grid=grid1))
    np.testing.assert_array_equal(merged.values["test_loss"], single.values["test_loss"])


def test_missing_overlapping_and_foreign_shards_are_refused(setup, shards, tmp_path):
    _, parts = shards
    out = tmp_path / "m.h5"
    with pytest.raises(LandscapeError,
                       match=r"leave 4 of 12 points uncomputed \(shards not given: 1/3\)"):
        merge_surfaces([parts[0], parts[2]], out)
    with pytest.raises(LandscapeError, match=r"computed by more than one shard: .*s1\.h5, .*s1\.h5"):
        merge_surfaces([parts[0], parts[1], parts[1], parts[2]], out)

    other_dirs = run(setup, tmp_path / "other.h5", Shard(2, 3),
                     attrs={**ATTRS, "directions_sha256": "xyz"})
    with pytest.raises(LandscapeError,
                       match=r"shard .*other\.h5 does not match .*s0\.h5: directions_sha256 differ"):
        merge_surfaces([parts[0], parts[1], other_dirs], out)
    other_grid = run(setup, tmp_path / "grid.h5", Shard(2, 3), grid=Grid.parse("-1:1:3", "-0.5:1.5:4"))
    with pytest.raises(LandscapeError, match=r"grid\.h5 does not match .*: grid_y differ"):
        merge_surfaces([parts[0], parts[1], other_grid], out)
    # Shards of different runs may sit in other folders: paths and timings do not matter.
    moved = run(setup, tmp_path / "moved.h5", Shard(2, 3), attrs={**ATTRS, "checkpoint": "/x/m.pt"})
    merge_surfaces([parts[0], parts[1], moved], out)
    assert out.exists()


def test_interrupted_shard_is_refused(setup, shards, tmp_path):
    _, parts = shards

    def kill(done, total):
        if done == 2:
            raise KeyboardInterrupt

    out = tmp_path / "s2.h5"
    with pytest.raises(KeyboardInterrupt):
        run(setup, out, Shard(2, 3), on_point=kill)
    with pytest.raises(LandscapeError, match=r"s2\.h5\.partial is incomplete: 2 of its 4 points"):
        merge_surfaces([parts[0], parts[1], partial_path(out)], tmp_path / "m.h5")
    assert not (tmp_path / "m.h5").exists()


def test_cli_merge_bad_input_is_one_line(shards, tmp_path, capsys):
    _, parts = shards
    out = tmp_path / "m.h5"
    not_h5 = tmp_path / "junk.h5"
    not_h5.write_text("not hdf5")
    for argv, message in [
        ([str(parts[0]), str(parts[1])], "uncomputed"),
        ([str(parts[0]), str(tmp_path / "gone.h5")], "gone.h5 does not exist"),
        ([str(parts[0]), str(not_h5)], "junk.h5 is not a readable HDF5 file"),
    ]:
        assert main(["merge", *argv, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("landscape merge: error:") and message in err[0]
        assert not out.exists()
    assert main(["merge", *map(str, parts), "--out", str(out)]) == 0 and out.exists()


def test_out_equal_to_an_input_is_refused(shards, tmp_path, cli_error):
    _, parts = shards
    copies = [tmp_path / f"s{i}.h5" for i in range(3)]
    for src, dst in zip(parts, copies):
        dst.write_bytes(src.read_bytes())
    before = copies[1].read_bytes()
    message = cli_error("merge", *copies, "--out", tmp_path / "." / "s1.h5")
    assert "would overwrite the input" in message and "s1.h5" in message
    assert copies[1].read_bytes() == before  # the shard is untouched


def with_dataset(src, dst, name, values):
    """A copy of shard ``src`` with one more dataset (a Hessian map's ``max_eig``, say)."""
    dst.write_bytes(src.read_bytes())
    with h5py.File(dst, "r+") as fh:
        fh[name] = values
    return dst


def test_every_dataset_of_the_shards_is_merged(shards, tmp_path):
    _, parts = shards
    eig = np.arange(GRID.size, dtype=float).reshape(GRID.shape) + 0.5
    extra = [with_dataset(p, tmp_path / f"e{i}.h5", "max_eig",
                          np.where(Shard(i, 3).mask(GRID), eig, np.nan))
             for i, p in enumerate(parts)]
    merged = read_surface(merge_surfaces(extra, tmp_path / "m.h5"))
    assert sorted(merged.values) == ["max_eig", "test_acc", "test_loss", "train_acc", "train_loss"]
    np.testing.assert_array_equal(merged.get("max_eig"), eig)
    plain = read_surface(merge_surfaces(parts, tmp_path / "plain.h5"))
    for name in plain.values:
        np.testing.assert_array_equal(merged.values[name], plain.values[name])


def test_shards_with_different_datasets_are_refused(shards, tmp_path):
    _, parts = shards
    odd = with_dataset(parts[1], tmp_path / "odd.h5", "max_eig", np.ones(GRID.shape))
    out = tmp_path / "m.h5"
    with pytest.raises(LandscapeError, match=(
            r"shard .*odd\.h5 does not match .*s0\.h5: it holds the datasets max_eig, test_acc, "
            r"test_loss, train_acc, train_loss, .*s0\.h5 holds test_acc, test_loss, train_acc, "
            r"train_loss")):
        merge_surfaces([parts[0], odd, parts[2]], out)
    assert not out.exists()
