"""Hessian eigenvalues: products and eigenvalues against an explicit float64 Hessian, a finite
difference of gradients, spectra the reference's shift misreads, and sweeps that shard,
merge and resume like loss surfaces."""

from __future__ import annotations

import functools
import logging

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from landscape import data
from landscape.checkpoint import save_checkpoint
from landscape.cli import main
from landscape.configs import EigenSettings
from landscape.directions import random_directions, write_directions
from landscape.grid import Grid, Shard
from landscape.hessian import (
    HessianOperator, extreme_eigenvalues, hessian_sweep, lanczos_extremes, start_vector,
    weight_beyond, weight_threshold,
)
from landscape.models import get_model
from landscape.surface import partial_path
from landscape.surface_file import merge_surfaces, read_surface

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_model() -> nn.Module:
    """float64, eval-mode BatchNorm with non-trivial statistics, a smooth non-linearity."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 3, 3, stride=8), nn.BatchNorm2d(3), nn.Tanh(),
                          nn.Flatten(), nn.Linear(3 * 4 * 4, 10)).double()
    model[1].running_mean.uniform_(-0.1, 0.1)
    model[1].running_var.uniform_(0.5, 1.5)
    return model.eval()


@pytest.fixture(scope="module")
def images() -> data.ImageSet:
    gen = torch.Generator().manual_seed(0)
    return data.ImageSet(torch.randint(0, 256, (20, 3, 32, 32), generator=gen, dtype=torch.uint8),
                         torch.randint(0, 10, (20,), generator=gen))


def mean_loss(model: nn.Module, images: data.ImageSet, names: list[str], flat: tuple) -> torch.Tensor:
    """The mean cross-entropy over all images, as a function of the named parameters."""
    tensors = {**dict(model.named_parameters()), **dict(model.named_buffers()),
               **dict(zip(names, flat))}
    inputs = data.model_inputs(images.images, torch.float64)
    return F.cross_entropy(torch.func.functional_call(model, tensors, (inputs,)), images.labels)


def explicit_hessian(model: nn.Module, images: data.ImageSet, names: list[str]) -> torch.Tensor:
    params = dict(model.named_parameters())
    blocks = torch.autograd.functional.hessian(
        lambda *flat: mean_loss(model, images, names, flat),
        tuple(params[n].detach() for n in names), vectorize=True)
    sizes = [params[n].numel() for n in names]
    return torch.cat([torch.cat([blocks[i][j].reshape(sizes[i], sizes[j])
                                 for j in range(len(names))], 1) for i in range(len(names))], 0)


@pytest.mark.parametrize("params", ["matrices", "all"])
def test_products_and_eigenvalues_equal_the_explicit_hessian(images, params):
    model = tiny_model()
    op = HessianOperator(model, images, params=params, batch_size=7)  # 3 uneven batches
    expected_names = [n for n, p in model.named_parameters() if params == "all" or p.dim() >= 2]
    assert op.names == expected_names
    hessian = explicit_hessian(model, images, op.names)
    assert hessian.shape == (op.size, op.size)
    v = torch.randn(op.size, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(op(v), hessian @ v, rtol=1e-10, atol=1e-12)
    assert op.loss == pytest.approx(mean_loss(model, images, [], ()).item(), rel=1e-12)

    spectrum = torch.linalg.eigvalsh(hessian)
    radius = spectrum.abs().max().item()
    assert spectrum[0] < 0 < spectrum[-1]  # an indefinite Hessian: both ends matter
    tol = 1e-2
    found = extreme_eigenvalues(model, images, EigenSettings(params=params, tol=tol,
                                                             max_iter=300))
    assert found.converged and found.iterations < op.size
    assert abs(found.max - spectrum[-1].item()) <= tol * radius
    assert abs(found.min - spectrum[0].item()) <= tol * radius
    tight = extreme_eigenvalues(model, images, EigenSettings(params=params, tol=1e-8,
                                                             max_iter=400))
    assert tight.max == pytest.approx(spectrum[-1].item(), rel=1e-9)
    assert tight.min == pytest.approx(spectrum[0].item(), rel=1e-9)


def test_products_leave_the_model_alone_and_see_its_moves(images):
    model = tiny_model()
    for p in model.parameters():
        p.requires_grad_(False)  # a frozen model: its flags must stay as they are
    op = HessianOperator(model, images, batch_size=7)
    v = torch.randn(op.size, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    before = op(v)
    assert not any(p.requires_grad for p in model.parameters())
    with torch.no_grad():
        model[0].weight.mul_(2.0)  # an in-place move, as a sweep makes
    expected = explicit_hessian(model, images, op.names) @ v
    torch.testing.assert_close(op(v), expected, rtol=1e-10, atol=1e-12)
    assert not torch.allclose(before, expected)


def test_product_equals_a_finite_difference_of_gradients(images):
    model = tiny_model()
    op = HessianOperator(model, images)
    v = torch.randn(op.size, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    params = dict(model.named_parameters())
    theta = [params[n].detach() for n in op.names]
    pieces = op._shaped(v)

    def gradient(step: float) -> torch.Tensor:
        moved = tuple((t + step * d).requires_grad_() for t, d in zip(theta, pieces))
        grads = torch.autograd.grad(mean_loss(model, images, op.names, moved), moved)
        return torch.cat([g.reshape(-1) for g in grads])

    eps = 1e-5
    difference = (gradient(eps) - gradient(-eps)) / (2 * eps)  # error O(eps^2)
    torch.testing.assert_close(op(v), difference, rtol=1e-6, atol=1e-8)


def diagonal(values: np.ndarray):
    """A symmetric operator with a known spectrum (a rotation would change nothing for Lanczos)."""
    d = torch.as_tensor(values, dtype=torch.float64)
    return lambda v: d * v


@pytest.mark.parametrize("spectrum", [
    np.linspace(1.0, 10.0, 200),  # positive definite: the reference's 0.51 shift returns 10
    np.linspace(-10.0, 2.0, 200),  # the largest magnitude is negative
    np.concatenate([[-0.05], np.linspace(0.0, 10.0, 199)]),  # a small negative end
])
def test_both_ends_without_a_guessed_shift(spectrum):
    start = start_vector(spectrum.size, 0, torch.device("cpu"), torch.float64)
    found = lanczos_extremes(diagonal(spectrum), start, tol=1e-3, max_iter=200)
    radius = np.abs(spectrum).max()
    assert abs(found.max - spectrum.max()) <= 1e-3 * radius
    assert abs(found.min - spectrum.min()) <= 1e-3 * radius
    # What the reference's shift finds for the smallest: the largest magnitude of H - 0.51 lmax
    # (eigsh which='LM'), shifted back; it misses the first spectrum's end completely.
    largest = spectrum[np.abs(spectrum).argmax()]
    shifted = spectrum - 0.51 * largest
    if spectrum.min() > 0:
        assert shifted[np.abs(shifted).argmax()] + 0.51 * largest == spectrum.max()


@functools.cache
def hessian_like(seed: int, dense: int = 200, bulk: int = 100_000):
    """A symmetric operator with a Hessian's spectrum, in 10^5 dimensions: an explicit dense
    ``dense`` x ``dense`` block holding one isolated negative eigenvalue, five large positive
    outliers and part of the bulk, beside ``bulk`` more bulk eigenvalues near zero (a
    diagonal block). A random start gives the negative eigenvector the share it has in
    10^5 dimensions. Returns (matvec, its eigenvalues, start)."""
    rng = np.random.default_rng(seed)
    spectrum = np.concatenate([[-rng.uniform(1, 15)], rng.uniform(20, 100, 5),
                               rng.uniform(-0.5, 3, 50), rng.normal(0, 0.05, dense - 56)])
    rotation, _ = torch.linalg.qr(torch.as_tensor(rng.normal(size=(dense, dense))))
    block = (rotation * torch.as_tensor(spectrum)) @ rotation.T
    block = (block + block.T) / 2
    diagonal = torch.as_tensor(rng.normal(0, 0.05, bulk))

    def matvec(v: torch.Tensor) -> torch.Tensor:
        return torch.cat([block @ v[:dense], diagonal * v[dense:]])

    start = start_vector(dense + bulk, seed, torch.device("cpu"), torch.float64)
    return matvec, np.concatenate([spectrum, diagonal.numpy()]), start


def residual_rule(matvec, start: torch.Tensor, tol: float) -> tuple[float, float]:
    """The former stopping rule, for contrast: stop when both Ritz residuals ``beta_k |s_k|``
    are below ``tol`` times the largest Ritz magnitude (full reorthogonalization)."""
    basis, alphas, betas, q = [], [], [], start
    while True:
        basis.append(q)
        w = matvec(q)
        alphas.append(float(w @ q))
        w = w - alphas[-1] * q - (betas[-1] * basis[-2] if betas else 0)
        stacked = torch.stack(basis)
        for _ in range(2):
            w = w - stacked.T @ (stacked @ w)
        beta = float(w.norm())
        ritz, vectors = np.linalg.eigh(np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1))
        residual = beta * np.abs(vectors[-1])
        if max(residual[0], residual[-1]) <= tol * np.abs(ritz).max():
            return ritz[0], ritz[-1]
        betas.append(beta)
        q = w / beta


@pytest.mark.parametrize("tol", [1e-1, 1e-2])
def test_extremes_of_hessian_like_spectra_are_within_tol_or_nan(tol):
    """Over many seeds, no end is confidently wrong: each is within tol x spectral radius of
    the true extreme (or NaN); the former residual rule misses lambda_min on these."""
    wrong_before, nan = 0, 0
    for seed in range(30):
        matvec, spectrum, start = hessian_like(seed)
        found = lanczos_extremes(matvec, start, tol=tol, max_iter=80)
        radius = np.abs(spectrum).max()
        for got, true in ((found.min, spectrum.min()), (found.max, spectrum.max())):
            if np.isnan(got):
                nan += 1
            else:
                assert abs(got - true) <= tol * radius, (seed, got, true)
        wrong_before += abs(residual_rule(matvec, start, tol)[0] - spectrum.min()) > tol * radius
    assert nan == 0  # a spectrum this clear must be found, not given up on
    assert wrong_before >= 5  # the family is hard: the former rule was confidently wrong


def test_weight_beyond_bounds_the_true_weight():
    """The Christoffel bound is never below the start vector's actual weight beyond an edge."""
    rng = np.random.default_rng(3)
    spectrum = np.concatenate([rng.normal(0, 1, 200), [-6.0, 9.0]])
    start = rng.normal(size=spectrum.size)
    start /= np.linalg.norm(start)
    q, previous, alphas, betas = start, np.zeros_like(start), [], []
    for _ in range(12):
        w = spectrum * q - (betas[-1] * previous if betas else 0)
        alphas.append(w @ q)
        w = w - alphas[-1] * q
        previous, q = q, w / np.linalg.norm(w)
        betas.append(np.linalg.norm(w))
        ritz = np.linalg.eigvalsh(np.diag(alphas) + np.diag(betas[:-1], 1)
                                  + np.diag(betas[:-1], -1))
        for edge in np.linspace(ritz[0] - 4, ritz[0] - 1e-3, 7):
            true = (start[spectrum <= edge] ** 2).sum()
            assert weight_beyond(alphas, betas, edge) >= true * (1 - 1e-9)
        for edge in np.linspace(ritz[-1] + 1e-3, ritz[-1] + 4, 7):
            true = (start[spectrum >= edge] ** 2).sum()
            assert weight_beyond(alphas, betas, edge) >= true * (1 - 1e-9)


@pytest.mark.parametrize("n", [2, 3, 50, 10_000, 10**7])
def test_weight_threshold_is_a_safe_beta_quantile(n):
    from scipy.stats import beta

    for miss in (0.05, 5e-4):
        c = weight_threshold(n, miss)
        assert beta.cdf(c, 0.5, (n - 1) / 2) <= miss
        assert beta.cdf(c, 0.5, (n - 1) / 2) >= 0.5 * miss  # and not needlessly small


@pytest.mark.parametrize("tol", [1e-1, 1e-2])
def test_small_network_extremes_within_tol_or_nan(images, tol):
    model = tiny_model()
    op = HessianOperator(model, images)
    spectrum = torch.linalg.eigvalsh(explicit_hessian(model, images, op.names))
    radius = spectrum.abs().max().item()
    for seed in range(10):
        found = extreme_eigenvalues(model, images, EigenSettings(tol=tol, seed=seed))
        for got, true in ((found.max, spectrum[-1].item()), (found.min, spectrum[0].item())):
            assert np.isnan(got) or abs(got - true) <= tol * radius


@pytest.mark.parametrize("tol", [0.0, 1.0, 1.5])
def test_tol_outside_zero_one_is_refused(tol, capsys):
    with pytest.raises(Exception, match=r"tol must be in \(0, 1\)"):
        EigenSettings(tol=tol).validate_eigen()
    with pytest.raises(SystemExit):
        main(["hessian", "--checkpoint", "c.pt", "--directions", "d.h5", "--x=-1:1:3",
              "--out", "h.h5", "--tol", str(tol)])
    assert "argument --tol: must be in (0, 1)" in capsys.readouterr().err


def test_not_converged_ends_are_nan_with_a_warning(images, caplog):
    model = tiny_model()
    dirs = random_directions(model, axes=1, seed=0)
    settings = EigenSettings(max_iter=3)
    with caplog.at_level(logging.WARNING):
        result = hessian_sweep(model, dirs, Grid.parse("0:1:2"), images, settings=settings,
                               progress=False)
    values = result.surface.values
    assert np.isnan(values["max_eig"]).all() and np.isnan(values["min_eig"]).all()
    assert (values["hvp_count"] == 3).all() and np.isfinite(values["train_loss"]).all()
    assert "could not vouch for both ends to tol 0.01 within 3 products" in caplog.text
    assert "4 eigenvalues" in caplog.text and "did not converge" in caplog.text


def test_an_exhausted_krylov_space_is_exact():
    spectrum = np.array([3.0, -1.0, 0.5])
    start = start_vector(3, 0, torch.device("cpu"), torch.float64)
    found = lanczos_extremes(diagonal(spectrum), start, tol=1e-12, max_iter=10)
    assert found.iterations == 3
    assert found.max == pytest.approx(3.0, rel=1e-12) and found.min == pytest.approx(-1.0, rel=1e-12)


# ---------------------------------------------------------------------------------- sweeps


class Killed(Exception):
    pass


SETTINGS = EigenSettings(tol=1e-2, max_iter=200)


def test_sweep_values_shards_merge_and_resume(images, tmp_path):
    model = tiny_model()
    dirs = random_directions(model, seed=1)
    grid = Grid.parse("-1:1:2", "0:1:2")
    one = hessian_sweep(model, dirs, grid, images, tmp_path / "one.h5", settings=SETTINGS,
                        progress=False)
    surface = read_surface(one.path)
    assert sorted(surface.values) == ["hvp_count", "max_eig", "min_eig", "train_acc",
                                      "train_loss"]
    # point (i, j) = (1, 1): theta + 1 dx + 1 dy, against the explicit Hessian there
    moved = tiny_model()
    with torch.no_grad():
        for p, dx, dy in zip(moved.parameters(), dirs.x, dirs.y):
            p.add_(dx.double() + dy.double())
    spectrum = torch.linalg.eigvalsh(explicit_hessian(
        moved, images, [n for n, p in moved.named_parameters() if p.dim() >= 2]))
    radius = spectrum.abs().max().item()
    assert abs(surface.values["max_eig"][1, 1] - spectrum[-1].item()) <= 1e-2 * radius
    assert abs(surface.values["min_eig"][1, 1] - spectrum[0].item()) <= 1e-2 * radius
    assert surface.values["train_loss"][1, 1] == pytest.approx(
        mean_loss(moved, images, [], ()).item(), rel=1e-12)
    np.testing.assert_array_equal(surface.get("eig_ratio"),
                                  np.abs(surface.values["min_eig"] / surface.values["max_eig"]))

    shards = [hessian_sweep(model, dirs, grid, images, tmp_path / f"s{i}.h5", settings=SETTINGS,
                            shard=Shard(i, 2), progress=False).path for i in range(2)]
    merged = read_surface(merge_surfaces(shards, tmp_path / "merged.h5"))
    for name in surface.values:
        np.testing.assert_array_equal(merged.values[name], surface.values[name])

    products = {"n": 0}
    op_call = HessianOperator.__call__

    def counting(self, v):
        products["n"] += 1
        return op_call(self, v)

    def kill_after_2(done, total):
        if done == 2:
            raise Killed

    out = tmp_path / "resumed.h5"
    with pytest.raises(Killed):
        hessian_sweep(model, dirs, grid, images, out, settings=SETTINGS, progress=False,
                      flush_seconds=1e9, on_point=kill_after_2)
    assert not out.exists() and read_surface(partial_path(out)).computed.sum() == 2
    HessianOperator.__call__ = counting
    try:
        result = hessian_sweep(model, dirs, grid, images, out, settings=SETTINGS, progress=False)
    finally:
        HessianOperator.__call__ = op_call
    assert result.computed_now == 2
    assert products["n"] == surface.values["hvp_count"].flat[2:].sum()  # only the missing points
    resumed = read_surface(out)
    for name in surface.values:
        np.testing.assert_array_equal(resumed.values[name], surface.values[name])


# --------------------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("hessian")
    model = get_model("resnet20", seed=0)
    ckpt = root / "model.pt"
    save_checkpoint(ckpt, {"state_dict": model.state_dict(), "arch": "resnet20"})
    return ckpt, write_directions(root / "dirs.h5", random_directions(model, seed=0))


def test_cli_hessian_writes_a_surface_file(files, data_dir, tmp_path, capsys):
    ckpt, dirs = files
    out = tmp_path / "h.h5"
    args = ["hessian", "--checkpoint", ckpt, "--directions", dirs, "--x=0.5:0.5:1",
            "--dataset", "synthetic", "--data-dir", data_dir, "--subset", "2", "--tol", "0.5",
            "--max-iter", "3", "--batch-size", "1", "--device", "cpu", "--no-progress",
            "--out", out]
    assert main([str(a) for a in args]) == 0
    assert f"wrote {out} (1 points, 1 computed now" in capsys.readouterr().out
    surface = read_surface(out)
    assert surface.attrs["hessian_params"] == "matrices" and surface.attrs["hessian_tol"] == 0.5
    assert surface.attrs["hessian_size"] == sum(
        p.numel() for p in get_model("resnet20").parameters() if p.dim() >= 2)
    assert surface.values["hvp_count"].max() <= 3 and np.isfinite(surface.values["train_loss"]).all()


@pytest.mark.parametrize("extra, message", [
    (["--tol", "0"], "--tol: must be in (0, 1)"),
    (["--max-iter", "1"], "max_iter must be >= 2, got 1"),
    (["--params", "biases"], "argument --params: invalid choice"),
    (["--subset", "100000"], "subset 100000 is larger than the 10000 images"),
])
def test_cli_hessian_bad_input(files, data_dir, tmp_path, cli_error, capsys, extra, message):
    ckpt, dirs = files
    argv = ["hessian", "--checkpoint", ckpt, "--directions", dirs, "--x=-1:1:2",
            "--dataset", "synthetic", "--data-dir", data_dir, "--device", "cpu",
            "--out", tmp_path / "h.h5", *extra]
    if "invalid choice" in message or "must be in (0, 1)" in message:  # argparse's own check
        with pytest.raises(SystemExit) as exit_info:
            main([str(a) for a in argv])
        assert exit_info.value.code == 2 and message in capsys.readouterr().err
    else:
        assert message in cli_error(*argv)
    assert not (tmp_path / "h.h5").exists()


def test_cli_hessian_refuses_a_partial_of_other_settings_before_loading_data(
        files, tmp_path, cli_error):
    ckpt, dirs = files
    out = tmp_path / "h.h5"
    model = get_model("resnet20", seed=0)
    images = data.ImageSet(torch.zeros((2, 3, 32, 32), dtype=torch.uint8),
                           torch.zeros(2, dtype=torch.int64))
    with pytest.raises(Killed):
        hessian_sweep(model, random_directions(model, axes=1, seed=0), Grid.parse("-1:1:2"),
                      images, out, settings=EigenSettings(max_iter=2), progress=False,
                      on_point=lambda done, total: (_ for _ in ()).throw(Killed()))
    message = cli_error("hessian", "--checkpoint", ckpt, "--directions", dirs, "--x=-1:1:2",
                        "--dataset", "synthetic", "--data-dir", tmp_path / "no-data",
                        "--device", "cpu", "--out", out)
    assert "h.h5.partial holds progress of a sweep with other settings" in message
    assert not (tmp_path / "no-data").exists()  # refused before the data set was touched


# ------------------------------------------------------------------------- Fig. 7, options


def write_h5(path, x, y, **quantities):
    import h5py

    with h5py.File(path, "w") as f:
        f["xcoordinates"], f["ycoordinates"] = x, y
        for name, values in quantities.items():
            f[name] = values
        f["dir_file"] = "d.h5"
        f.attrs["landscape_version"] = "test"
        f.attrs["model"] = "resnet56"
    return path


def test_fig7_ratio_map_beside_the_loss_contour(tmp_path):
    from matplotlib.collections import QuadMesh

    from landscape.plots.curvature import CurvatureOptions, curvature_figure, plot_curvature
    from landscape.plots.output import plot_style

    x, y = np.linspace(-1, 1, 5), np.linspace(-1, 1, 4)
    xx, yy = np.meshgrid(x, y)
    max_eig, min_eig = 10 + xx, -np.abs(xx * yy) * 4
    min_eig[0, 0] = np.nan  # not converged there: grey
    hess = write_h5(tmp_path / "h.h5", x, y, max_eig=max_eig, min_eig=min_eig,
                    train_loss=1 + xx**2 + yy**2)
    loss = write_h5(tmp_path / "l.h5", x, y, train_loss=2 + xx**2 + yy**2)
    with plot_style():
        fig = curvature_figure([read_surface(hess)] * 2, [read_surface(loss)] * 2, ["a", "b"],
                               curvature=CurvatureOptions(ratio_max=0.25))
    maps = [ax for ax in fig.axes if ax.get_title() in ("a", "b")]
    contours = [ax for ax in fig.axes if ax.get_title().endswith("train_loss")]
    assert len(maps) == 2 and len(contours) == 2
    assert [ax.get_subplotspec().get_geometry()[:3] for ax in maps + contours] == [
        (2, 2, 0), (2, 2, 1), (2, 2, 2), (2, 2, 3)]  # maps on top, contours below
    mesh = next(c for c in maps[0].collections if isinstance(c, QuadMesh))
    np.testing.assert_array_equal(mesh.get_array().filled(np.nan), np.abs(min_eig / max_eig))
    assert (mesh.norm.vmin, mesh.norm.vmax) == (0.0, 0.25)
    assert len(contours[0].collections) > 0
    # each map lies above the same extent of the loss (the map's cells reached half a step
    # beyond the contour's grid, so the two panels did not line up)
    for top, bottom in zip(maps, contours):
        assert top.get_xlim() == bottom.get_xlim() == (-1.25, 1.25)
        assert top.get_ylim() == bottom.get_ylim() == pytest.approx((-4 / 3, 4 / 3))

    written = plot_curvature([hess], tmp_path / "fig7", losses=[loss], formats=["png"], dpi=40)
    again = plot_curvature([hess], tmp_path / "again", losses=[loss], formats=["png"], dpi=40)
    assert written[0].read_bytes() == again[0].read_bytes()
    assert main(["curvature", "--surfaces", str(hess), "--out-prefix", str(tmp_path / "own"),
                 "--formats", "png", "--dpi", "40"]) == 0  # the Hessian file's own loss
    assert (tmp_path / "own.png").exists()


def test_fig7_bad_input(tmp_path, cli_error):
    x, y = np.linspace(-1, 1, 5), np.linspace(-1, 1, 4)
    ones = np.ones((4, 5))
    hess = write_h5(tmp_path / "h.h5", x, y, max_eig=ones, min_eig=-ones, train_loss=ones)
    other = write_h5(tmp_path / "o.h5", x, np.linspace(-1, 1, 3), train_loss=np.ones((3, 5)))
    loss_only = write_h5(tmp_path / "l.h5", x, y, train_loss=ones)
    out = ["--out-prefix", tmp_path / "f"]
    assert "Fig. 7 draws both on one grid" in cli_error(
        "curvature", "--surfaces", hess, "--loss-surfaces", other, *out)
    assert "has no dataset 'eig_ratio'" in cli_error("curvature", "--surfaces", loss_only, *out)
    assert "2 models for 1 Hessian surfaces" in cli_error(
        "curvature", "--surfaces", hess, "--models", "a", "b", *out)
    assert not list(tmp_path.glob("f.*"))


@pytest.mark.parametrize("command, required", [
    ("hessian", ["--checkpoint", "c", "--directions", "d", "--x=-1:1:3", "--out", "o"]),
    ("vtp", ["--surface", "s.h5", "--out", "o.vtp"]),
    ("curvature", ["--surfaces", "h.h5", "--out-prefix", "p"]),
])
def test_new_commands_show_the_dataclass_defaults(command, required):
    import argparse
    import dataclasses

    from landscape.cli import build_parser
    from landscape.configs import HessianConfig, VtpConfig
    from landscape.plots.curvature import CurvatureOptions

    parser = build_parser()
    args = parser.parse_args([command, *required])
    cls = {"hessian": HessianConfig, "vtp": VtpConfig, "curvature": CurvatureOptions}[command]
    for field in dataclasses.fields(cls):
        if field.default is not dataclasses.MISSING:
            assert getattr(args, field.name) == field.default, field.name
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for action in sub.choices[command]._actions:
        if action.required or action.dest == "help" or not action.option_strings:
            continue
        assert action.help and "(default: " in action.help, action.dest


def test_bench_hessian_mode_runs_both_approaches(tmp_path, data_dir, capsys):
    import json

    out = tmp_path / "bench.json"
    assert main(["bench", "--mode", "hessian", "--model", "resnet20", "--images", "8",
                 "--points", "1", "--tol", "0.1", "--workers", "0", "--device", "cpu",
                 "--data", "synthetic", "--data-dir", str(data_dir), "--out", str(out),
                 "--tight", "1e-6"]) == 0
    printed = capsys.readouterr().out
    assert "reference" in printed and "speedup" in printed and "lambda_max" in printed
    assert "ours against ARPACK at tol 1e-06" in printed
    result = json.loads(out.read_text())
    assert result["mode"] == "hessian" and result["reference_scale"] == 1  # one batch: the mean
    assert result["hessian_size"] == sum(
        p.numel() for p in get_model("resnet20").parameters() if p.dim() >= 2)
    (ours_max, ours_min), = result["ours_values"]
    (ref_max, _), = result["reference_values"]
    radius = max(abs(ours_max), abs(ours_min))
    assert abs(ours_max - ref_max) <= 0.1 * radius  # the same operator, to the tolerance
    assert result["ours_products"][0] <= 100 and result["reference_products"][0] > 0
    assert result["speedup"] > 0
    (arpack_max, arpack_min), = result["arpack_values"]
    assert abs(ours_max - arpack_max) <= 0.1 * radius and abs(ours_min - arpack_min) <= 0.1 * radius
    assert result["ours_arpack_error"]["max"][0] <= 0.1
    assert result["ours_arpack_error"]["min"][0] <= 0.1


def test_bench_hessian_mode_refuses_compile(cli_error, tmp_path):
    message = cli_error("bench", "--mode", "hessian", "--model", "resnet20", "--compile",
                        "--device", "cpu", "--out", tmp_path / "b.json")
    assert "compile: --mode hessian has nothing to compile" in message
    assert not (tmp_path / "b.json").exists()
