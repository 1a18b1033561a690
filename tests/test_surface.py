"""Surface sweeps: values against a naive loop, orientation, resume, overflow, CLI bad input."""

from __future__ import annotations

import logging

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from landscape import data
from landscape.checkpoint import load_model, save_checkpoint
from landscape.cli import main
from landscape.directions import random_directions, read_directions, write_directions
from landscape.errors import LandscapeError
from landscape.evaluate import evaluate
from landscape.grid import Grid, Shard, parse_axis, parse_shard
from landscape.models import get_model
from landscape.surface import SurfaceConfig, compute_surface, partial_path, sweep
from landscape.surface_file import read_surface

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A resnet20 checkpoint with non-trivial BatchNorm statistics, and 2-D directions for it."""
    root = tmp_path_factory.mktemp("surface")
    model = get_model("resnet20", seed=0)
    gen = torch.Generator().manual_seed(0)
    for name, buf in model.named_buffers():
        if name.endswith("running_mean"):
            buf.copy_(0.1 * torch.randn(buf.shape, generator=gen))
        elif name.endswith("running_var"):
            buf.copy_(0.5 + torch.rand(buf.shape, generator=gen))
    ckpt = root / "model.pt"
    save_checkpoint(ckpt, {"state_dict": model.state_dict(), "arch": "resnet20"})
    dirs = write_directions(root / "dirs.h5", random_directions(model, seed=0))
    return ckpt, dirs


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
    model[1].running_mean.uniform_(-0.1, 0.1)
    model[1].running_var.uniform_(0.5, 1.5)
    return model.eval()


@pytest.fixture(scope="module")
def images(data_dir):
    return data.load("synthetic", "train", data_dir).select(torch.arange(32))


def naive_point(model: nn.Module, dirs, a: float, b: float | None, images) -> tuple[float, float]:
    """Set the weights by hand, one full-batch pass in eval mode."""
    state = {k: v.clone() for k, v in model.state_dict().items()}
    params = dict(model.named_parameters())
    moved = {name: params[name].detach() + a * dx + (0.0 if b is None else b * dy)
             for name, dx, dy in zip(params, dirs.x, dirs.y or dirs.x)}
    model.load_state_dict({**state, **moved})
    model.eval()
    with torch.no_grad():
        logits = model(data.normalize(images.images))
    model.load_state_dict(state)
    loss = F.cross_entropy(logits.double(), images.labels).item()
    return loss, 100.0 * (logits.argmax(1) == images.labels).float().mean().item()


def test_sweep_equals_naive_loop_on_non_square_grid(files, data_dir, tmp_path):
    ckpt, dirs_path = files
    cfg = SurfaceConfig(checkpoint=str(ckpt), directions=str(dirs_path), x="-1:1:3", y="0:1.5:4",
                        dataset="synthetic", data_dir=str(data_dir), subset=16,
                        subset_rule="random", subset_seed=4, batch_size=5, device="cpu")
    result = compute_surface(cfg, tmp_path / "s.h5", progress=False)
    surf = read_surface(result.path)
    assert surf.values["train_loss"].shape == (4, 3)  # (len(y), len(x))

    full = data.load("synthetic", "train", data_dir)
    idx = data.subset_indices(len(full), 16, "random", 4)
    np.testing.assert_array_equal(surf.subset_indices["train"], idx.numpy())
    subset = full.select(idx)
    model = get_model("resnet20")
    model.load_state_dict(torch.load(ckpt, weights_only=True)["state_dict"])
    dirs = read_directions(dirs_path)
    xs, ys = np.linspace(-1, 1, 3), np.linspace(0, 1.5, 4)
    for j, b in enumerate(ys):
        for i, a in enumerate(xs):
            loss, acc = naive_point(model, dirs, a, b, subset)
            np.testing.assert_allclose(surf.values["train_loss"][j, i], loss, rtol=1e-6)
            assert surf.values["train_acc"][j, i] == pytest.approx(acc, abs=1e-9)
    assert len(np.unique(surf.values["train_loss"])) == 12  # the points really differ

    with h5py.File(result.path) as fh:
        np.testing.assert_array_equal(fh["xcoordinates"][()], xs)
        np.testing.assert_array_equal(fh["ycoordinates"][()], ys)
        assert fh["train_loss"].dtype == np.float64 and "computed" not in fh
        assert fh["dir_file"][()].decode() == str(dirs_path)
        attrs = dict(fh.attrs)
    for key in ("checkpoint_sha256", "directions_sha256", "arch", "dataset", "data_dir",
                "splits", "subset_rule", "subset_size", "subset_seed", "dir_type", "precision",
                "batch_size", "grid_x", "grid_y", "seconds", "landscape_version"):
        assert key in attrs, key
    assert attrs["precision"] == "auto" and attrs["engine_precision"] in ("fp32", "bf16")
    assert attrs["grid_y"] == "0.0:1.5:4"
    assert not partial_path(result.path).exists()


def test_states_directions_move_batchnorm_statistics(images, tmp_path):
    model = tiny_model()
    dirs = random_directions(model, axes=1, dir_type="states", ignore="none", seed=2)
    grid = Grid.parse("-0.5:0.5:3")
    base = {k: v.clone() for k, v in model.state_dict().items()}
    result = sweep(model, dirs, grid, {"train": lambda: evaluate(model, images, 8)},
                   tmp_path / "s.h5", progress=False)
    # The sweep gives the model back unchanged.
    assert all(torch.equal(v, base[k]) for k, v in model.state_dict().items())
    surf = read_surface(result.path)
    for i, a in enumerate(grid.x.coordinates()):
        moved = {k: (v + a * d if v.is_floating_point() else v)
                 for (k, v), d in zip(base.items(), dirs.x)}
        model.load_state_dict(moved)
        loss, _ = evaluate(model, images, 32)
        np.testing.assert_allclose(surf.values["train_loss"][i], loss, rtol=1e-6)
    assert surf.attrs["dir_type"] == "states"
    assert surf.values["train_loss"][0] != surf.values["train_loss"][2]


def test_reference_direction_file_is_used(files, data_dir, tmp_path):
    ckpt, ours = files
    ref = tmp_path / "ref.h5"
    with h5py.File(ours) as src, h5py.File(ref, "w") as dst:  # same tensors, no attributes
        for group in ("xdirection", "ydirection"):
            for name, ds in src[group].items():
                dst.create_dataset(f"{group}/{name}", data=ds[()])
    common = {"checkpoint": str(ckpt), "x": "-1:1:2", "y": "-1:1:2", "dataset": "synthetic",
              "data_dir": str(data_dir), "subset": 8, "device": "cpu"}
    a = read_surface(compute_surface(SurfaceConfig(directions=str(ours), **common),
                                     tmp_path / "a.h5", progress=False).path)
    b = read_surface(compute_surface(SurfaceConfig(directions=str(ref), **common),
                                     tmp_path / "b.h5", progress=False).path)
    np.testing.assert_array_equal(a.values["train_loss"], b.values["train_loss"])
    assert b.attrs["dir_type"] == "weights" and b.dir_file == str(ref)


class Killed(Exception):
    pass


def test_killed_sweep_resumes_to_the_uninterrupted_result(images, tmp_path):
    model = tiny_model()
    dirs = random_directions(model, seed=1)
    grid = Grid.parse("-1:1:3", "-2:0:4")
    calls = {"n": 0}

    def counting():
        calls["n"] += 1
        return evaluate(model, images, 8)

    full = read_surface(sweep(model, dirs, grid, {"train": counting}, tmp_path / "full.h5",
                              progress=False).path)
    assert calls["n"] == 12

    def kill_after_5(done, total):
        if done == 5:
            raise Killed

    out = tmp_path / "resumed.h5"
    with pytest.raises(Killed):
        sweep(model, dirs, grid, {"train": counting}, out, progress=False, flush_seconds=1e9,
              on_point=kill_after_5)
    assert not out.exists()
    assert read_surface(partial_path(out)).computed.sum() == 5

    calls["n"] = 0
    result = sweep(model, dirs, grid, {"train": counting}, out, progress=False)
    assert calls["n"] == 7 and result.computed_now == 7  # only the missing points
    resumed = read_surface(out)
    for name in full.values:
        np.testing.assert_array_equal(resumed.values[name], full.values[name])
    assert not partial_path(out).exists()


def test_progress_is_on_disk_as_it_goes(images, tmp_path):
    model = tiny_model()
    dirs = random_directions(model, seed=1)
    out = tmp_path / "s.h5"
    seen = []

    def check(done, total):
        seen.append(int(read_surface(partial_path(out)).computed.sum()))

    sweep(model, dirs, Grid.parse("-1:1:4"), {"train": lambda: evaluate(model, images)}, out,
          progress=False, flush_seconds=0.0, on_point=check)
    assert seen == [1, 2, 3, 4]


def test_partial_of_other_settings_is_refused(images, tmp_path):
    model = tiny_model()
    dirs = random_directions(model, seed=1)
    grid = Grid.parse("-1:1:3", "-1:1:3")
    ev = {"train": lambda: evaluate(model, images)}
    out = tmp_path / "s.h5"

    def kill(done, total):
        if done == 2:
            raise Killed

    with pytest.raises(Killed):
        sweep(model, dirs, grid, ev, out, attrs={"batch_size": 8}, progress=False, on_point=kill)
    with pytest.raises(LandscapeError, match=r"s\.h5\.partial .*other settings \(batch_size\)"):
        sweep(model, dirs, grid, ev, out, attrs={"batch_size": 16}, progress=False)
    with pytest.raises(LandscapeError, match=r"other settings \(grid, grid_y\)"):
        sweep(model, dirs, Grid.parse("-1:1:3", "-1:1:5"), ev, out, attrs={"batch_size": 8},
              progress=False)
    with pytest.raises(LandscapeError, match=r"other settings \(shard\)"):
        sweep(model, dirs, grid, ev, out, attrs={"batch_size": 8}, shard=Shard(0, 2),
              progress=False)
    result = sweep(model, dirs, grid, ev, out, attrs={"batch_size": 16}, restart=True,
                   progress=False)
    assert result.computed_now == 9


def test_overflow_is_stored_and_reported(images, tmp_path, caplog):
    model = tiny_model()
    dirs = random_directions(model, axes=1, norm="none", seed=0)
    with caplog.at_level(logging.WARNING):
        result = sweep(model, dirs, Grid.parse("0:1e38:2"), {"train": lambda: evaluate(model, images)},
                       tmp_path / "s.h5", progress=False)
    surf = read_surface(result.path)
    loss = surf.values["train_loss"]
    assert np.isfinite(loss[0]) and not np.isfinite(loss[1])
    assert result.nonfinite == 1 and surf.attrs["nonfinite"] == 1
    assert "1 of 2 points" in caplog.text and "non-finite" in caplog.text


def test_grid_specs_and_shards():
    grid = Grid.parse("-1:1:3", "0:2:5")
    assert grid.shape == (5, 3) and grid.size == 15
    assert grid.index(7) == (2, 1) and grid.coefficients(7) == (0.0, 1.0)
    assert parse_axis("-.5:1e0:2").coordinates().tolist() == [-0.5, 1.0]
    shards = [parse_shard(f"{i}/4") for i in range(4)]
    owned = np.concatenate([s.points(grid) for s in shards])
    assert sorted(owned.tolist()) == list(range(15))
    assert shards[1].points(grid).tolist() == [1, 5, 9, 13]
    assert Shard(0, 20).points(grid).tolist() == [0] and Shard(19, 20).points(grid).size == 0
    for bad in ("1:0:5", "a:b:c", "0:1", "0:1:0", "0:1:2.5", "1:1:3", "0:1:1", "0:inf:3"):
        with pytest.raises(LandscapeError, match="grid spec"):
            parse_axis(bad)
    for bad in ("3/3", "-1/2", "1", "a/b"):
        with pytest.raises(LandscapeError, match="shard spec"):
            parse_shard(bad)

# --------------------------------------------------------------------------------------- CLI


def test_cli_directions_shards_merge_equal_one_job(files, data_dir, tmp_path):
    ckpt, _ = files
    dirs = tmp_path / "d.h5"
    assert main(["directions", "--checkpoint", str(ckpt), "--out", str(dirs), "--seed", "3"]) == 0
    common = ["surface", "--checkpoint", str(ckpt), "--directions", str(dirs), "--x", "-1:1:3",
              "--y", "-0.5:0.5:2", "--dataset", "synthetic", "--data-dir", str(data_dir),
              "--subset", "8", "--splits", "train", "test", "--device", "cpu", "--no-progress"]
    assert main([*common, "--out", str(tmp_path / "one.h5")]) == 0
    shards = [tmp_path / f"s{i}.h5" for i in range(4)]
    for i, path in enumerate(shards):
        assert main([*common, "--out", str(path), "--shard", f"{i}/4"]) == 0
    assert main(["merge", *map(str, shards), "--out", str(tmp_path / "merged.h5")]) == 0
    one, merged = read_surface(tmp_path / "one.h5"), read_surface(tmp_path / "merged.h5")
    assert sorted(one.values) == ["test_acc", "test_loss", "train_acc", "train_loss"]
    for name in one.values:
        np.testing.assert_array_equal(merged.values[name], one.values[name])
    target = tmp_path / "t.h5"
    assert main(["directions", "--checkpoint", str(ckpt), "--target", str(ckpt),
                 "--out", str(target)]) == 0
    assert read_directions(target).ndim == 1


@pytest.mark.parametrize("case", ["unknown checkpoint", "reversed grid", "letters grid",
                                  "wrong tensor count", "missing ydirection"])
def test_cli_surface_bad_input(case, files, data_dir, tmp_path, cli_error):
    ckpt, dirs = files
    one_axis = tmp_path / "x_only.h5"
    with h5py.File(dirs) as src, h5py.File(one_axis, "w") as dst:
        src.copy("xdirection", dst)
    short = tmp_path / "short.h5"
    with h5py.File(dirs) as src, h5py.File(short, "w") as dst:
        for name in ("0", "1"):
            dst.create_dataset(f"xdirection/{name}", data=src[f"xdirection/{name}"][()])
    args = {"--checkpoint": str(ckpt), "--directions": str(dirs), "--x": "-1:1:2", "--y": "-1:1:2"}
    expect = {
        "unknown checkpoint": ({"--checkpoint": str(tmp_path / "nope.pt")}, "nope.pt does not exist"),
        "reversed grid": ({"--x": "1:0:5"}, "grid spec --x '1:0:5'"),
        "letters grid": ({"--y": "a:b:c"}, "grid spec --y 'a:b:c'"),
        "wrong tensor count": ({"--directions": str(short)}, "short.h5 has 2 tensors"),
        "missing ydirection": ({"--directions": str(one_axis)}, "x_only.h5 has only xdirection"),
    }
    change, message = expect[case]
    args.update(change)
    out = tmp_path / "out" / "s.h5"
    argv = ["surface", *[t for kv in args.items() for t in kv], "--out", str(out),
            "--dataset", "synthetic", "--data-dir", str(data_dir), "--device", "cpu"]
    assert message in cli_error(*argv)
    assert not out.parent.exists()  # nothing written, not even a folder


def test_cli_directions_bad_input(files, tmp_path, cli_error):
    ckpt, _ = files
    out = tmp_path / "d.h5"
    assert "nope.pt does not exist" in cli_error(
        "directions", "--checkpoint", tmp_path / "nope.pt", "--out", out)
    assert "--norm do not apply with --target" in cli_error(
        "directions", "--checkpoint", ckpt, "--target", ckpt, "--norm", "filter", "--out", out)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def _stderr_lines(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def test_readme_interpolation_ends_at_each_checkpoints_own_numbers(
        trained_checkpoint, data_dir, tmp_path, capsys):
    # The README's Fig. 2 recipe: a target direction (states by default), then a 1-D sweep
    # of both splits. alpha = 0 must be the first model and alpha = 1 the second, BatchNorm
    # running statistics included (fp32 here: the recipe's precision is not the point).
    first, final = trained_checkpoint.parent / "epoch_001.pt", trained_checkpoint
    target, curve = tmp_path / "target.h5", tmp_path / "interp.h5"
    assert main(["directions", "--checkpoint", str(first), "--target", str(final),
                 "--out", str(target)]) == 0
    assert not any(": warning:" in line for line in _stderr_lines(capsys))
    assert main(["surface", "--checkpoint", str(first), "--directions", str(target),
                 "--dataset", "synthetic", "--data-dir", str(data_dir), "--x=-0.5:1.5:5",
                 "--splits", "train", "test", "--subset", "100", "--precision", "fp32",
                 "--device", "cpu", "--no-progress", "--out", str(curve)]) == 0
    surface = read_surface(curve)
    alphas = list(surface.x)
    for path, alpha in ((first, 0.0), (final, 1.0)):
        model, _ = load_model(path)
        for split in ("train", "test"):
            images = data.load("synthetic", split, data_dir).select(torch.arange(100))
            loss, acc = evaluate(model, images)
            i = alphas.index(alpha)
            assert surface.get(f"{split}_loss")[i] == pytest.approx(loss, rel=1e-4), (path, split)
            assert abs(surface.get(f"{split}_acc")[i] - acc) <= 1.0, (path, split)  # 1 image
    # the two models differ, so the ends cannot agree by accident
    assert surface.get("train_loss")[alphas.index(0.0)] != pytest.approx(
        surface.get("train_loss")[alphas.index(1.0)], rel=1e-3)


def test_weights_target_direction_warns_in_one_line(trained_checkpoint, tmp_path, capsys):
    first = trained_checkpoint.parent / "epoch_001.pt"
    capsys.readouterr()
    assert main(["directions", "--checkpoint", str(first), "--target", str(trained_checkpoint),
                 "--dir-type", "weights", "--out", str(tmp_path / "t.h5")]) == 0
    err = _stderr_lines(capsys)
    assert len(err) == 1 and err[0].startswith("landscape directions: warning: --dir-type "
                                               "weights with --target"), err
    assert "running statistics stay" in err[0]


def test_directions_of_another_checkpoint_need_an_explicit_option(
        files, data_dir, tmp_path, capsys, cli_error):
    ckpt, _ = files
    dirs = tmp_path / "d.h5"
    assert main(["directions", "--checkpoint", str(ckpt), "--out", str(dirs)]) == 0
    model, _ = load_model(ckpt)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.5)
    other = tmp_path / "other.pt"
    save_checkpoint(other, {"state_dict": model.state_dict(), "arch": "resnet20"})
    out = tmp_path / "s.h5"
    argv = ["surface", "--checkpoint", str(other), "--directions", str(dirs), "--x=-1:1:2",
            "--dataset", "synthetic", "--data-dir", str(data_dir), "--subset", "8",
            "--precision", "fp32", "--device", "cpu", "--no-progress", "--out", str(out)]
    message = cli_error(*argv)
    assert f"direction file {dirs} was drawn for checkpoint {ckpt}" in message
    assert f"not for {other}" in message and "--allow-other-checkpoint" in message
    assert not out.exists()

    capsys.readouterr()
    assert main([*argv, "--allow-other-checkpoint"]) == 0
    warnings = [line for line in _stderr_lines(capsys) if ": warning: " in line]
    assert len(warnings) == 1 and warnings[0].startswith(
        f"landscape surface: warning: direction file {dirs} was drawn for checkpoint"), warnings
    attrs = read_surface(out).attrs
    drawn_for = read_directions(dirs).attrs["checkpoint_sha256"]
    assert attrs["other_checkpoint"] is True
    assert attrs["directions_checkpoint_sha256"] == drawn_for != attrs["checkpoint_sha256"]

    # at the checkpoint they were drawn for: no option, no warning, recorded as such
    same = tmp_path / "same.h5"
    assert main([*argv[:2], str(ckpt), *argv[3:-1], str(same)]) == 0
    assert not any(": warning: " in line for line in _stderr_lines(capsys))
    attrs = read_surface(same).attrs
    assert not attrs["other_checkpoint"] and attrs["directions_checkpoint_sha256"] == drawn_for


def test_surface_says_what_it_does_before_the_first_point(files, data_dir, tmp_path, capsys):
    ckpt, dirs = files
    capsys.readouterr()
    assert main(["surface", "--checkpoint", str(ckpt), "--directions", str(dirs), "--x=-1:1:2",
                 "--dataset", "synthetic", "--data-dir", str(data_dir), "--subset", "8",
                 "--device", "cpu", "--no-progress", "--out", str(tmp_path / "s.h5")]) == 0
    err = _stderr_lines(capsys)
    assert [line.split(":")[1].split()[0] for line in err] == ["loading", "setting", "evaluating"]
    assert err[0] == "landscape surface: loading synthetic (train, 8 images each) onto cpu"
    assert "precision" in err[1] and "2 points" in err[2]


@pytest.mark.parametrize("command, split, images", [
    ("surface", "train", 10000), ("surface", "test", 2000), ("hessian", "train", 10000),
])
def test_too_large_subset_is_refused_before_anything_is_announced(command, split, images, files,
                                                                  tmp_path, capsys):
    """A subset larger than a split is refused in one line, with no 'loading synthetic (...,
    100000 images each)' before it: every check runs before the first progress line, and the
    split's size is known without reading it."""
    ckpt, dirs = files
    out = tmp_path / "s.h5"
    argv = [command, "--checkpoint", str(ckpt), "--directions", str(dirs), "--x=-1:1:2",
            "--y=-1:1:2", "--dataset", "synthetic", "--data-dir", str(tmp_path / "no_data"),
            "--device", "cpu", "--subset", "4000" if split == "test" else "100000",
            "--out", str(out)]
    if command == "surface":
        argv += ["--splits", split]
    capsys.readouterr()
    assert main(argv) == 2
    subset = 4000 if split == "test" else 100000
    assert capsys.readouterr().err.splitlines() == [
        f"landscape {command}: error: subset {subset} is larger than the {images} images of "
        f"synthetic's {split} split"]
    assert not out.exists() and not (tmp_path / "no_data").exists()
