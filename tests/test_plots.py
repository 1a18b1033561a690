"""Figures: every kind and format, a drawn 3-D surface, orientation, NaN, identical bytes, bad input,
the paper's look (labels that never overlap, colour bars, the 1-D range, square axes) and the
training curves."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imread

from landscape import surface_file
from landscape.cli import main
from landscape.errors import LandscapeError
from landscape.plots import (
    KINDS_2D, PlotOptions, Surface, panel_figure, panel_titles, plot_panel, plot_style,
    plot_surface_file, read_surface, surface_figure,
)
from landscape.plots.maps import label_contours, labelled_levels
from landscape.plots.options import value_range
from landscape.plots.training import decay_epochs, plot_training, training_figure
from landscape.tables import read_metrics
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


def test_a_surface_crossing_a_single_contour_level_still_gets_its_colour_bar(tmp_path):
    """A well-trained minimum (loss 0.0004 to 0.35) crosses only the 0.1 level of the paper's
    0.1:10:0.5: the figure is drawn with one contour and a colour bar (matplotlib cannot build
    a bar from a one-level contour set; the showcase's VGG-9 hit this)."""
    xx, yy = np.meshgrid(X, Y)
    loss = 0.0004 + 0.35 * (xx**2 + yy**2) / 2
    path = write_surface(tmp_path / "flat.h5", X, Y, train_loss=loss)
    written = plot_surface_file(path, tmp_path / "flat", kinds=["contour"], formats=["png"],
                                opts=PlotOptions(vmin=0.1, vmax=10, vlevel=0.5), dpi=60)
    assert [p.name for p in written] == ["flat_contour.png"]
    fig = surface_figure(read_surface(path), "contour", "train_loss",
                         PlotOptions(vmin=0.1, vmax=10, vlevel=0.5))
    assert len(fig.axes) == 2  # the map and its colour bar
    fig.clf()


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


def test_1d_non_finite_points_are_crossed_on_the_x_axis_and_counted(surf1d):
    # a NaN used to leave a silent gap: a missing point read as a short curve
    with plot_style():
        fig = surface_figure(read_surface(surf1d), "1d")
    loss_ax = fig.axes[0]
    crosses = [c for c in loss_ax.collections if c.get_label().startswith("not finite")]
    assert len(crosses) == 1 and crosses[0].get_label() == "not finite (1 point)"
    np.testing.assert_allclose(crosses[0].get_offsets(), [[X[3], 0.0]])  # x data, y axes bottom
    assert "not finite (1 point)" in [t.get_text() for t in loss_ax.get_legend().get_texts()]


def test_1d_legend_sits_below_the_axes_and_x_ticks_stay_apart(surf1d, tmp_path):
    x = np.linspace(-0.5, 1.5, 41)  # the default locator gave 9 ticks: labels ran together
    path = write_surface(tmp_path / "c.h5", x, None, train_loss=0.2 + x**2, test_loss=0.5 + x**2,
                         train_acc=90 - x**2, test_acc=80 - x**2)
    s = read_surface(path)
    with plot_style():
        for fig in (surface_figure(s, "1d"),
                    panel_figure([s] * 4, list("abcd"), rows=2, cols=2, kind="1d")):
            render(fig)
            figure_box = fig.bbox
            for ax in fig.axes[::2]:
                legend = ax.get_legend().get_window_extent()
                assert legend.y1 <= ax.get_window_extent().y0  # covers no curve
                assert figure_box.y0 <= legend.y0 and legend.x1 <= figure_box.x1
                ticks = [t for t in ax.get_xticks() if x[0] <= t <= x[-1]]
                assert len(ticks) <= 6
                boxes = [label.get_window_extent() for label in ax.get_xticklabels()
                         if label.get_visible() and label.get_text()]
                assert not any(a.overlaps(b) for a, b in itertools.pairwise(boxes))


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


@pytest.mark.parametrize("kind", ["contour", "contourf", "heatmap"])
@pytest.mark.parametrize("scale", [10.0, 100.0, 1000.0])
def test_api_default_levels_show_a_trained_basin(tmp_path, kind, scale):
    # around a trained minimum the loss climbs by decades: 20 linear levels from min to max
    # put one contour around the whole basin and a dot at its centre, the interior blank
    import landscape

    xs = np.linspace(-1.0, 1.0, 41)
    xx, yy = np.meshgrid(xs, xs)
    loss = 0.01 + scale * (xx**2 + yy**2) ** 2
    path = write_surface(tmp_path / "bowl.h5", xs, xs, train_loss=loss)
    inner = 0.01 + scale * 0.5**4  # the largest loss within radius 0.5: the basin's interior
    with plot_style():
        fig = landscape.plot(path, kind=kind)
    ax, bar_ax = fig.axes  # always a colour bar: which colour is low, which high
    mappable = ax.collections[0]
    assert mappable.colorbar is not None and mappable.colorbar.ax is bar_ax
    if kind == "heatmap":  # colours, not levels: the interior spans half the colour range
        norm = mappable.norm
        assert norm(inner) - norm(loss.min()) >= 0.4
    else:
        assert (np.asarray(mappable.levels) < inner).sum() >= 8
    # a surface that spans less than a decade keeps linear levels
    flat = write_surface(tmp_path / "flat.h5", xs, xs, train_loss=2.0 + xx**2 + yy**2)
    with plot_style():
        levels = np.asarray(landscape.plot(flat, kind="contour").axes[0].collections[0].levels)
    assert np.allclose(np.diff(levels), np.diff(levels)[0])


def test_axis_labels_come_from_options_then_attributes(surf1d, surf2d):
    with plot_style():
        named = surface_figure(read_surface(surf2d).with_labels("PC1", "PC2"), "contour")
        curve = surface_figure(read_surface(surf1d), "1d")
        plain = surface_figure(read_surface(surf2d), "heatmap")
    assert (named.axes[0].get_xlabel(), named.axes[0].get_ylabel()) == ("PC1", "PC2")
    assert curve.axes[0].get_xlabel() == "alpha"  # the file's xlabel attribute
    assert (plain.axes[0].get_xlabel(), plain.axes[0].get_ylabel()) == ("x", "y")


# --- what a reader of the paper expects -----------------------------------------------------

def crowded(tmp_path: Path) -> Path:
    """A bowl that turns steep for y > 0: there the 0.5-spaced levels bunch into a band."""
    xs = np.linspace(-1.0, 1.0, 41)
    xx, yy = np.meshgrid(xs, xs)
    loss = 0.2 + 3.0 * xx**2 + yy**2 + 40.0 * np.maximum(yy, 0.0) ** 2
    return write_surface(tmp_path / "crowded.h5", xs, xs, train_loss=loss, attrs={"model": "m"})


def label_boxes(fig) -> list[list]:
    """Per contour axes: the pixel boxes of its labels as the PNG shows them (after layout)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    return [[t.get_window_extent(renderer) for t in ax.texts]
            for ax in fig.axes if any(c.__class__.__name__ == "QuadContourSet" for c in ax.collections)]


def overlapping(boxes: list) -> int:
    return sum(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_contour_labels_never_overlap(tmp_path):
    path = crowded(tmp_path)
    s = read_surface(path)
    with plot_style():
        # matplotlib's own labels on every level collide in the steep band: the case to fix
        plain = Figure(figsize=(5.5, 4.5))
        ax = plain.add_subplot()
        cs = ax.contour(s.x, s.y, s.loss, levels=value_range("train_loss", s.loss, PlotOptions()).levels)
        ax.clabel(cs, inline=True, fontsize=8)
        assert overlapping(label_boxes(plain)[0]) > 0
        figures = [surface_figure(s, "contour"),
                   panel_figure([s] * 4, list("abcd"), rows=2, cols=2, kind="contour"),
                   surface_figure(s, "contour", opts=PlotOptions(vmin=0.1, vmax=40, vlevel=0.25))]
        for fig in figures:
            for ax, boxes in zip(fig.axes, label_boxes(fig)):
                assert 1 <= len(boxes) and overlapping(boxes) == 0
                frame = ax.get_window_extent()
                assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0
                           and b.y1 <= frame.y1 for b in boxes)
    # only every few levels carry labels, the lowest among them
    cs = figures[0].axes[0].collections[0]
    shown = {float(t.get_text()) for t in figures[0].axes[0].texts}
    assert shown <= set(np.round(labelled_levels(np.asarray(cs.levels)), 10))
    assert len(labelled_levels(np.arange(0.1, 10, 0.5))) <= 6
    assert labelled_levels(np.arange(0.1, 10, 0.5))[0] == 0.1


def test_contour_labels_are_cut_into_their_lines(tmp_path):
    s = read_surface(crowded(tmp_path))
    with plot_style():
        fig = Figure(figsize=(5.5, 4.5))
        ax = fig.add_subplot()
        cs = ax.contour(s.x, s.y, s.loss, levels=[1.1, 2.1])
        pieces = [len(list(p._iter_connected_components())) for p in cs.get_paths()]
        labels = label_contours(cs)
        after = [len(list(p._iter_connected_components())) for p in cs.get_paths()]
    assert labels and all(t.get_in_layout() is False for t in labels)
    assert sum(after) == sum(pieces) + len(labels)  # each inline label splits its line once


def test_colour_bars_show_overflow_and_round_ticks(surf2d):
    s = read_surface(surf2d)  # finite losses from about 0.27 to 5.4
    cases = [(PlotOptions(), "neither", [2, 4, 6, 8, 10]),
             (PlotOptions(vmax=4), "max", [1, 2, 3, 4]),
             (PlotOptions(vmin=1, vmax=4), "both", [1, 1.5, 2, 2.5, 3, 3.5, 4]),
             (PlotOptions(vmin=0.5, vmax=20, vlevel=1), "min", [5, 10, 15, 20]),
             (PlotOptions(log=True), "neither", [0.1, 0.2, 0.5, 1, 2, 5, 10])]
    with plot_style():
        for opts, extend, ticks in cases:
            for kind in ("contourf", "heatmap"):
                bar = surface_figure(s, kind, opts=opts).axes[0].collections[0].colorbar
                assert bar.extend == extend, (opts, kind)
                assert list(bar.get_ticks()) == pytest.approx(ticks), (opts, kind)
                assert [bar.formatter(t) for t in ticks[:2]] == [f"{t:g}" for t in ticks[:2]]


def test_flat_kinds_are_square(surf2d):
    s = read_surface(surf2d)  # x spans 2, y spans 1.5
    with plot_style():
        for kind in ("contour", "contourf", "heatmap"):
            fig = surface_figure(s, kind)
            render(fig)
            box = fig.axes[0].get_window_extent()
            assert box.width == pytest.approx(box.height, abs=1), kind
        fig = panel_figure([s] * 3, list("abc"), rows=1, cols=3, kind="contour")
        render(fig)
        assert all(ax.get_window_extent().width == pytest.approx(ax.get_window_extent().height, abs=1)
                   for ax in fig.axes)


@pytest.mark.parametrize("loss, opts, limits", [
    (0.2 + 60 * X**2, PlotOptions(), (0, 5)),  # the paper's range: the basin stays visible
    (0.2 + X**2, PlotOptions(), (0, 1.05 * 1.2)),  # all informative: up to the top, plus 5%
    (3 + 10 * X**2, PlotOptions(), (0, 6)),  # a minimum above 2.5: twice the minimum
    (0.2 + 60 * X**2, PlotOptions(vmax=2), (0, 2)),
    (0.2 + 60 * X**2, PlotOptions(vmin=1), (1, 5)),
    (0.2 + 60 * X**2, PlotOptions(vmin=6), None),  # above the default top: matplotlib's
])
def test_1d_loss_axis_shows_the_informative_range(tmp_path, loss, opts, limits):
    path = write_surface(tmp_path / "c.h5", X, None, train_loss=loss, train_acc=100 - loss)
    with plot_style():
        fig = surface_figure(read_surface(path), "1d", opts=opts)
    loss_ax, acc_ax = fig.axes
    if limits is None:
        assert loss_ax.get_ylim()[0] == 6 and loss_ax.get_ylim()[1] >= loss.max()
    else:
        assert loss_ax.get_ylim() == pytest.approx(limits)
    assert acc_ax.get_ylim() == (0, 100) and acc_ax.yaxis.get_label_position() == "right"


def test_1d_log_axis_keeps_every_decade(surf1d, tmp_path):
    path = write_surface(tmp_path / "c.h5", X, None, train_loss=0.01 + 60 * X**2)
    with plot_style():
        ax = surface_figure(read_surface(path), "1d", opts=PlotOptions(log=True)).axes[0]
    lo, hi = ax.get_ylim()
    assert lo <= 0.01 and hi >= 60.01


# --- training curves -------------------------------------------------------------------------

def history(path: Path, lrs: list[float], acc0: float = 20.0) -> Path:
    rows = [{"epoch": e, "lr": lr, "train_loss": 2.0 / e, "train_acc": acc0 + 5 * e,
             "test_loss": 2.5 / e, "test_acc": acc0 + 4 * e, "seconds": 1.0}
            for e, lr in enumerate(lrs, start=1)]
    write_metrics(path, rows)
    return path


def test_decay_epochs_are_read_from_the_lr_column(tmp_path):
    frame = read_metrics(history(tmp_path / "m.csv", [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]),
                         ["lr"])
    assert decay_epochs(frame) == [2, 4]  # the last epochs at 0.1 and at 0.01
    assert decay_epochs(read_metrics(history(tmp_path / "c.csv", [0.1] * 3), ["lr"])) == []


def test_training_figure_draws_every_model_and_marks_lr_decays(tmp_path):
    a = read_metrics(history(tmp_path / "a.csv", [0.1, 0.1, 0.01, 0.01]), ["lr", "test_loss"])
    b = read_metrics(history(tmp_path / "b.csv", [0.1, 0.1, 0.01, 0.001], acc0=30), ["lr"])
    with plot_style():
        fig = training_figure([a, b], ["resnet20", "resnet20_noshort"])
    loss_ax, err_ax = fig.axes[:2]
    curves = [line for line in loss_ax.get_lines() if len(line.get_xdata()) == 4]
    errors = [line for line in err_ax.get_lines() if len(line.get_xdata()) == 4]
    assert len(curves) == len(errors) == 4  # 2 models x (train, test)
    np.testing.assert_allclose(curves[0].get_ydata(), 2.0 / np.arange(1, 5), rtol=1e-5)  # a, train
    np.testing.assert_allclose(curves[1].get_ydata(), 2.5 / np.arange(1, 5), rtol=1e-5)  # a, test
    np.testing.assert_allclose(errors[2].get_ydata(), 100 - (30 + 5 * np.arange(1, 5)))  # b
    assert [line.get_linestyle() for line in curves] == ["-", "--", "-", "--"]
    assert curves[0].get_color() != curves[2].get_color()
    assert loss_ax.get_yscale() == "log" and err_ax.get_ylim()[0] == 0
    marks = {(line.get_xdata()[0], line.get_color()) for line in err_ax.get_lines()
             if len(line.get_xdata()) == 2}
    # epoch 2: both decay (grey); epoch 3: only b (its colour)
    assert marks == {(2, "0.5"), (3, curves[2].get_color())}
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:4] == ["resnet20", "resnet20_noshort", "train", "test"]
    assert "lr decay" in legend


def test_training_curves_cli_writes_identical_files_and_refuses_bad_input(tmp_path, cli_error):
    m1, m2 = history(tmp_path / "a.csv", [0.1, 0.01]), history(tmp_path / "b.csv", [0.1, 0.1])
    args = ["training-curves", "--metrics", str(m1), str(m2), "--models", "a", "b", "--dpi", "40"]
    assert main([*args, "--out-prefix", str(tmp_path / "x" / "t")]) == 0
    plot_training([m1, m2], ["a", "b"], tmp_path / "y" / "t", dpi=40)
    for ext in ("pdf", "png"):
        assert (tmp_path / "x" / f"t.{ext}").read_bytes() == (tmp_path / "y" / f"t.{ext}").read_bytes()
    no_lr = tmp_path / "no_lr.csv"
    no_lr.write_text("epoch,train_loss,train_acc,test_loss,test_acc\n1,2,10,2,10\n")
    cases = [([str(m1), str(m2)], ["a"], "2 metrics file(s)"),
             ([str(tmp_path / "none.csv")], ["a"], "none.csv does not exist"),
             ([str(no_lr)], ["a"], "lacks column(s) lr")]
    for metrics, models, needle in cases:
        err = cli_error("training-curves", "--metrics", *metrics, "--models", *models,
                        "--out-prefix", tmp_path / "z" / "t")
        assert needle in err, err
    assert not (tmp_path / "z").exists()


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


# --- nothing to draw: a figure and a warning, not a failed workflow ---------------------------

def grid_surface(path: Path, x: np.ndarray, y: np.ndarray | None, **quantities) -> Path:
    """A surface file of ours with its grid attributes (a single-point axis needs them)."""
    axes = {f"grid_{n}": f"{a[0]}:{a[-1]}:{len(a)}" for n, a in (("x", x), ("y", y))
            if a is not None}
    return write_surface(path, x, y, attrs=axes, **quantities)


NOTHING_2D = {  # case: (x, y, train_loss, what the warning of every kind says)
    "all NaN": (X, Y, np.full((len(Y), len(X)), np.nan), "no value is finite"),
    "all above vmax": (X, Y, 1e3 + bowl(), "lies above vmax (10)"),
    "1 x N": (X, np.array([0.25]), bowl()[:1], "its 1 x 9 grid has a single row or column"),
    "N x 1": (np.array([0.0]), Y, bowl()[:, :1], "its 6 x 1 grid has a single row or column"),
}


@pytest.mark.parametrize("case", NOTHING_2D)
def test_surface_with_nothing_to_draw_gives_every_figure_and_a_warning(case, tmp_path, capsys):
    """A diverged model (all NaN), a barely trained one (all above the colour range) or a grid
    of one row or column: every kind, the panel and Fig. 7 still write PNGs (the workflow's
    figure steps do not fail) and each warns, one line, naming the surface and why."""
    x, y, loss, why = NOTHING_2D[case]
    surf = grid_surface(tmp_path / "s.h5", x, y, train_loss=loss, max_eig=np.abs(loss) + 1,
                        min_eig=-0.1 * np.abs(loss))
    out = tmp_path / "figs"
    capsys.readouterr()
    assert main(["plot", "--surface", str(surf), "--out-prefix", str(out / "s"), "--zmax", "10",
                 "--formats", "png", "--dpi", "30"]) == 0
    err = capsys.readouterr().err.splitlines()
    for kind in KINDS_2D:
        assert imread(out / f"s_{kind}.png").shape[2] in (3, 4)
    assert err and all(line.startswith(f"landscape plot: warning: surface {surf}: ")
                       for line in err), err
    assert any(why in line for line in err), err
    if case != "all above vmax":  # a colour map of values above vmax is one colour, not empty
        empty = len(KINDS_2D) - ("x" in case)  # the heat map draws a single row's cells
        assert len(err) == empty and all(line.endswith("of 'train_loss' is empty")
                                         for line in err), err
    assert main(["panel", "--surfaces", str(surf), str(surf), "--models", "a", "b",
                 "--out-prefix", str(out / "panel"), "--formats", "png", "--dpi", "30"]) == 0
    assert imread(out / "panel.png").ndim == 3
    assert "its contour of 'train_loss' is empty" in capsys.readouterr().err
    assert main(["curvature", "--surfaces", str(surf), "--models", "a",
                 "--out-prefix", str(out / "fig7"), "--formats", "png", "--dpi", "30"]) == 0
    assert imread(out / "fig7.png").ndim == 3
    assert "its contour of 'train_loss' is empty" in capsys.readouterr().err


@pytest.mark.parametrize("case", ["all NaN", "single point"])
def test_curve_with_nothing_to_draw_gives_its_figure(case, tmp_path, capsys):
    """A 1-D curve with no finite value warns and is drawn empty; a curve of a single point
    is drawn as a dot (a line through one point shows nothing) on a non-singular x range."""
    x = X if case == "all NaN" else np.array([0.0])
    loss = np.full(len(x), np.nan) if case == "all NaN" else np.array([0.7])
    surf = grid_surface(tmp_path / "c.h5", x, None, train_loss=loss, test_loss=loss)
    capsys.readouterr()
    with plot_style():
        fig = surface_figure(read_surface(surf), "1d")
    assert fig.axes[0].get_xlim()[0] < fig.axes[0].get_xlim()[1]
    err = capsys.readouterr().err
    assert main(["plot", "--surface", str(surf), "--out-prefix", str(tmp_path / "c"),
                 "--formats", "png", "--dpi", "30"]) == 0
    assert imread(tmp_path / "c_1d.png").ndim == 3
    err = capsys.readouterr().err
    if case == "all NaN":
        assert err.strip() == (f"landscape plot: warning: surface {surf}: no value of "
                               "train_loss, test_loss is finite; the curves are drawn empty")
    else:
        assert err == ""
        assert fig.axes[0].lines[0].get_marker() == "o"


@pytest.mark.parametrize("case", ["1 x N", "N x 1"])
def test_heat_map_of_a_single_row_or_column_draws_its_cells(case, tmp_path):
    """matplotlib's nearest shading gives a single row's cells no height (a blank figure); here
    they are as tall as the other axis's step, centred on the row."""
    x, y, loss, _ = NOTHING_2D[case]
    surf = grid_surface(tmp_path / "s.h5", x, y, train_loss=loss)
    with plot_style():
        fig = surface_figure(read_surface(surf), "heatmap")
    cells = fig.axes[0].collections[0].get_coordinates()  # (rows + 1, cols + 1, 2) corners
    assert cells.shape == (len(y) + 1, len(x) + 1, 2)
    step = (X[1] - X[0]) if case == "1 x N" else (Y[1] - Y[0])
    single = cells[..., 1] if case == "1 x N" else cells[..., 0]
    np.testing.assert_allclose(single.max() - single.min(), step)
    assert render(fig)[..., :3].std() > 0
