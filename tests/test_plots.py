"""Figures: every kind and format, a drawn 3-D surface, orientation, NaN, identical bytes, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.image import imread

from landscape import surface_file
from landscape.cli import main
from landscape.errors import LandscapeError
from landscape.plots import (
    KINDS_2D, PlotOptions, Surface, panel_figure, panel_titles, plot_panel, plot_style,
    plot_surface_file, read_surface, surface_figure,
)
from landscape.plots.options import value_range
from landscape.train import write_metrics

X = np.linspace(-1.0, 1.0, 9)
Y = np.linspace(-0.5, 1.0, 6)  # non-square and not symmetric about 0
NAN_AT, INF_AT = (1, 2), (4, 7)  # (j, i): y index, x index


def write_surface(path: Path, x: np.ndarray, y: np.ndarray | None, reference: bool = False,
                  **quantities) -> Path:
    """A surface file in the reference layout, as the sweep writes it (``landscape_version`` marks
    it as ours), or with ``reference`` as the reference implementation does: no attributes."""
    attrs = {**({} if reference else {"landscape_version": "test"}), **quantities.pop("attrs", {})}
    with h5py.File(path, "w") as f:
        f["xcoordinates"] = x
        if y is not None:
            f["ycoordinates"] = y
        for name, values in quantities.items():
            f[name] = values
        f["dir_file"] = "directions.h5"
        f.attrs.update(attrs)
    return path


def bowl() -> np.ndarray:
    xx, yy = np.meshgrid(X, Y)  # shape (len(Y), len(X)): loss[j, i] = L(x_i, y_j)
    loss = 0.3 + 2.0 * xx**2 + 4.0 * (yy - 0.2) ** 2 + 0.5 * xx
    loss[NAN_AT] = np.nan
    loss[INF_AT] = np.inf
    return loss


@pytest.fixture
def surf2d(tmp_path) -> Path:
    loss = bowl()
    return write_surface(tmp_path / "surf2d.h5", X, Y, train_loss=loss,
                         train_acc=100 * np.exp(-np.nan_to_num(loss, posinf=50)),
                         attrs={"model": "resnet20"})


@pytest.fixture
def surf1d(tmp_path) -> Path:
    loss = 0.2 + X**2
    loss[3] = np.nan
    return write_surface(tmp_path / "surf1d.h5", X, None, train_loss=loss, test_loss=loss + 0.3,
                         train_acc=100 - 10 * loss, test_acc=90 - 10 * loss,
                         attrs={"xlabel": "alpha"})


def render(fig) -> np.ndarray:
    """The figure as an RGB uint8 array (row 0 at the top), as Agg draws it into a PNG."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def colored_pixels(rgb: np.ndarray) -> int:
    """Pixels with a clear hue: the colour-mapped surface, not text, grids or grey panes."""
    rgb = rgb.astype(int)
    return int(((rgb.max(axis=-1) - rgb.min(axis=-1)) > 40).sum())


def axes_pixels(ax, rgb: np.ndarray, margin: int = 3) -> np.ndarray:
    """The pixels inside ``ax`` (row 0 at the top), spines trimmed off."""
    box = ax.get_window_extent()
    height = rgb.shape[0]
    top, bottom = int(np.ceil(height - box.y1)) + margin, int(np.floor(height - box.y0)) - margin
    left, right = int(np.ceil(box.x0)) + margin, int(np.floor(box.x1)) - margin
    return rgb[top:bottom, left:right]


# --- every kind, every format ------------------------------------------------------------

def test_every_2d_kind_is_written_in_both_formats(surf2d, tmp_path):
    written = plot_surface_file(surf2d, tmp_path / "out" / "r20", dpi=60)
    expected = [tmp_path / "out" / f"r20_{k}.{f}" for k in KINDS_2D for f in ("pdf", "png")]
    assert written == expected
    for path in expected:
        head = path.read_bytes()[:8]
        assert head.startswith(b"%PDF" if path.suffix == ".pdf" else b"\x89PNG"), path
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in expected)


def test_1d_plot_has_loss_left_accuracy_right_train_solid_test_dashed(surf1d, tmp_path):
    written = plot_surface_file(surf1d, tmp_path / "curve", formats=["pdf", "png"], dpi=60)
    assert [p.name for p in written] == ["curve_1d.pdf", "curve_1d.png"]
    with plot_style():
        fig = surface_figure(read_surface(surf1d), "1d", opts=PlotOptions(log=True))
    loss_ax, acc_ax = fig.axes
    styles = {line.get_label(): line.get_linestyle() for ax in fig.axes for line in ax.get_lines()}
    assert styles == {"train loss": "-", "test loss": "--", "train accuracy": "-", "test accuracy": "--"}
    assert {line.get_label() for line in loss_ax.get_lines()} == {"train loss", "test loss"}
    assert loss_ax.get_yscale() == "log" and acc_ax.get_ylim() == (0, 100)
    assert loss_ax.get_xlabel() == "alpha"


def test_3d_surface_is_actually_drawn(surf2d, tmp_path):
    plot_surface_file(surf2d, tmp_path / "s", kinds=["surface3d"], formats=["png"], dpi=60)
    png = (imread(tmp_path / "s_surface3d.png")[..., :3] * 255).astype(np.uint8)
    with plot_style():
        fig = surface_figure(read_surface(surf2d), "surface3d")
        ax, bar = fig.axes
        assert bar.get_ylabel() == "train_loss"  # the colour bar, measured apart from the surface
        bar.remove()
        drawn = colored_pixels(render(fig))
        for collection in list(ax.collections):
            collection.remove()
        empty = colored_pixels(render(fig))
    assert empty < 200  # the bare 3-D axes: grey panes, black text
    assert drawn > 20 * max(empty, 100)
    assert colored_pixels(png) > 0.05 * png.shape[0] * png.shape[1]  # the figure is 7% surface


def test_zmax_cuts_the_3d_surface_cleanly(surf2d):
    with plot_style():
        full = surface_figure(read_surface(surf2d), "surface3d")
        fig = surface_figure(read_surface(surf2d), "surface3d", opts=PlotOptions(zmax=2.0))
    ax, bar = fig.axes
    assert ax.get_zlim()[1] == pytest.approx(2.0)
    faces = ax.collections[0].get_array()  # mean height of each drawn triangle
    whole = full.axes[0].collections[0].get_array()
    assert faces.max() < 2.0 < whole.max()  # what lay above is gone, not flattened onto 2.0
    assert bar.get_ylim()[1] == pytest.approx(2.0)  # the colour bar ends at the cut


# --- orientation ---------------------------------------------------------------------------

def test_heatmap_puts_x_horizontal_and_y_vertical_increasing_upwards(tmp_path):
    xx, yy = np.meshgrid(X, Y)
    path_x = write_surface(tmp_path / "by_x.h5", X, Y, train_loss=1 + 4 * (xx + 1))  # grows rightwards
    path_y = write_surface(tmp_path / "by_y.h5", X, Y, train_loss=1 + 4 * (yy + 0.5))  # grows upwards
    with plot_style():
        fig_x = surface_figure(read_surface(path_x), "heatmap", opts=PlotOptions(vmin=0.5, vmax=10))
        fig_y = surface_figure(read_surface(path_y), "heatmap", opts=PlotOptions(vmin=0.5, vmax=10))
        px = axes_pixels(fig_x.axes[0], render(fig_x)).astype(float)
        py = axes_pixels(fig_y.axes[0], render(fig_y)).astype(float)
    # Loss that depends on x only: every pixel column is one colour, columns differ.
    assert px.std(axis=0).max() < 1.0
    brightness_x = px.mean(axis=(0, 2))  # viridis gets brighter as the value grows
    assert brightness_x[-1] > brightness_x[0] + 50
    # Loss that depends on y only: rows uniform, brightest at the top (origin lower).
    assert py.std(axis=1).max() < 1.0
    brightness_y = py.mean(axis=(1, 2))
    assert brightness_y[0] > brightness_y[-1] + 50


def test_contour_lines_follow_x_when_loss_depends_on_x_only(tmp_path):
    xx, _ = np.meshgrid(X, Y)
    path = write_surface(tmp_path / "by_x.h5", X, Y, train_loss=xx + 2.0)
    with plot_style():
        fig = surface_figure(read_surface(path), "contour", opts=PlotOptions(vmin=1.5, vmax=2.6, vlevel=0.5))
    cs = fig.axes[0].collections[0]
    for level, segments in zip(cs.levels, cs.allsegs):
        points = np.concatenate(segments)
        np.testing.assert_allclose(points[:, 0], level - 2.0, atol=1e-9)  # vertical line x = L - 2
        assert np.ptp(points[:, 1]) == pytest.approx(np.ptp(Y))  # spanning the whole y range


def test_non_finite_points_are_masked_where_they_are(surf2d):
    s = read_surface(surf2d)
    with plot_style():
        fig = surface_figure(s, "heatmap")
    mask = np.ma.getmaskarray(fig.axes[0].collections[0].get_array()).reshape(len(Y), len(X))
    expected = np.zeros((len(Y), len(X)), bool)
    expected[NAN_AT] = expected[INF_AT] = True
    assert (mask == expected).all()


def test_nan_and_inf_surfaces_render_every_kind(surf1d, surf2d, tmp_path):
    plot_surface_file(surf2d, tmp_path / "n2", formats=["png"], dpi=40, opts=PlotOptions(log=True))
    plot_surface_file(surf1d, tmp_path / "n1", formats=["png"], dpi=40)
    assert len(list(tmp_path.glob("n2_*.png"))) == 4 and (tmp_path / "n1_1d.png").is_file()


# --- deterministic bytes -------------------------------------------------------------------

def test_rerenders_are_byte_identical_across_processes(surf1d, surf2d, tmp_path):
    first = plot_surface_file(surf2d, tmp_path / "a" / "s", dpi=60)
    plot_surface_file(surf2d, tmp_path / "b" / "s", dpi=60)
    env = {**os.environ, "PYTHONHASHSEED": "123", "SOURCE_DATE_EPOCH": "1234567890"}
    subprocess.run([sys.executable, "-m", "landscape", "plot", "--surface", str(surf2d),
                    "--out-prefix", str(tmp_path / "c" / "s"), "--dpi", "60"],
                   check=True, env=env, capture_output=True)
    for path in first:
        a = path.read_bytes()
        assert a == (tmp_path / "b" / path.name).read_bytes(), path.name
        assert a == (tmp_path / "c" / path.name).read_bytes(), path.name
    curves = [plot_surface_file(surf1d, tmp_path / d / "c", dpi=60) for d in "ab"]
    assert [p.read_bytes() for p in curves[0]] == [p.read_bytes() for p in curves[1]]


def test_panel_rerender_is_byte_identical(surf2d, tmp_path):
    args = {"surfaces": [surf2d, surf2d], "models": ["resnet20", "resnet20_noshort"],
            "rows": 1, "cols": 2, "formats": ["pdf", "png"], "dpi": 40}
    one = plot_panel(out_prefix=tmp_path / "p1", **args)
    two = plot_panel(out_prefix=tmp_path / "p2", **args)
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]


# --- panel -----------------------------------------------------------------------------------

def metrics_csv(path: Path, test_accs: list[float]) -> Path:
    rows = [{"epoch": e + 1, "lr": 0.1, "train_loss": 1.0 / (e + 1), "train_acc": 50.0 + e,
             "test_loss": 1.5, "test_acc": acc, "seconds": 1.0} for e, acc in enumerate(test_accs)]
    write_metrics(path, rows)
    return path


def test_panel_layout_titles_and_kinds(surf2d, tmp_path):
    m1 = metrics_csv(tmp_path / "m1.csv", [40.0, 81.25])
    m2 = metrics_csv(tmp_path / "m2.csv", [30.0, 60.5, 77.0])
    titles = panel_titles(["resnet56", "resnet56_noshort"], [m1, m2])
    assert titles == ["resnet56\ntest error 18.75%", "resnet56_noshort\ntest error 23.00%"]
    s = read_surface(surf2d)
    with plot_style():
        fig = panel_figure([s, s, s], ["a", "b", "c"], rows=2, cols=3, kind="contour")
        fig3d = panel_figure([s, s], ["a", "b"], rows=1, cols=2, kind="surface3d", opts=PlotOptions(zmax=3))
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    assert [ax.get_subplotspec().get_geometry()[:3] for ax in fig.axes] == [(2, 3, i) for i in range(3)]
    names = [ax.name for ax in fig3d.axes]  # each 3-D surface with its colour bar
    assert names.count("3d") == 2 and len(names) == 4
    written = plot_panel([surf2d] * 2, ["resnet56", "resnet56_noshort"], tmp_path / "fig5",
                         rows=1, cols=2, metrics=[m1, m2], dpi=40)
    assert [p.name for p in written] == ["fig5.pdf", "fig5.png"]


def test_panel_grid_completes_rows_or_cols():
    from landscape.cli.panel import grid
    assert grid(6, None, None) == (1, 6)
    assert grid(5, 2, None) == (2, 3)
    assert grid(5, None, 2) == (3, 2)
    assert grid(3, 2, 2) == (2, 2)


def test_panel_of_1d_curves(surf1d):
    s = read_surface(surf1d)
    with plot_style():
        fig = panel_figure([s, s], ["small batch", "large batch"], rows=1, cols=2, kind="1d")
    assert [ax.get_title() for ax in fig.axes[::2]] == ["small batch", "large batch"]
    assert len(fig.axes) == 4  # each with its accuracy twin


# --- options --------------------------------------------------------------------------------

def test_levels_are_the_papers_by_default_and_follow_options():
    z = np.array([1.0, 2.0])
    np.testing.assert_allclose(value_range("train_loss", z, PlotOptions()).levels, np.arange(0.1, 10, 0.5))
    np.testing.assert_allclose(value_range("train_acc", z, PlotOptions()).levels, np.arange(0, 100, 5))
    r = value_range("train_loss", z, PlotOptions(vmin=1, vmax=100, vlevel=1, log=True))
    assert r.levels[0] == 1 and r.levels[-1] == 100  # 99 levels, equal ratios
    assert np.allclose(np.diff(np.log(r.levels)), np.log(100) / 98)
    with pytest.raises(LandscapeError, match="at most"):
        value_range("train_loss", z, PlotOptions(vlevel=1e-5))
    for bad in (PlotOptions(vmin=2, vmax=1), PlotOptions(vlevel=0), PlotOptions(log=True, vmin=0)):
        with pytest.raises(LandscapeError):
            bad.check()


def test_axis_labels_come_from_options_then_attributes(surf1d, surf2d):
    with plot_style():
        named = surface_figure(read_surface(surf2d).with_labels("PC1", "PC2"), "contour")
        curve = surface_figure(read_surface(surf1d), "1d")
        plain = surface_figure(read_surface(surf2d), "heatmap")
    assert (named.axes[0].get_xlabel(), named.axes[0].get_ylabel()) == ("PC1", "PC2")
    assert curve.axes[0].get_xlabel() == "alpha"  # the file's xlabel attribute
    assert (plain.axes[0].get_xlabel(), plain.axes[0].get_ylabel()) == ("x", "y")


# --- files of the reference implementation --------------------------------------------------

def test_plots_reads_with_the_one_strict_reader():
    assert read_surface is surface_file.read_surface and Surface is surface_file.Surface


def test_square_complete_reference_file_reads_and_plots(tmp_path):
    xs = np.linspace(-1.0, 1.0, 7)
    xx, yy = np.meshgrid(xs, xs)
    loss = 0.5 + xx**2 + 2.0 * yy**2 + 0.3 * xx
    path = write_surface(tmp_path / "ref.h5", xs, xs, reference=True, train_loss=loss,
                         train_acc=100 - 10 * loss, test_loss=loss + 0.2, test_acc=90 - 10 * loss)
    s = read_surface(path, require=["train_err", "test_err"])
    assert s.attrs == {} and s.ndim == 2 and s.dir_file == "directions.h5" and s.computed.all()
    np.testing.assert_array_equal(s.x, xs)
    np.testing.assert_array_equal(s.y, xs)
    np.testing.assert_array_equal(s.loss, loss)
    written = plot_surface_file(path, tmp_path / "ref", formats=["png"], dpi=40)
    assert [p.name for p in written] == [f"ref_{k}.png" for k in KINDS_2D]


# --- bad input: one line, exit 2, nothing written ------------------------------------------

def test_cli_bad_inputs_fail_cleanly(surf1d, surf2d, tmp_path, cli_error):
    out = tmp_path / "out"
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    transposed = write_surface(tmp_path / "t.h5", X, Y, train_loss=bowl().T)
    all_nan = write_surface(tmp_path / "nan.h5", X, Y, train_loss=np.full((len(Y), len(X)), np.nan))
    scrambled = write_surface(tmp_path / "scrambled.h5", X, Y, reference=True, train_loss=bowl().T)
    unfinished_loss = np.where(np.arange(len(X)) < 3, -1.0, 0.2 + X**2)
    unfinished = write_surface(tmp_path / "unfinished.h5", X, None, reference=True,
                               train_loss=unfinished_loss)
    m = metrics_csv(tmp_path / "m.csv", [50.0])
    cases = [
        (["plot", "--surface", str(tmp_path / "missing.h5")], "missing.h5"),
        (["plot", "--surface", str(junk)], "junk.h5"),
        (["plot", "--surface", str(surf2d), "--surf-name", "test_loss"], "'test_loss'"),
        (["plot", "--surface", str(transposed)], "shape (9, 6)"),
        (["plot", "--surface", str(scrambled)], "scrambled.h5 was written by the reference"),
        (["plot", "--surface", str(unfinished)], "3 of 9 points still hold its 'not computed' mark"),
        (["plot", "--surface", str(all_nan)], "no finite value"),
        (["plot", "--surface", str(surf2d), "--kinds", "contour", "1d"], "'1d' needs a 1-D surface"),
        (["plot", "--surface", str(surf1d), "--kinds", "heatmap"], "surf1d.h5 is 1-D"),
        (["plot", "--surface", str(surf2d), "--vmin", "5", "--vmax", "1"], "--vmin"),
        (["panel", "--surfaces", str(surf2d), str(surf2d), "--models", "a"], "1 --models but 2"),
        (["panel", "--surfaces", str(surf2d), str(surf2d), "--models", "a", "b", "--metrics", str(m)],
         "2 model name(s) but 1 metrics"),
        (["panel", "--surfaces", str(surf2d), str(surf2d), str(surf2d), "--models", "a", "b", "c",
          "--rows", "1", "--cols", "2"], "room for 2"),
        (["panel", "--surfaces", str(surf2d), str(surf1d), "--models", "a", "b"], "mixes"),
        (["panel", "--surfaces", str(surf2d), "--models", "a", "--metrics", str(tmp_path / "no.csv")],
         "no.csv"),
    ]
    for argv, needle in cases:
        err = cli_error(*argv, "--out-prefix", str(out / "fig"))
        assert needle in err, (needle, err)
    assert not out.exists() and not list(tmp_path.glob(".*tmp*"))


def test_cli_plot_and_panel_write_what_they_print(surf2d, tmp_path, capsys):
    assert main(["plot", "--surface", str(surf2d), "--out-prefix", str(tmp_path / "x"),
                 "--kinds", "heatmap", "--formats", "png", "--dpi", "40"]) == 0
    assert capsys.readouterr().out.split() == ["wrote", str(tmp_path / "x_heatmap.png")]
    assert main(["panel", "--surfaces", str(surf2d), str(surf2d), "--models", "a", "b",
                 "--kind", "surface3d", "--zmax", "4", "--out-prefix", str(tmp_path / "p"),
                 "--formats", "png", "--dpi", "40"]) == 0
    assert (tmp_path / "p.png").is_file() and not (tmp_path / "p.pdf").exists()
