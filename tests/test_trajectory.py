"""Optimizer paths: PCA against an explicit SVD, projections against dot products and least
squares, streaming against one block, bad input, the covering grid of a surface, figures."""

from __future__ import annotations

import dataclasses
import io
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg

from landscape.checkpoint import save_checkpoint
from landscape.configs import ProjectConfig, SurfaceConfig, TrainConfig, TrajectoryConfig
from landscape.directions import (
    draw_directions, random_directions, read_directions, target_direction, write_directions,
)
from landscape.errors import LandscapeError
from landscape.h5files import sha256_file
from landscape.models import get_model
from landscape.plots import PlotOptions, panel_figure, plot_style, read_surface, surface_figure
from landscape.plots.figures import plot_surface_file
from landscape.plots.trajectory import path_figure, plot_path_file
from landscape.surface import compute_surface
from landscape.surface_file import Surface, write_surface
from landscape.grid import Grid
from landscape.trajectory_pca import Rows, gather, pca, plan_blocks, project, project_file, trajectory_files
from landscape.trajectory_file import covering_grid, read_trajectory

pytestmark = pytest.mark.usefixtures("one_thread")

ARCH = "resnet20"
EPOCHS = 6
MILESTONES = (3, 5)


def write_run(folder: Path, *, arch: str = ARCH, epochs: int = EPOCHS, seed: int = 0,
              **recipe) -> Path:
    """``epoch_000.pt`` .. ``epoch_<epochs>.pt`` and ``final.pt`` of a made-up run: a curved
    path (two dominant directions plus noise) ending at the final weights."""
    folder.mkdir(parents=True, exist_ok=True)
    final = get_model(arch, seed=0).state_dict()
    gen = torch.Generator().manual_seed(seed)
    floats = [k for k, v in final.items() if v.is_floating_point()]
    a, b, noise = ({k: torch.randn(final[k].shape, generator=gen) for k in floats}
                   for _ in range(3))
    config = TrainConfig(model=arch, epochs=epochs, milestones=MILESTONES, **recipe).as_dict()
    for epoch in range(epochs + 1):
        t = (epochs - epoch) / epochs
        state = dict(final)
        for k in floats:
            jitter = 0.0 if epoch == epochs else 0.05 * (epoch + 1)
            state[k] = final[k] + 2 * t * a[k] + 3 * t * (1 - t) * b[k] + jitter * noise[k]
        payload = {"state_dict": state, "arch": arch, "epoch": epoch, "config": config}
        save_checkpoint(folder / f"epoch_{epoch:03d}.pt", payload)
    shutil.copy(folder / f"epoch_{epochs:03d}.pt", folder / "final.pt")
    return folder


def explicit_rows(files: list[Path], final: Path, names: list[str], zero_1d: bool = True
                  ) -> np.ndarray:
    """The rows ``w_epoch - w_final`` as one float64 matrix, from fully loaded checkpoints."""
    last = torch.load(final, weights_only=True)["state_dict"]
    rows = []
    for path in files:
        state = torch.load(path, weights_only=True)["state_dict"]
        rows.append(np.concatenate([
            np.zeros(last[n].numel()) if zero_1d and last[n].dim() < 2
            else (state[n].double() - last[n].double()).reshape(-1).numpy() for n in names]))
    return np.stack(rows)


def flat(tensors) -> np.ndarray:
    return np.concatenate([t.double().reshape(-1).numpy() for t in tensors])


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return write_run(tmp_path_factory.mktemp("run") / "r20")


@pytest.fixture(scope="module")
def params() -> list[str]:
    return [n for n, _ in get_model(ARCH).named_parameters()]


@pytest.fixture(scope="module")
def files(run) -> list[Path]:
    return sorted(run.glob("epoch_*.pt"))


@pytest.fixture(scope="module")
def traj(run, tmp_path_factory):
    """``landscape trajectory`` on the run: (path file, direction file, PCA result)."""
    out = tmp_path_factory.mktemp("traj")
    cfg = TrajectoryConfig(checkpoints=(str(run),), grid_points=5)
    return trajectory_files(cfg, out / "path.h5", out / "pca.h5")


# --- the method -------------------------------------------------------------------------


def test_pca_directions_equal_the_svd_of_the_explicit_matrix(traj, files, params):
    _, dir_file, result = traj
    rows = explicit_rows(files, files[-1], params)
    centred = rows - rows.mean(axis=0)  # sklearn's PCA, as the reference runs it
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    directions = read_directions(dir_file)
    for axis, v in zip(directions.axes, vt[:2]):
        d = flat(axis)
        sign = np.sign(d @ v)
        np.testing.assert_allclose(d, sign * v, atol=1e-6)  # float32 in the file
        assert abs(np.linalg.norm(d) - 1) < 1e-6
        model = get_model(ARCH)
        assert all(t.abs().sum() == 0 for t, p in zip(axis, model.parameters()) if p.dim() < 2)
    assert abs(flat(directions.x) @ flat(directions.y)) < 1e-6
    ratio = (s**2 / (s**2).sum())[:2]
    np.testing.assert_allclose(result.explained_variance_ratio, ratio, rtol=1e-9)
    np.testing.assert_allclose(directions.attrs["explained_variance_ratio"], ratio, rtol=1e-9)
    np.testing.assert_allclose(result.singular_values, s[:2], rtol=1e-9)
    assert ratio.sum() <= 1 and ratio[0] >= ratio[1] > 0
    assert directions.attrs["dir_type"] == "weights" and directions.attrs["kind"] == "pca"


def test_path_coordinates_are_dot_products_and_the_final_model_is_the_origin(traj, run, files,
                                                                               params):
    path_file, dir_file, _ = traj
    t = read_trajectory(path_file)
    directions = read_directions(dir_file)
    rows = explicit_rows(files, files[-1], params)
    np.testing.assert_allclose(t.x, rows @ flat(directions.x), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(t.y, rows @ flat(directions.y), rtol=1e-6, atol=1e-9)
    assert (t.x[-1], t.y[-1]) == (0.0, 0.0)
    assert t.epochs.tolist() == list(range(EPOCHS + 1))
    assert t.lr_decay_epochs.tolist() == list(MILESTONES)
    assert t.decay_indices() == list(MILESTONES)
    assert t.checkpoints == [str(f) for f in files]
    assert t.checkpoint_sha256 == [sha256_file(f) for f in files]
    assert t.attrs["directions_sha256"] == sha256_file(dir_file)
    assert t.axis_labels() == tuple(f"{k} PC: {100 * r:.2f} %" for k, r in
                                    zip(("1st", "2nd"), t.explained_variance_ratio))
    with h5py.File(path_file) as fh:  # the reference's dataset names
        assert {"proj_xcoord", "proj_ycoord", "epochs", "lr_decay_epochs"} <= set(fh)
    # the covering grid holds the path with at least the margin on every side, 5 x 5 points
    for axis, values in ((t.grid.x, t.x), (t.grid.y, t.y)):
        extent = np.ptp(np.append(values, 0))
        assert axis.num == 5
        assert axis.min <= values.min() - 0.2 * extent and axis.max >= values.max() + 0.2 * extent
        assert axis.max - axis.min < (1 + 2 * 0.2) * extent * 1.2  # rounded, not blown up


def test_streaming_in_tiny_blocks_gives_the_one_block_result(run):
    whole = gather([run])
    one = pca(whole, block_mb=1024)
    tiny_mb = 4000 * 8 * (EPOCHS + 1) / 2**20  # 4,000 weights per block: ~68 blocks
    rows = Rows(whole, range(len(whole.names)), tiny_mb)
    assert len(rows.blocks) > 50 and any(first > 0 for b in rows.blocks for _, first, _ in b)
    tiny = pca(whole, block_mb=tiny_mb)
    np.testing.assert_allclose(tiny.coordinates, one.coordinates, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(tiny.explained_variance_ratio, one.explained_variance_ratio,
                               rtol=1e-12)
    for a, b in zip(tiny.directions.axes, one.directions.axes):
        np.testing.assert_allclose(flat(a), flat(b), atol=1e-7)


def test_blocks_cover_every_weight_once_within_their_size():
    sizes = [5, 1, 12, 3]
    blocks = plan_blocks(sizes, 4)
    assert all(sum(stop - first for _, first, stop in b) <= 4 for b in blocks)
    covered = [(i, k) for b in blocks for i, first, stop in b for k in range(first, stop)]
    assert covered == [(i, k) for i, n in enumerate(sizes) for k in range(n)]


def test_projection_onto_any_directions_is_least_squares(run, files, params, traj, tmp_path):
    model = get_model(ARCH)
    dirs = draw_directions([p.detach() for p in model.parameters()], seed=3, norm="layer",
                           ignore="none")  # 1-D entries move too: the rows keep them
    dirs.attrs["dir_type"] = "weights"
    write_directions(tmp_path / "random.h5", dirs)
    _, t = project_file(ProjectConfig(checkpoints=tuple(map(str, files)),
                                      directions=str(tmp_path / "random.h5")), tmp_path / "p.h5")
    rows = explicit_rows(files, files[-1], params, zero_1d=False)
    basis = np.stack([flat(dirs.x), flat(dirs.y)], axis=1)
    expected = np.linalg.lstsq(basis, rows.T, rcond=None)[0].T
    np.testing.assert_allclose(np.stack([t.x, t.y], 1), expected, rtol=1e-6, atol=1e-12)
    assert t.explained_variance_ratio is None and t.attrs["kind"] == "projection"
    # onto the PCA directions, the least-squares coefficients are the PCA coordinates
    _, dir_file, result = traj
    again = project(gather([run]), read_directions(dir_file))
    np.testing.assert_allclose(again, result.coordinates, rtol=1e-5, atol=1e-6)


def test_projection_onto_state_directions_reads_the_running_statistics(run, files, tmp_path):
    first, last = (get_model(ARCH) for _ in range(2))
    first.load_state_dict(torch.load(files[0], weights_only=True)["state_dict"])
    last.load_state_dict(torch.load(files[-1], weights_only=True)["state_dict"])
    dirs = target_direction(last, first, "states")  # x: the path's first row itself
    dirs.y = [torch.where(torch.arange(t.numel()).reshape(t.shape) % 2 == 0, 1.0, 0.0)
              if t.is_floating_point() else torch.zeros(t.shape) for t in last.state_dict().values()]
    coords = project(gather([run]), dirs)
    assert coords[0, 0] == pytest.approx(1.0, abs=1e-6) and coords[-1].tolist() == [0.0, 0.0]


def test_reference_checkpoints_in_torchs_legacy_format_give_the_same_path(files, traj, tmp_path):
    for path in files:  # as the reference saves them: model_<epoch>.t7, a bare state_dict
        payload = torch.load(path, weights_only=True)
        torch.save({"state_dict": payload["state_dict"]}, tmp_path / f"model_{payload['epoch']}.t7",
                   _use_new_zipfile_serialization=False)
    legacy = sorted(tmp_path.glob("model_*.t7"))
    with pytest.raises(LandscapeError, match="does not record its architecture; pass --arch"):
        gather(legacy)
    run = gather(legacy, arch=ARCH)
    assert run.epochs.tolist() == list(range(EPOCHS + 1)) and run.lr_decay_epochs.size == 0
    np.testing.assert_allclose(pca(run).coordinates, traj[2].coordinates, rtol=1e-9, atol=1e-9)


# --- bad input ---------------------------------------------------------------------------


def test_bad_paths_are_refused_in_one_line(run, tmp_path, cli_error):
    out = ["--out", tmp_path / "p.h5", "--out-directions", tmp_path / "d.h5"]
    (tmp_path / "empty").mkdir()
    assert "holds no epoch_*.pt" in cli_error("trajectory", "--checkpoints", tmp_path / "empty", *out)
    assert "does not exist" in cli_error("trajectory", "--checkpoints", tmp_path / "nope.pt", *out)

    other = write_run(tmp_path / "noshort", arch="resnet20_noshort", epochs=2)
    mixed = [run / "epoch_000.pt", run / "epoch_001.pt", other / "epoch_002.pt"]
    err = cli_error("trajectory", "--checkpoints", *mixed, "--final", run / "final.pt", *out)
    assert "holds a resnet20_noshort, not a resnet20" in err
    payload = torch.load(other / "epoch_002.pt", weights_only=True)
    del payload["arch"], payload["config"]  # a bare file: only its tensors tell
    save_checkpoint(tmp_path / "anonymous.pt", payload)
    err = cli_error("trajectory", "--checkpoints", run / "epoch_000.pt", run / "epoch_001.pt",
                    tmp_path / "anonymous.pt", "--final", run / "final.pt", *out)
    assert "anonymous.pt does not fit resnet20" in err

    large = write_run(tmp_path / "large", epochs=EPOCHS, batch_size=8192)
    err = cli_error("trajectory", "--checkpoints", run / "epoch_000.pt", large / "epoch_001.pt",
                    "--final", run / "final.pt", *out)
    assert "comes from another run" in err and "batch_size" in err
    err = cli_error("trajectory", "--checkpoints", run, large / "epoch_001.pt", *out)
    assert "both record epoch 1" in err
    err = cli_error("trajectory", "--checkpoints", run / "epoch_005.pt", run / "epoch_006.pt", *out)
    assert "fewer than two dimensions" in err
    err = cli_error("trajectory", "--checkpoints", run, "--out", run / "epoch_001.pt",
                    "--out-directions", tmp_path / "d.h5")
    assert "would overwrite an input" in err
    with pytest.raises(LandscapeError, match="margin must be >= 0"):
        TrajectoryConfig(checkpoints=(str(run),), margin=-1.0).validate()
    assert not (tmp_path / "p.h5").exists() and not (tmp_path / "d.h5").exists()

    one = write_directions(tmp_path / "one.h5", random_directions(get_model(ARCH), axes=1))
    err = cli_error("project", "--checkpoints", run, "--directions", one, "--out", tmp_path / "p.h5")
    assert "holds one direction" in err
    dirs = random_directions(get_model(ARCH), seed=1)
    dirs.y = dirs.x
    write_directions(tmp_path / "parallel.h5", dirs)
    err = cli_error("project", "--checkpoints", run, "--directions", tmp_path / "parallel.h5",
                    "--out", tmp_path / "p.h5")
    assert "are parallel" in err
    wrong = write_directions(tmp_path / "wrong.h5",
                             random_directions(get_model("resnet20_noshort"), seed=1))
    err = cli_error("project", "--checkpoints", run, "--directions", wrong, "--out", tmp_path / "p.h5")
    assert "made for another model" in err


# --- the surface on the path's grid ------------------------------------------------------


def test_surface_takes_its_grid_from_the_trajectory_file(traj, run, data_dir, tmp_path):
    path_file, dir_file, _ = traj
    cfg = SurfaceConfig(grid_from=str(path_file), checkpoint=str(run / "final.pt"),
                        directions=str(dir_file), dataset="synthetic", data_dir=str(data_dir),
                        subset=8, device="cpu")
    result = compute_surface(cfg, tmp_path / "s.h5", progress=False)
    s = read_surface(result.path)
    assert s.grid == read_trajectory(path_file).grid and s.grid.x.num == 5
    assert s.attrs["grid_from"] == str(path_file)
    assert np.isfinite(s.loss).all()
    # the same grid by hand gives the same numbers
    by_hand = compute_surface(dataclasses.replace(cfg, grid_from=None, x=s.grid.x.spec,
                                                  y=s.grid.y.spec), tmp_path / "h.h5")
    np.testing.assert_array_equal(read_surface(by_hand.path).loss, s.loss)
    assert "grid_from" not in read_surface(by_hand.path).attrs

    for changes, message in [
        ({"grid_from": None}, "give exactly one of --x"),
        ({"x": "-1:1:3"}, "give exactly one of --x"),
        ({"y": "-1:1:3"}, "--y does not apply with --grid-from"),
        ({"grid_from": str(dir_file)}, "stores no grid"),
    ]:
        with pytest.raises(LandscapeError, match=message):
            dataclasses.replace(cfg, **changes).validate()
    other = write_directions(tmp_path / "random.h5", random_directions(get_model(ARCH)))
    with pytest.raises(LandscapeError, match="projected onto other directions"):
        compute_surface(dataclasses.replace(cfg, directions=str(other)), tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()


# --- figures -----------------------------------------------------------------------------


def render(fig) -> np.ndarray:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].astype(int)


def hue(rgb: np.ndarray, channel: int) -> int:
    """Pixels where ``channel`` (0 red, 2 blue) clearly dominates: the path, the decay marks."""
    others = np.delete(rgb, channel, axis=-1).max(axis=-1)
    return int((rgb[..., channel] - others > 40).sum())


@pytest.fixture(scope="module")
def bowl(traj, tmp_path_factory) -> Path:
    """A 2-D surface on the path's directions and grid (made up: a bowl around the final model)."""
    path_file, dir_file, _ = traj
    grid = read_trajectory(path_file).grid
    s = Surface.empty(grid, ["train"], attrs={"directions_sha256": sha256_file(dir_file),
                                              "landscape_version": "test"})
    xx, yy = np.meshgrid(s.x, s.y)
    s.values["train_loss"] = 0.2 + (xx / np.ptp(s.x)) ** 2 + 3 * (yy / np.ptp(s.y)) ** 2
    s.values["train_acc"] = 100 - 10 * s.values["train_loss"]
    s.computed[:] = True
    return write_surface(tmp_path_factory.mktemp("bowl") / "bowl.h5", s, keep_mask=False)


def test_path_figure_draws_contours_path_and_decays_with_pca_labels(traj, bowl):
    path_file, _, _ = traj
    t, s = read_trajectory(path_file), read_surface(bowl)
    with plot_style():
        fig = path_figure(t, s, opts=PlotOptions(vmin=0.2, vmax=4, vlevel=0.2))
        ax = fig.axes[0]
        assert ax.get_xlabel().startswith("1st PC: ") and ax.get_ylabel().endswith(" %")
        assert ax.get_xlim() == (s.grid.x.min, s.grid.x.max)
        lines = {line.get_label(): line for line in ax.get_lines()}
        np.testing.assert_array_equal(lines["epochs 0-6"].get_xdata(), t.x)
        np.testing.assert_array_equal(lines["lr decay"].get_xdata(), t.x[list(MILESTONES)])
        assert [x.get_text() for x in ax.texts if x.get_text().startswith("epoch")] == [
            "epoch 3", "epoch 5"]
        full = render(fig)
        for line in ax.get_lines():
            line.remove()
        bare = render(fig)
    assert hue(full, 2) > hue(bare, 2) + 200  # the blue path
    assert hue(full, 0) > hue(bare, 0) + 50  # the red decay marks
    assert ax.collections  # the contour lines


@pytest.mark.parametrize("change, says", [
    # the paper's levels (0.1 to 10 every 0.5) miss a barely trained network's loss of 2.30
    (lambda z: 2.30 + 0.001 * z, "no contour level between the surface's lowest train_loss"),
    (lambda z: 0 * z + 2.3, "the surface is constant (train_loss = 2.3)"),
    (lambda z: np.where(np.arange(z.size).reshape(z.shape) % 2 == 0, np.nan, z),
     "too few finite points"),
])
def test_path_figure_says_why_it_has_no_contours(traj, bowl, tmp_path, caplog, change, says):
    path_file, _, _ = traj
    t, s = read_trajectory(path_file), read_surface(bowl)
    s.values["train_loss"] = change(s.values["train_loss"])
    with plot_style(), caplog.at_level("WARNING"):
        fig = path_figure(t, s)
    notes = [x.get_text().replace("\n", " ") for x in fig.axes[0].texts
             if x.get_text().startswith("No contours")]
    assert len(notes) == 1 and says in notes[0], notes
    assert any(says in r.getMessage() for r in caplog.records)
    with plot_style():  # a surface with contours has no note
        drawn = path_figure(t, read_surface(bowl), opts=PlotOptions(vmin=0.2, vmax=4, vlevel=0.2))
    assert not [x for x in drawn.axes[0].texts if x.get_text().startswith("No contours")]


def test_path_figures_are_written_byte_identical(traj, bowl, tmp_path):
    path_file, _, _ = traj
    for surface, name in ((bowl, "over"), (None, "alone")):
        first = plot_path_file(path_file, tmp_path / name, surface=surface, formats=["png", "pdf"],
                               dpi=60)
        blobs = [p.read_bytes() for p in first]
        again = plot_path_file(path_file, tmp_path / name, surface=surface,
                               formats=["png", "pdf"], dpi=60)
        assert [p.read_bytes() for p in again] == blobs
        assert blobs[0].startswith(b"\x89PNG") and blobs[1].startswith(b"%PDF")


def test_path_figure_cli_and_refusals(traj, bowl, run, tmp_path, capsys, cli_error):
    from landscape.cli import main

    path_file, _, _ = traj
    assert main(["plot-path", "--path", str(path_file), "--surface", str(bowl), "--out-prefix",
                 str(tmp_path / "fig9"), "--formats", "png", "--dpi", "50"]) == 0
    assert capsys.readouterr().out == f"wrote {tmp_path / 'fig9.png'}\n"
    other = write_directions(tmp_path / "random.h5", random_directions(get_model(ARCH)))
    s = read_surface(bowl)
    s.attrs["directions_sha256"] = sha256_file(other)
    write_surface(tmp_path / "other.h5", s, keep_mask=False)
    err = cli_error("plot-path", "--path", path_file, "--surface", tmp_path / "other.h5",
                    "--out-prefix", tmp_path / "x")
    assert "other directions than the path" in err
    err = cli_error("plot-path", "--path", bowl, "--out-prefix", tmp_path / "x")
    assert "has no proj_xcoord" in err
    assert not list(tmp_path.glob("x.*"))


def test_path_on_random_directions_collapses_near_the_origin(run, files, params, traj,
                                                            tmp_path):
    """Paper Fig. 8: two random directions hold almost none of the path; PCA's hold most."""
    dirs = random_directions(get_model(ARCH), seed=0)
    write_directions(tmp_path / "random.h5", dirs)
    _, t = project_file(ProjectConfig(checkpoints=(str(run),),
                                      directions=str(tmp_path / "random.h5")), tmp_path / "p.h5")
    rows = explicit_rows(files, files[-1], params)
    norms = np.linalg.norm(rows, axis=1)[:-1]  # the final row is zero
    in_plane = np.linalg.norm(np.outer(t.x, flat(dirs.x)) + np.outer(t.y, flat(dirs.y)), axis=1)
    assert (in_plane[:-1] / norms).max() < 0.02
    pca_path = read_trajectory(traj[0])
    assert (np.hypot(pca_path.x, pca_path.y)[:-1] / norms).min() > 0.9
    s = Surface.empty(Grid.parse("-1:1:5", "-1:1:5"), ["train"],
                      attrs={"directions_sha256": sha256_file(tmp_path / "random.h5")})
    s.values["train_loss"][:] = 1.0 + np.add.outer(s.y**2, s.x**2)
    with plot_style():
        fig = path_figure(t, s)
        assert fig.axes[0].get_xlim() == (-1.0, 1.0) and fig.axes[0].get_xlabel() == "x"


def test_interpolation_marks_the_two_solutions(bowl, tmp_path):
    x = np.linspace(-1, 2, 13)
    s = Surface.empty(Grid.parse("-1:2:13"), ["train", "test"])
    for split, shift in (("train", 0.0), ("test", 0.3)):
        s.values[f"{split}_loss"] = 0.1 + shift + (x * (x - 1)) ** 2
        s.values[f"{split}_acc"] = 90 - 10 * s.values[f"{split}_loss"]
    opts = PlotOptions(marks=(0.0, 1.0), mark_labels=("batch 128", "batch 8192"))
    with plot_style():
        fig = surface_figure(s, "1d", opts=opts)
        ax = fig.axes[0]
        marks = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
        assert [line.get_xdata()[0] for line in marks] == [0.0, 1.0]
        assert [t.get_text() for t in ax.texts] == ["batch 128", "batch 8192"]
        styles = {line.get_label(): line.get_linestyle() for a in fig.axes for line in a.get_lines()
                  if not line.get_label().startswith("_")}
        assert styles == {"train loss": "-", "test loss": "--", "train accuracy": "-",
                          "test accuracy": "--"}
        buffers = []
        for _ in range(2):
            buffer = io.BytesIO()
            surface_figure(s, "1d", opts=opts).savefig(buffer, format="png", dpi=50,
                                                       metadata={"Software": None})
            buffers.append(buffer.getvalue())
    assert buffers[0] == buffers[1]
    path = tmp_path / "s.h5"
    write_surface(path, s, keep_mask=False)
    written = plot_surface_file(path, tmp_path / "fig2", opts=opts, formats=["png"], dpi=50)
    assert written[0].read_bytes() == plot_surface_file(
        path, tmp_path / "fig2", opts=opts, formats=["png"], dpi=50)[0].read_bytes()
    with pytest.raises(LandscapeError, match="one label per mark"):
        PlotOptions(marks=(0.0, 1.0), mark_labels=("a",)).check()
    with pytest.raises(LandscapeError, match="lies outside the x range"):
        plot_surface_file(path, tmp_path / "x", opts=PlotOptions(marks=(3.0,)))
    with pytest.raises(LandscapeError, match="apply to 1-D curves"):
        plot_surface_file(bowl, tmp_path / "x", kinds=["contour"], opts=PlotOptions(marks=(0.0,)))


def test_panel_puts_every_curve_and_contour_on_the_same_ranges():
    """Paper Fig. 3: widths compare across minimizers only on equal axes."""
    curves, maps = [], []
    for scale, half in ((1.0, 1.0), (5.0, 0.5)):
        c = Surface.empty(Grid.parse(f"-{half}:{half}:9"), ["train"])
        c.values["train_loss"] = 0.1 + scale * c.x**2
        c.values["train_acc"] = 100 - c.values["train_loss"]
        curves.append(c)
        m = Surface.empty(Grid.parse(f"-{half}:{half}:9", "-1:1:9"), ["train"])
        m.values["train_loss"] = 0.1 + scale * np.add.outer(m.y**2, m.x**2)
        maps.append(m)
    with plot_style():
        fig = panel_figure(curves, ["sharp", "flat"], rows=1, cols=2, kind="1d")
        loss_axes = fig.axes[::2]
        assert loss_axes[0].get_ylim() == loss_axes[1].get_ylim()
        assert loss_axes[0].get_ylim()[1] >= 1.35  # the sharp curve's top fits in both
        assert loss_axes[0].get_xlim() == loss_axes[1].get_xlim() == (-1.0, 1.0)
        fig = panel_figure(maps, ["sharp", "flat"], rows=1, cols=2, kind="contour")
        assert fig.axes[0].get_xlim() == fig.axes[1].get_xlim() == (-1.0, 1.0)


def test_covering_grid_holds_the_origin_and_a_flat_axis():
    grid = covering_grid(np.array([1.0, 2.0, 3.0]), np.zeros(3), margin=0.1, points=3)
    assert grid.x.min <= -0.3 and grid.x.max >= 3.3 and grid.x.num == 3
    assert grid.y.min < 0 < grid.y.max  # a flat axis takes the other's extent
    with pytest.raises(LandscapeError, match="projects to \\(0, 0\\)"):
        covering_grid(np.zeros(3), np.zeros(3), 0.1, 3)
