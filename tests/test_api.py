"""The Python API: the README's own-model snippet, checked against naive loops written here.

Every expected value is computed by hand in this file: a copy of the model whose parameters
are set to ``theta + a*dx + b*dy`` one point at a time, evaluated with ``F.cross_entropy``.
"""

from __future__ import annotations

import copy
import logging
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from torch import nn

import landscape
from landscape.directions import random_directions
from landscape.errors import LandscapeError
from landscape.surface_file import read_surface

README = Path(__file__).resolve().parents[1] / "README.md"


def small_net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(24, 10),
    )


def with_statistics(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """Give the BatchNorm non-default running statistics (a few train-mode passes)."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(x)
    return model


@pytest.fixture(scope="module")
def task():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(48, 3, 8, 8, generator=gen)
    y = torch.randint(0, 10, (48,), generator=gen)
    return x, y


def naive_loss(model, x, y, moves, loss_fn=None) -> tuple[float, float]:
    """The model's copy at theta + sum(c * d), in eval mode, on the whole (x, y)."""
    net = copy.deepcopy(model).eval()
    with torch.no_grad():
        for coefficient, direction in moves:
            for p, d in zip(net.parameters(), direction):
                p.add_(coefficient * d.to(p.dtype))
        out = net(x)
        loss = (loss_fn or F.cross_entropy)(out, y).item()
        acc = 100.0 * (out.argmax(1) == y).double().mean().item() if out.dim() == 2 else None
    return loss, acc


def readme_snippet() -> str:
    text = README.read_text()
    block = re.search(r"## Your own model, in four lines\n\n```python\n(.*?)```", text, re.S)
    assert block, "the README's own-model snippet is missing"
    return block.group(1)


def test_readme_snippet_runs_and_equals_a_naive_loop(task, tmp_path, monkeypatch):
    x, y = task
    model = with_statistics(small_net(0), x)
    other_model = with_statistics(small_net(1), x)
    weights = copy.deepcopy(model.state_dict())
    code = readme_snippet()
    statements = [line for line in code.splitlines() if line and not line.startswith("import")]
    assert len(statements) <= 4, code
    monkeypatch.chdir(tmp_path)
    scope = {"model": model, "other_model": other_model, "X": x, "y": y}
    exec(code, scope)

    surface = scope["surface"]
    assert surface.loss.shape == (21, 21) and surface.accuracy.shape == (21, 21)
    dirs = random_directions(model, seed=0)  # what loss_surface draws by default
    for j, i in [(0, 0), (10, 10), (3, 17), (20, 5)]:
        a, b = surface.x[i], surface.y[j]
        loss, acc = naive_loss(model, x, y, [(a, dirs.x), (b, dirs.y)])
        assert surface.loss[j, i] == pytest.approx(loss, rel=1e-5)
        assert surface.accuracy[j, i] == pytest.approx(acc, abs=1e-9)
    assert (tmp_path / "contour.png").stat().st_size > 10_000
    assert (tmp_path / "interpolation.png").stat().st_size > 10_000
    # the user's model comes back as it was: train mode, same weights and statistics
    assert model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[key]), key


def test_interpolation_ends_are_the_two_models_themselves(task):
    x, y = task
    a, b = with_statistics(small_net(0), x), with_statistics(small_net(1), x * 2 + 1)
    curve = landscape.interpolate(a, b, (x, y), alpha="0:1:3", progress=False)
    for alpha, model in ((0, a), (2, b)):  # indices of alpha = 0 and 1
        loss, acc = naive_loss(model, x, y, [])
        assert curve.loss[alpha] == pytest.approx(loss, rel=1e-5)
        assert curve.accuracy[alpha] == pytest.approx(acc, abs=1e-9)
    assert curve.attrs["dir_type"] == "states" and curve.label("x") == "alpha"
    # the midpoint averages the running statistics too
    mid = copy.deepcopy(a)
    mid.load_state_dict({k: (v + b.state_dict()[k]) / 2 if v.is_floating_point() else v
                         for k, v in a.state_dict().items()})
    assert curve.loss[1] == pytest.approx(naive_loss(mid, x, y, [])[0], rel=1e-5)


def test_float64_model_regression_loss_and_a_dataloader(task, caplog):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    x = torch.randn(40, 4, dtype=torch.float64)
    target = torch.randn(40, 1, dtype=torch.float64)
    surface = landscape.loss_surface(model, (x, target), "-1:1:3", "-1:1:3", loss_fn=F.mse_loss,
                                     progress=False)
    assert surface.accuracy is None and next(model.parameters()).dtype == torch.float64
    dirs = random_directions(model, seed=0)
    for j in range(3):
        for i in range(3):
            loss, _ = naive_loss(model, x, target,
                                 [(surface.x[i], dirs.x), (surface.y[j], dirs.y)], F.mse_loss)
            assert surface.loss[j, i] == pytest.approx(loss, rel=1e-12)  # float64 throughout
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, target), batch_size=7)
    with caplog.at_level(logging.INFO, logger="landscape.api"):
        batched = landscape.loss_surface(model, loader, "-1:1:3", "-1:1:3", loss_fn=F.mse_loss,
                                         progress=False)
    np.testing.assert_allclose(batched.loss, surface.loss, rtol=1e-12)
    assert caplog.text.count("plain loop") == 1


def test_given_directions_params_and_frozen_parameters(task):
    x, y = task
    model = small_net(0)
    for p in model[0].parameters():
        p.requires_grad_(False)  # frozen parameters still move by default
    dirs = random_directions(model, seed=4)
    given = landscape.loss_surface(model, (x, y), "-1:1:3", "-1:1:3",
                                   directions=(dirs.x, dirs.y), progress=False)
    drawn = landscape.loss_surface(model, (x, y), "-1:1:3", "-1:1:3", seed=4, progress=False)
    np.testing.assert_array_equal(given.loss, drawn.loss)
    assert naive_loss(model, x, y, [(-1.0, dirs.x), (1.0, dirs.y)])[0] == pytest.approx(
        given.loss[2, 0], rel=1e-5)

    last = list(model[5].parameters())
    curve = landscape.loss_surface(model, (x, y), "0:2:3", None, params=last, norm="layer",
                                   ignore="none", progress=False)
    d = landscape.directions.draw_directions([p.detach() for p in last], axes=1, norm="layer",
                                             ignore="none", seed=0)
    full = [torch.zeros_like(p) for p in model.parameters()]
    full[-2:] = d.x
    assert curve.loss[2] == pytest.approx(naive_loss(model, x, y, [(2.0, full)])[0], rel=1e-5)


def test_out_writes_a_reference_layout_file(task, tmp_path):
    x, y = task
    model = small_net(0)
    surface = landscape.loss_surface(model, {"train": (x, y), "test": (x[:8], y[:8])},
                                     "-1:1:4", "0:1:3", out=tmp_path / "s.h5", progress=False)
    assert surface.path == tmp_path / "s.h5"
    again = read_surface(tmp_path / "s.h5")
    assert again.loss.shape == (3, 4) and sorted(again.values) == [
        "test_acc", "test_loss", "train_acc", "train_loss"]
    np.testing.assert_array_equal(again.values["test_loss"], surface.values["test_loss"])
    fig = landscape.plot(tmp_path / "s.h5", kind="heatmap", quantity="test_loss")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    assert np.asarray(canvas.buffer_rgba()).std() > 10  # pixels, not a blank canvas


@pytest.mark.parametrize("call, message", [
    (lambda m, x, y: landscape.loss_surface(m, (x, y), directions=[[torch.zeros(1)]]),
     "a 2-D grid needs two directions"),
    (lambda m, x, y: landscape.loss_surface(m, (x, y), y=None, directions=[[torch.zeros(1)]]),
     "1 tensors per axis but 6"),
    (lambda m, x, y: landscape.loss_surface(m, (x, y[:5])), "48 samples but targets 5"),
    (lambda m, x, y: landscape.loss_surface(m, (x, y), params=["nope"]), "nope is not a parameter"),
    (lambda m, x, y: landscape.loss_surface(m, (x, y), norm="filters"), "norm 'filters' is not"),
    (lambda m, x, y: landscape.loss_surface(m, (x, y), x="1:0:3"), "MIN must be less than MAX"),
])
def test_bad_input_is_refused_and_the_model_is_untouched(task, call, message):
    x, y = task
    model = small_net(0).train()
    weights = copy.deepcopy(model.state_dict())
    with pytest.raises(LandscapeError, match=message):
        call(model, x, y)
    assert model.training
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())


def test_numpy_x_y_pairs_are_taken_as_tensors(task):
    """scikit-learn's (X, y): float X as the model's inputs, integer y (any width) as labels."""
    x, y = task
    model = small_net(0)
    expected = landscape.loss_surface(model, (x, y), "-1:1:3", None, progress=False)
    arrays = (x.numpy(), y.numpy().astype(np.int32))
    for data in (arrays, list(arrays), {"train": arrays}):
        curve = landscape.loss_surface(model, data, "-1:1:3", None, progress=False)
        np.testing.assert_array_equal(curve.loss, expected.loss)
        np.testing.assert_array_equal(curve.values["train_acc"], expected.values["train_acc"])
    frozen = x.numpy().copy()
    frozen.setflags(write=False)  # read-only arrays (memory maps...) are copied, not warned about
    curve = landscape.interpolate(model, small_net(1), (frozen, y.numpy()), "0:1:2", progress=False)
    assert curve.loss[0] == pytest.approx(naive_loss(model, x, y, [])[0], rel=1e-5)


@pytest.mark.parametrize("make, message", [
    (lambda x, y: x.numpy(), r"a lone ndarray of shape \(48, 3, 8, 8\) has no targets; pass \(X, y\)"),
    (lambda x, y: x, r"a lone Tensor of shape \(48, 3, 8, 8\) has no targets; pass \(X, y\)"),
    (lambda x, y: {"test": x.numpy()}, r"data \(test\): a lone ndarray"),
    (lambda x, y: (x.numpy(), np.array(["a"] * 48)), r"y holds <U1 values, not numbers"),
    (lambda x, y: (np.zeros((4, 8, 8, 3), np.uint8), y[:4].numpy()),
     r"looks channels-last; uint8 images are N x 3 x H x W: pass X.transpose\(0, 3, 1, 2\)"),
    (lambda x, y: (x.numpy(), y[:5].numpy()), "48 samples but targets 5"),
])
def test_bad_numpy_data_is_refused_in_one_line(task, make, message):
    x, y = task
    with pytest.raises(LandscapeError, match=message) as info:
        landscape.loss_surface(small_net(0), make(x, y), "-1:1:3", None, progress=False)
    assert "\n" not in str(info.value)
