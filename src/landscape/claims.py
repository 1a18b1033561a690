"""The paper's qualitative claims, each tested by one number computed from this run's files.

Every measure is defined in docs/claims.md; its parameters (``ClaimsConfig``) are fixed
before any run is seen and are the same for every model. A claim the run's files cannot test
(no no-skip twin, one Hessian map, no interpolation, ...) is ``not measured``; one they test
and contradict ``does not hold``. Nothing here looks at a verdict to choose a number.

Torch-free: the files are HDF5 (surfaces, Hessian maps, trajectories, direction files) and CSV
(training metrics).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from landscape.atomic import atomic_outputs
from landscape.configs import ClaimsConfig
from landscape.errors import LandscapeError
from landscape.h5files import open_h5
from landscape.surface_file import Surface, read_surface
from landscape.tables import html_page, read_final_metrics
from landscape.trajectory_file import read_trajectory

HOLDS = "holds"
FAILS = "does not hold"
UNMEASURED = "not measured"
DATA = "data"  # a per-model row of the sharpness / test-error table: no verdict of its own
VERDICTS = (HOLDS, FAILS, UNMEASURED, DATA)

COLUMNS = ["section", "claim", "measure", "value", "verdict", "files"]
HEADERS = {"section": "section", "claim": "claim (paper)", "measure": "measure",
           "value": "value (this run)", "verdict": "verdict", "files": "files"}

NOSHORT = "_noshort"
BATCH_RUN = re.compile(r"^(?P<model>.+)_bs(?P<bs>\d+)_wd(?P<wd>[^_]+)$")


@dataclass
class Row:
    section: str
    claim: str
    measure: str
    value: str
    verdict: str
    files: list[str] = field(default_factory=list)

    def record(self) -> dict[str, str]:
        return {"section": self.section, "claim": self.claim, "measure": self.measure,
                "value": self.value, "verdict": self.verdict, "files": " ".join(self.files)}


@dataclass
class ClaimsInputs:
    """The run's files, each by the name of its run (or, for interpolations, its pair)."""

    surfaces: dict[str, Path] = field(default_factory=dict)  # 2-D loss surfaces
    curves: dict[str, Path] = field(default_factory=dict)  # 1-D filter-normalized curves
    hessians: dict[str, Path] = field(default_factory=dict)  # Hessian eigenvalue maps
    metrics: dict[str, Path] = field(default_factory=dict)  # training metrics.csv
    trajectories: dict[str, Path] = field(default_factory=dict)  # paths on PCA directions
    random_paths: dict[str, Path] = field(default_factory=dict)  # paths on random directions
    random_directions: dict[str, Path] = field(default_factory=dict)  # those directions
    interpolations: dict[str, Path] = field(default_factory=dict)  # small -> large batch

    def files(self) -> list[tuple[str, Path]]:
        return [(f"{kind} {name}", Path(p)) for kind, group in vars(self).items()
                for name, p in group.items()]

    def check(self) -> None:
        """Every named file exists: one line naming the first one that does not."""
        for what, path in self.files():
            if not path.is_file():
                raise LandscapeError(f"{what}: input file {path} does not exist")


# ------------------------------------------------------------------------------- measures


def _fmt(value: float, digits: int = 4) -> str:
    return "nan" if not math.isfinite(value) else f"{value:.{digits}g}"


def _width_text(value: float) -> str:
    return _fmt(value) if math.isfinite(value) else (
        "nan (the loss does not rise by delta within the grid on a side)")


def _split_loss(surface: Surface) -> np.ndarray:
    return surface.get("train_loss") if surface.has("train_loss") else surface.loss


def _origin(coordinates: np.ndarray) -> int | None:
    """The index of the grid coordinate 0, or None when 0 is not on the axis."""
    span = float(coordinates.max() - coordinates.min()) or 1.0
    i = int(np.abs(coordinates).argmin())
    return i if abs(coordinates[i]) <= 1e-9 * span else None


def sharpness(surface: Surface, radius: float) -> tuple[float, int]:
    """Mean of ``loss - loss(0, 0)`` over the computed 2-D grid points at filter-normalized
    distance ``0 < sqrt(x^2 + y^2) <= radius`` (train loss), and how many points that is.
    NaN (0 points) when the centre is not a grid point or no point lies in the disc."""
    if surface.ndim != 2:
        raise LandscapeError(f"surface {surface.source} is 1-D; sharpness needs a 2-D surface")
    loss = _split_loss(surface)
    x, y = surface.x, surface.y
    i, j = _origin(y), _origin(x)
    if i is None or j is None or not math.isfinite(loss[i, j]):
        return math.nan, 0
    r = np.hypot(*np.meshgrid(x, y))  # (len(y), len(x)), like the values
    inside = (r > 0) & (r <= radius * (1 + 1e-9)) & np.isfinite(loss) & surface.computed
    if not inside.any():
        return math.nan, 0
    return float((loss[inside] - loss[i, j]).mean()), int(inside.sum())


def side_width(x: np.ndarray, loss: np.ndarray, centre: float, delta: float) -> tuple[float, float]:
    """Distance from ``centre`` at which ``loss`` first exceeds ``loss(centre) + delta``, on the
    left and on the right (linear interpolation between grid points); NaN on a side where it
    never does within the grid (the width is then not measured)."""
    i = _origin(x - centre)
    if i is None or not math.isfinite(loss[i]):
        return math.nan, math.nan
    level = loss[i] + delta
    widths = []
    for step in (-1, 1):
        width = math.nan
        k = i
        while 0 <= k + step < len(x):
            a, b = loss[k], loss[k + step]
            if not math.isfinite(b):
                break
            if b > level:
                t = (level - a) / (b - a)  # a <= level < b
                width = abs(x[k] + t * (x[k + step] - x[k]) - x[i])
                break
            k += step
        widths.append(width)
    return widths[0], widths[1]


def width(x: np.ndarray, loss: np.ndarray, centre: float, delta: float) -> float:
    """Mean of the two side widths (NaN when either is not measured)."""
    return float(np.mean(side_width(x, loss, centre, delta)))


def curve_width(surface: Surface, delta: float, centre: float = 0.0) -> float:
    """``width`` of a 1-D surface's train loss around ``centre``."""
    if surface.ndim != 1:
        raise LandscapeError(f"surface {surface.source} is 2-D; a width needs a 1-D curve")
    return width(surface.x, _split_loss(surface), centre, delta)


def nonconvex_share(surface: Surface, threshold: float) -> tuple[float, int, int]:
    """Share of the Hessian map's finite points with ``|lambda_min / lambda_max| > threshold``;
    with the number of those points and of the excluded (NaN, uncomputed) ones."""
    ratio = surface.get("eig_ratio")
    finite = np.isfinite(ratio) & surface.computed
    n = int(finite.sum())
    if n == 0:
        return math.nan, 0, int(ratio.size)
    return float((ratio[finite] > threshold).mean()), n, int(ratio.size - n)


def pca_share(path: str | Path) -> float:
    """The share of the path's variance its first two PCA components explain."""
    t = read_trajectory(path)
    if t.explained_variance_ratio is None:
        raise LandscapeError(f"trajectory file {path} holds no explained_variance_ratio: "
                             "not a path on PCA directions")
    return float(np.sum(t.explained_variance_ratio))


def path_total_variance(path: str | Path) -> float:
    """The path's total variance (per checkpoint, ddof 1) from its PCA file: the coordinates
    on the orthonormal PCA directions hold ``share`` of it."""
    t = read_trajectory(path)
    share = pca_share(path)
    captured = float(np.var(t.x, ddof=1) + np.var(t.y, ddof=1))
    return captured / share if share > 0 else math.nan


def direction_metric(path: str | Path) -> np.ndarray:
    """The 2 x 2 Gram matrix of a direction file's x and y directions (float64)."""
    with open_h5(path, "direction file") as fh:
        if "xdirection" not in fh or "ydirection" not in fh:
            raise LandscapeError(f"direction file {path} needs xdirection and ydirection")
        axes = []
        for name in ("xdirection", "ydirection"):
            group = fh[name]
            keys = sorted(group.keys(), key=lambda k: int(k) if k.isdigit() else -1)
            axes.append([np.asarray(group[k][()], dtype=np.float64).ravel() for k in keys])
    if len(axes[0]) != len(axes[1]):
        raise LandscapeError(f"direction file {path}: the two directions differ in length")
    return np.array([[sum(float(a @ b) for a, b in zip(p, q)) for q in axes] for p in axes])


def projected_variance(path: str | Path, metric: np.ndarray) -> float:
    """Variance (ddof 1) of the path's projection ``a dx + b dy`` onto the plane of two
    directions: the mean of ``(c - c_mean)^T M (c - c_mean)`` over checkpoints, ``M`` their
    Gram matrix (the file stores the least-squares coefficients ``c = (a, b)``)."""
    t = read_trajectory(path)
    c = np.stack([t.x, t.y], axis=1)
    if len(c) < 2:
        return math.nan
    c = c - c.mean(axis=0)
    return float(np.einsum("ni,ij,nj->", c, metric, c) / (len(c) - 1))


def final_test_error(path: str | Path) -> float:
    return read_final_metrics(path).test_err


# ------------------------------------------------------------------------------- verdicts


def above(a: float, b: float) -> str:
    """``a > b``: holds / does not hold, not measured when either is NaN."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return UNMEASURED
    return HOLDS if a > b else FAILS


def at_least(a: float, b: float) -> str:
    if not math.isfinite(a):
        return UNMEASURED
    return HOLDS if a >= b else FAILS


def increasing(values: Sequence[float]) -> str:
    """Strictly increasing (2+ finite values), else not measured."""
    if len(values) < 2 or not all(math.isfinite(v) for v in values):
        return UNMEASURED
    return HOLDS if all(b > a for a, b in itertools.pairwise(values)) else FAILS


# ---------------------------------------------------------------------------------- claims


def skip_pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    """(skip, no-skip) twins among ``names``: X and X_noshort."""
    return [(n, f"{n}{NOSHORT}") for n in names if f"{n}{NOSHORT}" in names]


def depth(name: str) -> int | None:
    m = re.fullmatch(r"resnet(\d+)", name)
    return int(m.group(1)) if m else None


def skip_claims(inputs: ClaimsInputs, cfg: ClaimsConfig, sharp: Mapping[str, float]) -> list[Row]:
    section = "skip connections (Figs. 1, 5, 6)"
    measure = (f"sharpness: mean train-loss rise over the 2-D grid points within "
               f"filter-normalized radius {cfg.radius:g} of the centre")
    pairs = skip_pairs(list(inputs.surfaces))
    rows = []
    if not pairs:
        rows.append(Row(section, "without skip connections the minimum is sharper",
                        measure, "no X / X_noshort pair of 2-D surfaces in this run",
                        UNMEASURED))
    for skip, plain in pairs:
        a, b = sharp[plain], sharp[skip]
        rows.append(Row(section, f"{plain} is sharper than {skip}", measure,
                        f"{plain} {_fmt(a)}, {skip} {_fmt(b)}", above(a, b),
                        [str(inputs.surfaces[plain]), str(inputs.surfaces[skip])]))
    deep = sorted((depth(s), s, p) for s, p in pairs if depth(s) is not None)
    claim = "the gap (no-skip minus skip sharpness) grows with depth"
    if len(deep) < 2:
        rows.append(Row(section, claim, measure, "fewer than two ResNet depths with both twins",
                        UNMEASURED))
    else:
        gaps = [sharp[p] - sharp[s] for _, s, p in deep]
        value = ", ".join(f"depth {d}: {_fmt(g)}" for (d, _, _), g in zip(deep, gaps))
        files = [str(inputs.surfaces[n]) for _, s, p in deep for n in (s, p)]
        rows.append(Row(section, claim, measure, value, increasing(gaps), files))
    return rows


def convexity_claims(inputs: ClaimsInputs, cfg: ClaimsConfig) -> list[Row]:
    section = "non-convexity (Fig. 7)"
    measure = (f"share of Hessian-map points with |lambda_min/lambda_max| > "
               f"{cfg.ratio_threshold:g} (NaN points excluded)")
    pairs = skip_pairs(list(inputs.hessians))
    if not pairs:
        return [Row(section, "without skip connections more of the map is non-convex", measure,
                    "no X / X_noshort pair of Hessian maps in this run", UNMEASURED,
                    [str(p) for p in inputs.hessians.values()])]
    rows = []
    for skip, plain in pairs:
        (a, na, xa), (b, nb, xb) = (nonconvex_share(read_surface(inputs.hessians[n]),
                                                    cfg.ratio_threshold) for n in (plain, skip))
        value = (f"{plain} {_fmt(a)} ({na} points, {xa} excluded), "
                 f"{skip} {_fmt(b)} ({nb} points, {xb} excluded)")
        rows.append(Row(section, f"{plain} has a larger non-convex share than {skip}", measure,
                        value, above(a, b),
                        [str(inputs.hessians[plain]), str(inputs.hessians[skip])]))
    return rows


def batch_runs(names: Sequence[str]) -> dict[str, dict[float, tuple[str, str]]]:
    """Per weight decay (as written in the name), the smallest- and largest-batch run."""
    by_wd: dict[str, list[tuple[int, str]]] = {}
    for name in names:
        m = BATCH_RUN.match(name)
        if m:
            by_wd.setdefault(m.group("wd"), []).append((int(m.group("bs")), name))
    return {wd: (min(r)[1], max(r)[1]) for wd, r in by_wd.items() if len(r) >= 2}


def batch_claims(inputs: ClaimsInputs, cfg: ClaimsConfig) -> list[Row]:
    section = "batch size (Figs. 2, 3)"
    wmeasure = (f"1-D filter-normalized width: mean distance from 0 (both sides) where the "
                f"train loss first exceeds its value at 0 + {cfg.delta:g}")
    names = sorted(set(inputs.curves) | set(inputs.metrics))
    studies = batch_runs(names)
    rows = []
    if not studies:
        rows.append(Row(section, "small-batch minima are flatter", wmeasure,
                        "no batch-size study with two batch sizes in this run", UNMEASURED))
    for wd, (small, large) in sorted(studies.items()):
        tag = "with" if float(wd) > 0 else "without"
        paper = "the paper's claim" if float(wd) > 0 else "reported beside it"
        if small in inputs.curves and large in inputs.curves:
            a, b = (curve_width(read_surface(inputs.curves[n]), cfg.delta) for n in (small, large))
            value, verdict = f"{small} {_width_text(a)}, {large} {_width_text(b)}", above(a, b)
            files = [str(inputs.curves[small]), str(inputs.curves[large])]
        else:
            value, verdict, files = "a 1-D curve is missing", UNMEASURED, []
        rows.append(Row(section, f"{tag} weight decay ({wd}), the small-batch minimum is flatter"
                        f" ({paper})", wmeasure, value, verdict, files))
        if small in inputs.metrics and large in inputs.metrics:
            a, b = (final_test_error(inputs.metrics[n]) for n in (small, large))
            value, verdict = f"{small} {a:.2f} %, {large} {b:.2f} %", above(b, a)
            files = [str(inputs.metrics[small]), str(inputs.metrics[large])]
        else:
            value, verdict, files = "a metrics file is missing", UNMEASURED, []
        rows.append(Row(section, f"{tag} weight decay ({wd}), the small batch has the lower "
                        f"test error ({paper})", "final-epoch test error (%)", value, verdict,
                        files))
    imeasure = (f"width in alpha units of the train loss around alpha = 0 (small batch) and "
                f"alpha = 1 (large batch), loss rise {cfg.delta:g}")
    if not inputs.interpolations:
        rows.append(Row(section, "non-normalized interpolation (Fig. 2): the small-batch "
                        "minimum looks wider without weight decay, the comparison flips with it",
                        imeasure, "no interpolation in this run", UNMEASURED))
    for pair, path in sorted(inputs.interpolations.items()):
        surface = read_surface(path)
        loss = _split_loss(surface)
        a, b = (width(surface.x, loss, c, cfg.delta) for c in (0.0, 1.0))
        wd = pair.removeprefix("wd")
        try:
            decayed = float(wd) > 0
        except ValueError:
            decayed = None
        if decayed is None:
            claim, verdict = f"{pair}: which minimum looks wider", UNMEASURED
        elif decayed:
            claim, verdict = (f"with weight decay ({wd}) the non-normalized plot flips: the "
                              "large-batch minimum looks wider"), above(b, a)
        else:
            claim, verdict = (f"without weight decay ({wd}) the small-batch minimum looks wider"
                              " in the non-normalized plot"), above(a, b)
        rows.append(Row(section, claim, imeasure, f"alpha=0: {_width_text(a)}, alpha=1: {_width_text(b)}",
                        verdict, [str(path)]))
    return rows


def trajectory_claims(inputs: ClaimsInputs, cfg: ClaimsConfig) -> list[Row]:
    section = "trajectories (Figs. 8, 9)"
    pmeasure = "explained variance ratio of the first two PCA components (sum)"
    rows = []
    if not inputs.trajectories:
        rows.append(Row(section, f"two PCA directions explain >= {cfg.pca_share_min:g} of the "
                        "path's variance", pmeasure, "no trajectory in this run", UNMEASURED))
    for run, path in sorted(inputs.trajectories.items()):
        share = pca_share(path)
        rows.append(Row(section, f"{run}: two PCA directions explain >= {cfg.pca_share_min:g}"
                        " of the path's variance", pmeasure, _fmt(share),
                        at_least(share, cfg.pca_share_min), [str(path)]))
    rmeasure = ("variance of the path's projection onto the plane of the two random directions"
                " / the path's total variance (from its PCA file)")
    claim = f"two random directions capture <= {cfg.random_share_max:g} of the path's variance"
    if not inputs.random_paths:
        rows.append(Row(section, claim, rmeasure, "no random-direction path in this run",
                        UNMEASURED))
    for run, path in sorted(inputs.random_paths.items()):
        if run not in inputs.trajectories or run not in inputs.random_directions:
            rows.append(Row(section, f"{run}: {claim}", rmeasure,
                            "needs the run's PCA path and its direction file", UNMEASURED,
                            [str(path)]))
            continue
        total = path_total_variance(inputs.trajectories[run])
        share = projected_variance(path, direction_metric(inputs.random_directions[run])) / total
        verdict = UNMEASURED if not math.isfinite(share) else (
            HOLDS if share <= cfg.random_share_max else FAILS)
        rows.append(Row(section, f"{run}: {claim}", rmeasure, _fmt(share), verdict,
                        [str(path), str(inputs.random_directions[run]),
                         str(inputs.trajectories[run])]))
    return rows


def correlation_claims(inputs: ClaimsInputs, cfg: ClaimsConfig,
                       sharp: Mapping[str, float]) -> list[Row]:
    section = "sharpness and test error"
    measure = f"sharpness (radius {cfg.radius:g}) beside final-epoch test error (%)"
    rows = []
    pairs = []
    for name in sorted(sharp):
        if name not in inputs.metrics:
            continue
        err = final_test_error(inputs.metrics[name])
        pairs.append((sharp[name], err))
        rows.append(Row(section, f"{name}", measure,
                        f"sharpness {_fmt(sharp[name])}, test error {err:.2f} %", DATA,
                        [str(inputs.surfaces[name]), str(inputs.metrics[name])]))
    claim = "flatter minima (lower sharpness) have lower test error"
    cmeasure = "Spearman (and Pearson) correlation of sharpness and test error over the models"
    finite = [(s, e) for s, e in pairs if math.isfinite(s) and math.isfinite(e)]
    if len(finite) < 3:
        rows.insert(0, Row(section, claim, cmeasure,
                           f"{len(finite)} model(s) with both numbers; needs 3", UNMEASURED))
        return rows
    frame = pd.DataFrame(finite, columns=["sharpness", "error"])
    rho = float(frame.corr(method="spearman").iloc[0, 1])
    r = float(frame.corr(method="pearson").iloc[0, 1])
    verdict = UNMEASURED if not math.isfinite(rho) else (HOLDS if rho > 0 else FAILS)
    rows.insert(0, Row(section, claim, cmeasure,
                       f"Spearman {_fmt(rho, 3)}, Pearson {_fmt(r, 3)} over {len(finite)} models",
                       verdict))
    return rows


def claims_table(inputs: ClaimsInputs, cfg: ClaimsConfig) -> list[Row]:
    """Every claim's row, in the order of docs/claims.md."""
    cfg.validate()
    inputs.check()
    sharp = {}
    for name, path in inputs.surfaces.items():
        sharp[name] = sharpness(read_surface(path), cfg.radius)[0]
    return [*skip_claims(inputs, cfg, sharp), *convexity_claims(inputs, cfg),
            *batch_claims(inputs, cfg), *trajectory_claims(inputs, cfg),
            *correlation_claims(inputs, cfg, sharp)]


# ----------------------------------------------------------------------------------- files

TITLE = "The paper's claims, measured on this run"
NOTE = ("Each claim of Li et al. (2018) with the number that tests it on this run (definitions: "
        "docs/claims.md). 'not measured': this run lacks the files; a small or short run is "
        "expected to fail claims the paper's full runs support.")


def claims_frame(rows: Sequence[Row]) -> pd.DataFrame:
    return pd.DataFrame([r.record() for r in rows], columns=COLUMNS)


def claims_markdown(rows: Sequence[Row]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    shown = [c for c in COLUMNS if c != "files"]
    lines = ["| " + " | ".join(HEADERS[c] for c in shown) + " |",
             "|" + "|".join(":---" for _ in shown) + "|"]
    lines += ["| " + " | ".join(cell(r.record()[c]) for c in shown) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def claims_html(rows: Sequence[Row]) -> str:
    shown = [c for c in COLUMNS if c != "files"]
    return html_page(TITLE, [HEADERS[c] for c in shown],
                     [[r.record()[c] for c in shown] for r in rows],
                     [False] * len(shown), NOTE)


def write_claims(inputs: ClaimsInputs, cfg: ClaimsConfig, out_csv: str | Path,
                 out_md: str | Path, out_html: str | Path) -> list[Row]:
    """Build the rows and write CSV, Markdown and HTML, all or nothing."""
    outputs = [Path(out_csv), Path(out_md), Path(out_html)]
    if len({p.resolve() for p in outputs}) < 3:
        raise LandscapeError(f"two outputs are the same file: {', '.join(map(str, outputs))}")
    inputs_resolved = {p.resolve() for _, p in inputs.files()}
    for out in outputs:
        if out.resolve() in inputs_resolved:
            raise LandscapeError(f"output {out} would overwrite an input")
    rows = claims_table(inputs, cfg)
    texts = [claims_frame(rows).to_csv(index=False, lineterminator="\n"),
             claims_markdown(rows), claims_html(rows)]
    with atomic_outputs(*outputs) as temps:
        for temp, text in zip(temps, texts):
            temp.write_text(text, encoding="utf-8")
    return rows

