"""Sizes that cannot fit: every command estimates its big allocations first and refuses with
the estimate and the limit (exit status 2), before any work, leaving earlier outputs as they
were. The limit is pinned at 16 GiB here so that the cases refuse on any machine."""

from __future__ import annotations

import re

import h5py
import numpy as np
import pytest
import torch

from landscape import resources
from landscape.cli import main
from landscape.data import ImageSet
from landscape.errors import LandscapeError

LIMIT = 16 * 2**30
BEFORE = b"an earlier output, to be left as it was\n"


@pytest.fixture(autouse=True)
def sixteen_gib(monkeypatch):
    monkeypatch.setattr(resources, "host_memory", lambda: (LIMIT, "available (test limit)"))


@pytest.fixture(scope="module")
def directions(trained_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("sizes") / "dirs.h5"
    assert main(["directions", "--checkpoint", str(trained_checkpoint), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def huge_surface(tmp_path_factory):
    """Another tool's 100,000 x 100,000 surface: 80 GB of float64 when read, a few MB on disk
    (HDF5 allocates chunks only when written)."""
    path = tmp_path_factory.mktemp("huge") / "huge_surface.h5"
    with h5py.File(path, "w") as fh:
        fh["xcoordinates"] = np.linspace(-1, 1, 100_000)
        fh["ycoordinates"] = np.linspace(-1, 1, 100_000)
        fh.create_dataset("train_loss", shape=(100_000, 100_000), dtype="f8", chunks=(1000, 1000))
    return path


@pytest.fixture(scope="module")
def huge_directions(tmp_path_factory):
    path = tmp_path_factory.mktemp("huge") / "huge_dirs.h5"
    with h5py.File(path, "w") as fh:
        fh.create_group("xdirection").create_dataset("0", shape=(10**10,), dtype="f4",
                                                      chunks=(10**6,))
    return path


def surface_args(checkpoint, dirs, out, *grid):
    return ["surface", "--checkpoint", checkpoint, "--directions", dirs, *grid, "--dataset",
            "synthetic", "--subset", "8", "--device", "cpu", "--out", out]


CASES = {
    "2-D grid of 10^9 points": (
        lambda c, d, h, hd, out: surface_args(c, d, out, "--x=-1:1:31623", "--y=-1:1:31623"),
        "the sweep on a 31623 x 31623 grid (1,000,014,129 points) needs about"),
    "2-D grid of 10^10 points": (
        lambda c, d, h, hd, out: surface_args(c, d, out, "--x=-1:1:100000", "--y=-1:1:100000"),
        "the sweep on a 100000 x 100000 grid (10,000,000,000 points) needs about"),
    "1-D grid of 10^9 points": (
        lambda c, d, h, hd, out: surface_args(c, d, out, "--x=-1:1:1000000000"),
        "the sweep on a 1000000000 grid (1,000,000,000 points) needs about"),
    "Hessian map on a grid of 10^9 points": (
        lambda c, d, h, hd, out: ["hessian", *surface_args(c, d, out, "--x=-1:1:31623",
                                                           "--y=-1:1:31623")[1:]],
        "the sweep on a 31623 x 31623 grid (1,000,014,129 points) needs about"),
    "plot of another tool's huge surface": (
        lambda c, d, h, hd, out: ["plot", "--surface", h, "--out-prefix", out.with_suffix("")],
        "reading surface file"),
    "merge of another tool's huge surface": (
        lambda c, d, h, hd, out: ["merge", h, "--out", out],
        "reading surface file"),
    "sweep along another tool's huge direction file": (
        lambda c, d, h, hd, out: surface_args(c, hd, out, "--x=-1:1:3"),
        "reading direction file"),
    "benchmark of 10^9 images": (
        lambda c, d, h, hd, out: ["bench", "--model", "resnet20", "--images", "1000000000",
                                  "--out", out],
        "the benchmark needs about"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_too_large_is_refused_with_estimate_and_limit(case, cli_error, trained_checkpoint,
                                                      directions, huge_surface, huge_directions,
                                                      tmp_path):
    build, expected = CASES[case]
    out = tmp_path / "out.h5"
    earlier = [out, tmp_path / "out_contour.pdf"]
    for path in earlier:
        path.write_bytes(BEFORE)
    message = cli_error(*build(trained_checkpoint, directions, huge_surface, huge_directions, out))
    assert expected in message
    assert re.search(r"needs about [\d.,]+ [GT]iB of memory \(.+\) but 16\.0 GiB is available "
                     r"\(test limit\)", message), message
    assert all(path.read_bytes() == BEFORE for path in earlier)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in earlier)


def test_the_grid_estimate_adds_up_the_sweep_arrays():
    from landscape.grid import Grid, Shard

    needs = resources.grid_needs(Grid.parse("-1:1:1000", "-1:1:2000"), ["a_loss", "a_acc"],
                                 Shard(0, 4))
    # two float64 arrays, two boolean masks, two int64 lists of the shard's quarter
    assert sum(n.bytes for n in needs) == 2_000_000 * (2 * 8 + 2) + 2 * 8 * 500_000


def test_data_that_cannot_sit_on_the_gpu_is_refused(monkeypatch, cli_error):
    # No GPU needed: the device's free memory is what torch.cuda.mem_get_info reports.
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (2**20, 2**30))
    images = ImageSet(torch.zeros(1000, 3, 32, 32, dtype=torch.uint8), torch.zeros(1000).long())
    with pytest.raises(LandscapeError, match=r"training needs about 2\.9 MiB of memory \(training "
                       r"images 2\.9 MiB\) but 1\.0 MiB is free on cuda:0; train on fewer"):
        resources.check_device_data("training", {"training": images}, torch.device("cuda:0"),
                                    "train on fewer images")
    resources.check_device_data("training", {"training": images}, torch.device("cpu"), "")


def test_work_estimates_for_per_point_and_trajectory_stages():
    # what a trajectory PCA of 301 wrn56_8 checkpoints (54,470,282 parameters) would hold
    pca = resources.pca_needs(301, 54_470_282)
    assert sum(n.bytes for n in pca) == 3 * 301 * 54_470_282 * 4 + (301 * 301 + 301) * 4
    with pytest.raises(LandscapeError, match=r"the PCA needs about 183\.2 GiB of memory .* but "
                       r"16\.0 GiB is available \(test limit\); keep fewer checkpoints"):
        resources.check_memory("the PCA", pca, "keep fewer checkpoints")
    lanczos = resources.vectors_need("20 Lanczos vectors", 20, 54_470_282)
    resources.check_memory("the Hessian sweep", [lanczos], "use fewer vectors")  # 4.1 GiB fits
