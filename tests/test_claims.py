"""The claims table (landscape.claims, `landscape claims`): each measure against a hand
computation on small files written with the library's own writers, the verdicts, the files."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from landscape.claims import (
    DATA, FAILS, HOLDS, UNMEASURED, ClaimsInputs, claims_table, curve_width, direction_metric,
    nonconvex_share, path_total_variance, pca_share, projected_variance, sharpness, width,
    write_claims,
)
from landscape.cli import main
from landscape.configs import ClaimsConfig
from landscape.errors import LandscapeError
from landscape.grid import Grid
from landscape.surface_file import Surface, read_surface, write_surface
from landscape.trajectory_file import Trajectory, write_trajectory

CFG = ClaimsConfig()


def surface_file(path: Path, grid: Grid, **values: np.ndarray) -> Path:
    attrs = {"landscape_version": "test", "grid_x": grid.x.spec,
             "grid_y": None if grid.y is None else grid.y.spec}
    s = Surface.blank(grid, list(values), attrs=attrs, dir_file="dirs.h5")
    for name, array in values.items():
        s.values[name][...] = array
    s.computed[...] = True
    return write_surface(path, s, keep_mask=False)


def bowl(path: Path, curvature: float = 1.0, spec: str = "-1:1:9") -> Path:
    """``curvature * (x^2 + y^2)`` on a square grid."""
    grid = Grid.parse(spec, spec)
    xx, yy = np.meshgrid(grid.x.coordinates(), grid.y.coordinates())
    loss = curvature * (xx**2 + yy**2)
    return surface_file(path, grid, train_loss=loss, train_acc=np.full(grid.shape, 50.0))


def curve(path: Path, loss_of, spec: str = "-2:2:41") -> Path:
    grid = Grid.parse(spec)
    x = grid.x.coordinates()
    return surface_file(path, grid, train_loss=loss_of(x), train_acc=np.full(grid.shape, 50.0))


def metrics(path: Path, test_err: float) -> Path:
    path.write_text("epoch,lr,train_loss,train_acc,test_loss,test_acc,seconds\n"
                    f"1,0.1,1.0,50.0,1.0,{100 - test_err},1.0\n")
    return path


def path_file(path: Path, x, y, ratio=None) -> Path:
    x, y = np.asarray(x, float), np.asarray(y, float)
    t = Trajectory(x, y, np.arange(1, len(x) + 1), np.array([], dtype=np.int64),
                   Grid.parse("-1:1:3", "-1:1:3"), None if ratio is None else np.asarray(ratio))
    return write_trajectory(path, t)


def directions_file(path: Path, dx: list[np.ndarray], dy: list[np.ndarray]) -> Path:
    with h5py.File(path, "w") as fh:
        for name, axis in (("xdirection", dx), ("ydirection", dy)):
            group = fh.create_group(name)
            for i, d in enumerate(axis):
                group.create_dataset(str(i), data=d.astype(np.float32))
    return path


# --------------------------------------------------------------------------------- measures


def test_sharpness_of_a_bowl_is_the_mean_squared_radius_inside_the_disc(tmp_path):
    s = read_surface(bowl(tmp_path / "b.h5", curvature=2.0))  # grid step 0.25
    # within r <= 0.5, centre excluded: 4 points at r = 0.25, 4 at 0.25 sqrt(2), 4 at 0.5
    expected = 2.0 * np.mean([0.25**2] * 4 + [2 * 0.25**2] * 4 + [0.5**2] * 4)
    value, n = sharpness(s, 0.5)
    assert n == 12 and value == pytest.approx(expected)
    assert sharpness(s, 0.3)[1] == 4  # only the four nearest neighbours


def test_sharpness_is_nan_without_a_centre_point(tmp_path):
    s = read_surface(bowl(tmp_path / "b.h5", spec="-1:1:4"))
    assert math.isnan(sharpness(s, 0.5)[0])


def test_width_of_a_parabola_is_where_it_rises_by_delta(tmp_path):
    # 4 x^2 exceeds 0 + 1 at |x| = 0.5 on both sides; (x - 0.3)^2 around 0 exceeds 0.09 + 1
    # at 0.3 -+ sqrt(1.09): distances sqrt(1.09) -+ 0.3, mean sqrt(1.09)
    assert curve_width(read_surface(curve(tmp_path / "c.h5", lambda x: 4 * x**2)), 1.0) == \
        pytest.approx(0.5)
    x = np.linspace(-2, 2, 401)
    loss = (x - 0.3) ** 2
    assert width(x, loss, 0.0, 1.0) == pytest.approx(np.sqrt(1.09), abs=1e-3)
    # around alpha = 1 on an interpolation grid: 4 (x - 1)^2 rises by 1 at distance 0.5
    assert width(x, 4 * (x - 1) ** 2, 1.0, 1.0) == pytest.approx(0.5, abs=1e-3)


def test_width_not_reached_on_a_side_is_nan(tmp_path):
    s = read_surface(curve(tmp_path / "c.h5", lambda x: np.where(x > 0, x**2, 0.0)))
    assert math.isnan(curve_width(s, 1.0))


def test_nonconvex_share_counts_finite_points_above_the_threshold(tmp_path):
    grid = Grid.parse("-1:1:2", "-1:1:3")  # 3 x 2
    max_eig = np.array([[10.0, 10.0], [10.0, 10.0], [10.0, np.nan]])
    min_eig = np.array([[-0.5, -2.0], [-3.0, 0.0], [-0.01, -1.0]])
    path = surface_file(tmp_path / "h.h5", grid, max_eig=max_eig, min_eig=min_eig)
    share, n, excluded = nonconvex_share(read_surface(path), 0.1)
    assert (n, excluded) == (5, 1)
    assert share == pytest.approx(2 / 5)  # |-2/10| and |-3/10| exceed 0.1; 0.05 and 0 do not


def test_pca_share_and_total_variance(tmp_path):
    x, y = [3.0, 1.0, -1.0, -3.0], [1.0, -1.0, -1.0, 1.0]
    path = path_file(tmp_path / "p.h5", x, y, ratio=[0.6, 0.2])
    assert pca_share(path) == pytest.approx(0.8)
    captured = np.var(x, ddof=1) + np.var(y, ddof=1)  # 20/3 + 4/3 = 8
    assert path_total_variance(path) == pytest.approx(captured / 0.8)


def test_random_projection_variance_uses_the_directions_metric(tmp_path):
    dx = [np.array([[3.0, 0.0]]), np.array([0.0])]  # |dx|^2 = 9
    dy = [np.array([[0.0, 2.0]]), np.array([0.0])]  # |dy|^2 = 4, orthogonal
    metric = direction_metric(directions_file(tmp_path / "d.h5", dx, dy))
    np.testing.assert_allclose(metric, [[9.0, 0.0], [0.0, 4.0]])
    path = path_file(tmp_path / "r.h5", [0.1, -0.1, 0.0], [0.0, 0.0, 0.3])
    # centred a: 0.1, -0.1, 0; b: -0.1, -0.1, 0.2 -> (9 * 0.02 + 4 * 0.06) / 2
    assert projected_variance(path, metric) == pytest.approx((9 * 0.02 + 4 * 0.06) / 2)


# --------------------------------------------------------------------------------- verdicts


def verdicts(rows) -> dict[str, str]:
    return {r.claim: r.verdict for r in rows}


def test_skip_verdicts_hold_fail_and_not_measured(tmp_path):
    inputs = ClaimsInputs(surfaces={"resnet20": bowl(tmp_path / "a.h5", 1.0),
                                    "resnet20_noshort": bowl(tmp_path / "b.h5", 3.0)})
    rows = verdicts(claims_table(inputs, CFG))
    assert rows["resnet20_noshort is sharper than resnet20"] == HOLDS
    assert rows["the gap (no-skip minus skip sharpness) grows with depth"] == UNMEASURED
    swapped = ClaimsInputs(surfaces={"resnet20": bowl(tmp_path / "b.h5", 3.0) ,
                                     "resnet20_noshort": bowl(tmp_path / "a.h5", 1.0)})
    assert verdicts(claims_table(swapped, CFG))[
        "resnet20_noshort is sharper than resnet20"] == FAILS
    alone = verdicts(claims_table(ClaimsInputs(surfaces={"resnet20": tmp_path / "a.h5"}), CFG))
    assert alone["without skip connections the minimum is sharper"] == UNMEASURED


def test_the_gap_must_grow_with_depth(tmp_path):
    curv = {"resnet20": 1.0, "resnet20_noshort": 2.0, "resnet56": 1.0, "resnet56_noshort": 4.0}
    inputs = ClaimsInputs(surfaces={n: bowl(tmp_path / f"{n}.h5", c) for n, c in curv.items()})
    claim = "the gap (no-skip minus skip sharpness) grows with depth"
    assert verdicts(claims_table(inputs, CFG))[claim] == HOLDS
    curv["resnet56_noshort"] = 1.5
    inputs = ClaimsInputs(surfaces={n: bowl(tmp_path / f"{n}.h5", c) for n, c in curv.items()})
    assert verdicts(claims_table(inputs, CFG))[claim] == FAILS


def test_batch_size_rows_from_curves_metrics_and_interpolation(tmp_path):
    small, large = "vgg9_bs128_wd0.0005", "vgg9_bs8192_wd0.0005"
    inputs = ClaimsInputs(
        curves={small: curve(tmp_path / "s.h5", lambda x: x**2),  # width 1
                large: curve(tmp_path / "l.h5", lambda x: 4 * x**2)},  # width 0.5
        metrics={small: metrics(tmp_path / "s.csv", 6.0), large: metrics(tmp_path / "l.csv", 10.0)},
        # two wells, a barrier of 2 at alpha = 0.5: width sqrt(1/8) around alpha = 0,
        # sqrt(1/32) around 1 (the small batch wider: with weight decay, no flip)
        interpolations={"wd0.0005": curve(tmp_path / "i.h5", lambda a: np.where(
            a < 0.5, 8 * a**2, 32 * (a - 1) ** 2), spec="-1:2:301")})
    rows = claims_table(inputs, CFG)
    by_claim = verdicts(rows)
    assert by_claim["with weight decay (0.0005), the small-batch minimum is flatter "
                    "(the paper's claim)"] == HOLDS
    assert by_claim["with weight decay (0.0005), the small batch has the lower test error "
                    "(the paper's claim)"] == HOLDS
    flip = [r for r in rows if "flips" in r.claim]
    assert [r.verdict for r in flip] == [FAILS]
    a, b = (float(v.split(": ")[1]) for v in flip[0].value.split(", "))
    assert (a, b) == (pytest.approx(8**-0.5, abs=2e-3), pytest.approx(32**-0.5, abs=2e-3))


def test_trajectory_rows(tmp_path):
    run = "vgg9_bs128_wd0"
    pca = path_file(tmp_path / "p.h5", [3.0, 1.0, -1.0, -3.0], [1.0, -1.0, -1.0, 1.0],
                    ratio=[0.6, 0.2])  # total variance 10
    dx, dy = [np.array([[1.0, 0.0]])], [np.array([[0.0, 1.0]])]
    inputs = ClaimsInputs(
        trajectories={run: pca},
        random_paths={run: path_file(tmp_path / "r.h5", [0.0, 1.0, 0.0, -1.0], [0.0] * 4)},
        random_directions={run: directions_file(tmp_path / "d.h5", dx, dy)})
    rows = [r for r in claims_table(inputs, CFG) if r.section.startswith("trajectories")]
    assert [r.verdict for r in rows] == [HOLDS, FAILS]
    assert float(rows[1].value) == pytest.approx((2 / 3) / 10, rel=1e-3)  # var of 0, 1, 0, -1 = 2/3
    loose = ClaimsConfig(random_share_max=0.1, pca_share_min=0.9)
    assert [r.verdict for r in claims_table(inputs, loose)
            if r.section.startswith("trajectories")] == [FAILS, HOLDS]


def test_sharpness_beside_test_error_with_correlation(tmp_path):
    names = {"resnet20": (1.0, 8.0), "resnet56": (2.0, 9.0), "vgg9": (3.0, 12.0)}
    inputs = ClaimsInputs(
        surfaces={n: bowl(tmp_path / f"{n}.h5", c) for n, (c, _) in names.items()},
        metrics={n: metrics(tmp_path / f"{n}.csv", e) for n, (_, e) in names.items()})
    rows = [r for r in claims_table(inputs, CFG) if r.section == "sharpness and test error"]
    assert rows[0].verdict == HOLDS and rows[0].value.startswith("Spearman 1, Pearson")
    assert [r.verdict for r in rows[1:]] == [DATA] * 3
    two = ClaimsInputs(surfaces=dict(list(inputs.surfaces.items())[:2]), metrics=inputs.metrics)
    assert next(r for r in claims_table(two, CFG)
                if r.section == "sharpness and test error").verdict == UNMEASURED


def test_no_files_every_claim_not_measured(tmp_path):
    rows = claims_table(ClaimsInputs(), CFG)
    assert {r.verdict for r in rows} == {UNMEASURED}
    assert len({r.section for r in rows}) == 5


# ------------------------------------------------------------------------------ the files


def test_write_claims_csv_markdown_html(tmp_path):
    inputs = ClaimsInputs(surfaces={"resnet20": bowl(tmp_path / "a.h5", 1.0),
                                    "resnet20_noshort": bowl(tmp_path / "b.h5", 3.0)})
    outs = [tmp_path / f"claims.{e}" for e in ("csv", "md", "html")]
    rows = write_claims(inputs, CFG, *outs)
    with open(outs[0], newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["claim"] for r in table] == [r.claim for r in rows]
    assert "| resnet20_noshort is sharper than resnet20 |" in outs[1].read_text()
    assert "<td>holds</td>" in outs[2].read_text()
    with pytest.raises(LandscapeError, match="overwrite an input"):
        write_claims(inputs, CFG, tmp_path / "a.h5", outs[1], outs[2])


def test_cli_refuses_a_missing_input_in_one_line(tmp_path, capsys):
    missing = tmp_path / "nope.h5"
    code = main(["claims", "--surfaces", f"resnet20={missing}",
                 "--out-prefix", str(tmp_path / "claims")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0] == (f"landscape claims: error: surfaces resnet20: input file {missing} does "
                      "not exist")
    assert not list(tmp_path.iterdir())


def test_cli_writes_the_three_files_with_its_settings(tmp_path, capsys):
    a, b = bowl(tmp_path / "a.h5", 1.0), bowl(tmp_path / "b.h5", 3.0)
    code = main(["claims", "--surfaces", f"resnet20={a}", f"resnet20_noshort={b}",
                 "--radius", "0.3", "--out-prefix", str(tmp_path / "out" / "claims")])
    assert code == 0
    text = (tmp_path / "out" / "claims.csv").read_text()
    assert "radius 0.3 of the centre" in text
    assert "1 holds" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit:
        main(["claims", "--radius", "0", "--out-prefix", str(tmp_path / "x")])
    assert exit.value.code == 2
    assert "--radius: must be positive" in capsys.readouterr().err
