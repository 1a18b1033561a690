"""The Python API beyond surfaces: trajectories (Fig. 9) and curvature maps (Fig. 7) of any
model, each checked against the stage that computes it from files."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import landscape
from landscape import data
from landscape.checkpoint import save_checkpoint
from landscape.configs import EigenSettings, SurfaceConfig, TrainConfig, TrajectoryConfig
from landscape.data import ImageSet
from landscape.directions import random_directions, write_directions
from landscape.errors import LandscapeError
from landscape.grid import Grid
from landscape.hessian import hessian_sweep
from landscape.models import get_model
from landscape.surface import compute_surface, partial_path
from landscape.train import train
from landscape.trajectory_pca import trajectory_files

pytestmark = pytest.mark.usefixtures("one_thread")


def small_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 10),
    )


@pytest.fixture(scope="module")
def task():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(40, 3, 8, 8, generator=gen)
    y = torch.randint(0, 10, (40,), generator=gen)
    return x, y


def sgd_run(model: nn.Module, x, y, steps: int = 6) -> list[dict[str, torch.Tensor]]:
    """A user's own training loop: a copy of the state dict after every step."""
    opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    states = [copy.deepcopy(model.state_dict())]
    for _ in range(steps):
        model.train()
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        states.append(copy.deepcopy(model.state_dict()))
    return states


# ------------------------------------------------------------------------------ trajectory


@pytest.fixture(scope="module")
def stage_run(tmp_path_factory, data_dir):
    """A resnet20 trained 3 epochs by the project's training, one checkpoint per epoch, and
    the ``trajectory`` stage's files for it."""
    out = tmp_path_factory.mktemp("run")
    cfg = TrainConfig(model="resnet20", dataset="synthetic", data_dir=str(data_dir), epochs=3,
                      train_size=128, test_size=64, milestones=(2,), save_every=1, seed=0,
                      device="cpu", batch_size=32)
    with torch.random.fork_rng(devices=[]):
        train(cfg, out / "train", progress=False)
    files = sorted((out / "train").glob("epoch_*.pt"))
    *_, stage = trajectory_files(TrajectoryConfig(checkpoints=(str(out / "train"),)),
                                 out / "path.h5", out / "pca.h5", progress=False)
    return files, stage


def same_directions(a, b) -> None:
    for axis_a, axis_b in zip(a.axes, b.axes):
        assert len(axis_a) == len(axis_b)
        for ta, tb in zip(axis_a, axis_b):
            assert torch.equal(ta, tb)


def test_trajectory_of_a_stage_run_equals_the_stage(stage_run, monkeypatch):
    files, stage = stage_run
    model = get_model("resnet20", seed=1)
    # checkpoint files are streamed (located, read block by block), never loaded whole
    monkeypatch.setattr("landscape.trajectory_pca.read_checkpoint", _refuse)
    path = landscape.trajectory(model, files, progress=False)
    same_directions(path.directions, stage.directions)
    np.testing.assert_array_equal(path.explained_variance_ratio, stage.explained_variance_ratio)
    np.testing.assert_array_equal(path.explained_variance, stage.explained_variance)
    np.testing.assert_array_equal(np.stack([path.x, path.y], 1), stage.coordinates)
    np.testing.assert_array_equal(path.epochs, [0, 1, 2, 3])
    assert path.trajectory.decay_indices() == [2]  # the recorded milestone
    assert path.surface is None

    # the same checkpoints given as state dicts in memory
    states = [torch.load(f, weights_only=True)["state_dict"] for f in files]
    again = landscape.trajectory(model, states, progress=False)
    same_directions(again.directions, stage.directions)
    np.testing.assert_array_equal(np.stack([again.x, again.y], 1), stage.coordinates)


def _refuse(path):
    raise AssertionError(f"{path} was loaded whole")


def test_trajectory_of_a_plain_list_of_state_dicts(task, tmp_path):
    x, y = task
    model = small_net()
    states = sgd_run(model, x, y)
    before = copy.deepcopy(model.state_dict())
    path = landscape.trajectory(model, states, (x, y), grid_points=5, progress=False)

    # the PCA of the explicit rows w_i - w_final (1-D tensors zero): numpy's SVD
    names = [n for n, _ in model.named_parameters()]
    rows = np.stack([np.concatenate([
        (s[n] - states[-1][n]).double().reshape(-1).numpy() if s[n].dim() >= 2
        else np.zeros(s[n].numel()) for n in names]) for s in states])
    centred = rows - rows.mean(0)
    _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(path.explained_variance_ratio, sv[:2] ** 2 / (sv ** 2).sum(),
                               rtol=1e-6)
    for k, axis in enumerate(path.directions.axes):
        flat = np.concatenate([t.double().reshape(-1).numpy() for t in axis])
        assert abs(abs(flat @ vt[k]) - 1) < 1e-5
        coords = path.x if k == 0 else path.y
        np.testing.assert_allclose(coords, rows @ flat, rtol=1e-5, atol=1e-7)
    assert path.x[-1] == path.y[-1] == 0

    # the surface: the final model moved along the PCA directions, in eval mode
    s = path.surface
    assert s.loss.shape == (5, 5) and path.grid == s.grid
    final = copy.deepcopy(model)
    final.load_state_dict(states[-1])
    final.eval()
    with torch.no_grad():
        j, i = 1, 3
        for p, dx, dy in zip(final.parameters(), *path.directions.axes):
            p.add_(s.x[i] * dx + s.y[j] * dy)
        expected = F.cross_entropy(final(x), y).item()
    assert s.loss[j, i] == pytest.approx(expected, rel=1e-5)
    for k, v in model.state_dict().items():  # the model itself is left alone
        assert torch.equal(v, before[k])

    fig = landscape.plot(path, out=tmp_path / "fig9.png")
    assert (tmp_path / "fig9.png").stat().st_size > 0
    assert fig.axes[0].get_xlabel().startswith("1st PC")

    # the same run saved by the user as bare state dicts, names without epochs
    files = []
    for k, state in enumerate(states):
        files.append(tmp_path / f"{'abcdefgh'[k]}.pt")
        torch.save(state, files[-1])
    again = landscape.trajectory(model, files, progress=False)
    np.testing.assert_array_equal(again.epochs, np.arange(len(states)))  # their places
    np.testing.assert_array_equal(again.x, path.x)
    np.testing.assert_array_equal(again.y, path.y)
    same_directions(again.directions, path.directions)


def test_trajectory_refuses_bad_input(task, tmp_path):
    x, y = task
    model = small_net()
    states = sgd_run(model, x, y, steps=3)
    with pytest.raises(LandscapeError, match="at least 3"):
        landscape.trajectory(model, states[:2])
    with pytest.raises(LandscapeError, match="does not fit"):
        landscape.trajectory(small_net(), [*states[:3], get_model("resnet20").state_dict()])
    with pytest.raises(LandscapeError, match="does not exist"):
        landscape.trajectory(model, [*states[:3], tmp_path / "missing.pt"])
    with pytest.raises(LandscapeError, match="pass data"):
        landscape.trajectory(model, states, x="-1:1:3")


# ------------------------------------------------------------------------------- curvature


def test_curvature_equals_the_hessian_stage_sweep(task, tmp_path):
    x, y = task
    model = small_net(2)
    model.train()
    with torch.no_grad():
        model(x)  # running statistics of its own
    weights = copy.deepcopy(model.state_dict())
    settings = EigenSettings(tol=1e-2, max_iter=60)
    hess = landscape.curvature(model, (x, y), "-1:1:3", "-1:1:3", tol=1e-2, max_iter=60,
                               progress=False)
    assert model.training  # its mode is back (the stage's sweep leaves it in eval mode)
    dirs = random_directions(model, axes=2, seed=0)
    stage = hessian_sweep(model, dirs, Grid.parse("-1:1:3", "-1:1:3"), ImageSet(x, y),
                          settings=settings, progress=False).surface
    for name in ("max_eig", "min_eig", "train_loss", "train_acc", "hvp_count"):
        np.testing.assert_array_equal(hess.values[name], stage.values[name], err_msg=name)
    assert np.isfinite(hess.get("eig_ratio")).any()
    assert np.nanmin(hess.values["max_eig"]) > 0
    for k, v in model.state_dict().items():
        assert torch.equal(v, weights[k])

    fig = landscape.plot(hess, out=tmp_path / "fig7.png")
    assert len(fig.axes) >= 3 and (tmp_path / "fig7.png").stat().st_size > 0
    curve = landscape.curvature(model, (x, y), "-1:1:2", None, max_iter=30, progress=False)
    assert curve.values["max_eig"].shape == (2,)
    landscape.plot(curve, out=tmp_path / "curve.png")


def test_curvature_refuses_batches(task):
    x, y = task
    with pytest.raises(LandscapeError, match="pair of tensors"):
        landscape.curvature(small_net(), [(x, y), (x, y), (x, y)])


def test_the_api_function_is_the_stage_pca():
    from landscape.api_trajectory import trajectory
    from landscape.trajectory_pca import pca

    assert landscape.trajectory is trajectory and callable(pca)


# ------------------------------------------------------------------ BatchNorm recomputed


def independent_bn_point(model, x, y, moves, batch_size) -> float:
    """A copy at theta + sum(c * d) over ``moves``, its BatchNorm statistics reset and
    re-estimated by a train-mode pass (momentum None: the average over the batches), then
    the eval-mode loss."""
    net = copy.deepcopy(model)
    with torch.no_grad():
        for coefficient, direction in moves:
            for p, d in zip(net.parameters(), direction):
                p.add_(coefficient * d)
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None
        net.train()
        for start in range(0, len(x), batch_size):
            net(x[start : start + batch_size])
        net.eval()
        return F.cross_entropy(net(x), y).item()


def test_recomputed_batchnorm_point_equals_an_independent_computation(task):
    x, y = task
    model = small_net(3)
    model.train()
    with torch.no_grad():
        model(x * 3 + 1)  # running statistics far from the data's
    model.eval()
    state = copy.deepcopy(model.state_dict())
    dirs = random_directions(model, axes=2, seed=1)
    grid = ("-1:1:3", "-1:1:3")
    plain = landscape.loss_surface(model, (x, y), *grid, directions=dirs, progress=False)
    again = landscape.loss_surface(model, (x, y), *grid, directions=dirs, bn="recompute",
                                   batch_size=16, progress=False)
    assert again.attrs["bn"] == "recompute" and plain.attrs["bn"] == "eval"
    for j, b in enumerate(again.y):
        for i, a in enumerate(again.x):
            expected = independent_bn_point(model, x, y, [(a, dirs.x), (b, dirs.y)], 16)
            assert again.loss[j, i] == pytest.approx(expected, rel=2e-6, abs=1e-7)
    assert not np.allclose(plain.loss, again.loss, rtol=1e-3)  # the statistics mattered
    for k, v in model.state_dict().items():  # weights and statistics come back
        assert torch.equal(v, state[k]), k


def test_surface_stage_recomputes_batchnorm_and_refuses_a_partial_of_the_other_mode(
        data_dir, tmp_path):
    model = get_model("resnet20", seed=0)
    ckpt = tmp_path / "model.pt"
    save_checkpoint(ckpt, {"state_dict": model.state_dict(), "arch": "resnet20"})
    dirs = random_directions(model, axes=1, seed=0)
    dirs_path = write_directions(tmp_path / "dirs.h5", dirs)
    common = {"checkpoint": str(ckpt), "directions": str(dirs_path), "x": "-0.5:0.5:2",
              "dataset": "synthetic", "data_dir": str(data_dir), "subset": 12, "batch_size": 8,
              "precision": "fp32", "device": "cpu"}
    out = tmp_path / "s.h5"
    result = compute_surface(SurfaceConfig(**common, bn="recompute"), out, progress=False)
    assert result.surface.attrs["bn"] == "recompute"
    images = data.load("synthetic", "train", data_dir).select(torch.arange(12))
    x = data.model_inputs(images.images)
    expected = [independent_bn_point(model, x, images.labels, [(a, dirs.x)], 8)
                for a in (-0.5, 0.5)]
    np.testing.assert_allclose(result.surface.values["train_loss"], expected, rtol=1e-5)

    def kill(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        compute_surface(SurfaceConfig(**common), tmp_path / "t.h5", progress=False,
                        flush_seconds=0, on_point=kill)
    assert partial_path(tmp_path / "t.h5").exists()
    with pytest.raises(LandscapeError, match=r"other settings \(bn\)"):
        compute_surface(SurfaceConfig(**common, bn="recompute"), tmp_path / "t.h5",
                        progress=False)



def test_own_model_page_example_runs(tmp_path, monkeypatch, capsys):
    """docs/own_model.md's worked example, as written, and what it says it prints."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "own_model.md").read_text()
    code = text.split("## A worked example on synthetic data")[1].split("```python\n")[1]
    code = code.split("```")[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "own_model.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "explained variance: [0.929" in printed
    for name in ("contour.png", "surface.html", "path.png", "curvature.png"):
        assert (tmp_path / name).stat().st_size > 0
