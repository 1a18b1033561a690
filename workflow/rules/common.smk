# Shared helpers: output paths, the runs and studies the config defines, config checks the
# schema cannot express, and the small named functions that turn config values into rule
# inputs and command-line arguments.
#
# Rule params carry exactly the config values a stage depends on: Snakemake reruns a job
# whose params changed, so a figure setting reruns only figures, a grid change only that
# surface's sweep and figures, a training change only that run's chain.

import re
import shlex

from snakemake.exceptions import WorkflowError

from landscape.captions import paper_errors_sentence, recipes_sentence
from landscape.choices import DATA_FOLDERS, KINDS_1D, KINDS_2D, TEST_FILES, TRAIN_FILES
from landscape.configs import (
    ClaimsConfig,
    DataConfig,
    DirectionsConfig,
    HessianConfig,
    SurfaceConfig,
    TrainConfig,
    VtpConfig,
)
from landscape.data import split_size
from landscape.errors import LandscapeError
from landscape.grid import parse_axis
from landscape.paths import check_data_dir
from landscape.plots.options import PlotOptions
from landscape.settings import command_line, from_mapping

RUN = f"results/{config['run_name']}"
LOGS = f"{RUN}/logs"
BENCHMARKS = f"{RUN}/benchmarks"

# Paths of every stage's files, with the wildcards the rules fill in. A {run} is one trained
# network: a model of the architecture study (named as the model), or a run of the batch-size
# study (<model>_bs<batch size>_wd<weight decay>).
CHECKPOINT = f"{RUN}/train/{{run}}/final.pt"
METRICS = f"{RUN}/train/{{run}}/metrics.csv"
DIRECTIONS = f"{RUN}/directions/{{run}}.h5"
SHARD = f"{RUN}/surfaces/{{run}}/shard_{{shard}}-of-{{nshards}}.h5"
SURFACE = f"{RUN}/surfaces/{{run}}.h5"
CURVE = f"{RUN}/surfaces/{{run}}_1d.h5"
VTP = f"{RUN}/surfaces/{{run}}.vtp"
HTML3D = f"{RUN}/surfaces/{{run}}.html"
FIGURE = f"{RUN}/figures/{{run}}_{{kind}}.{{ext}}"
PANEL = f"{RUN}/figures/{{panel}}.{{ext}}"
TABLE = f"{RUN}/tables/results_{{study}}.{{ext}}"
PROVENANCE = f"{RUN}/tables/provenance_{{study}}.{{ext}}"
TRAINING_CURVES = f"{RUN}/figures/training_curves_{{study}}.{{ext}}"
# The batch-size study: optimizer paths (PCA directions, the surface around the final model on
# them, the path on the run's random directions) and interpolations between two solutions.
TRAJECTORY = f"{RUN}/trajectories/{{run}}/pca_path.h5"
PCA_DIRECTIONS = f"{RUN}/trajectories/{{run}}/pca_directions.h5"
PCA_SHARD = f"{RUN}/trajectories/{{run}}/pca_shard_{{shard}}-of-{{nshards}}.h5"
PCA_SURFACE = f"{RUN}/trajectories/{{run}}/pca_surface.h5"
RANDOM_PATH = f"{RUN}/trajectories/{{run}}/random_path.h5"
INTERP_DIRECTION = f"{RUN}/interpolations/{{pair}}_direction.h5"
INTERPOLATION = f"{RUN}/interpolations/{{pair}}.h5"
# Curvature: Hessian eigenvalue maps.
HESSIAN_SHARD = f"{RUN}/hessian/{{run}}/shard_{{shard}}-of-{{nshards}}.h5"
HESSIAN = f"{RUN}/hessian/{{run}}.h5"
# The paper's claims, each with the number that tests it on this run.
CLAIMS = f"{RUN}/tables/claims.{{ext}}"

FIGURE_FORMATS = ["pdf", "png"]  # PDF for papers; PNG for the HTML report

# Each job asks for one thread. The models are small, and on a CPU jobs side by side use the
# cores better than threads inside one job (the smoke preset on 2 busy cores: 129 s with
# one thread per job, 236 s with two), and GPU jobs keep their data on the GPU.
# Raise it per rule with --set-threads train=4 where that pays off.


# -------------------------------------------------------------------- runs and studies


def batch_study_runs(cfg: dict) -> dict[str, dict]:
    """The batch-size study's runs, row by row (weight decay) and column by column (batch
    size), each with its changes to the shared recipe."""
    study = cfg["batch_size_study"]
    runs = {}
    for wd in study["weight_decays"]:
        for bs in study["batch_sizes"]:
            recipe = {**study["train"], "batch_size": bs, "weight_decay": wd}
            runs[f"{study['model']}_bs{bs}_wd{wd:g}"] = {"model": study["model"], "train": recipe}
    return runs


def all_runs(cfg: dict) -> dict[str, dict]:
    """Every trained network: run name -> its model and its changes to the shared recipe."""
    runs = {m: {"model": m, "train": cfg["train_overrides"].get(m, {})} for m in cfg["models"]}
    for name, run in batch_study_runs(cfg).items():
        if name in runs:
            raise WorkflowError(f"config key models: {name} is also a run of batch_size_study")
        runs[name] = run
    return runs


RUNS = all_runs(config)
STUDY_RUNS = {"architecture": list(config["models"]), "batch_size": list(batch_study_runs(config))}


def interpolation_pairs(cfg: dict) -> dict[str, tuple[str, str]]:
    """Per weight decay, the smallest- and the largest-batch run (paper Fig. 2)."""
    study = cfg["batch_size_study"]
    small, large = min(study["batch_sizes"]), max(study["batch_sizes"])
    if small == large:
        return {}
    runs = batch_study_runs(cfg)
    return {
        f"wd{wd:g}": tuple(
            next(
                n
                for n, r in runs.items()
                if r["train"] == {**study["train"], "batch_size": bs, "weight_decay": wd}
            )
            for bs in (small, large)
        )
        for wd in study["weight_decays"]
    }


PAIRS = interpolation_pairs(config)


def study_panels(cfg: dict) -> dict[str, dict]:
    """Fig. 3 (rows: weight decay, columns: batch size): 1-D curves and 2-D contours."""
    study = cfg["batch_size_study"]
    names = list(batch_study_runs(cfg))
    if not names:
        return {}
    cols = len(study["batch_sizes"])
    rows = [names[i : i + cols] for i in range(0, len(names), cols)]
    return {
        "fig3_1d": {"kind": "1d", "models": rows},
        "fig3_2d": {"kind": "contour", "models": rows},
    }


PANELS = {**config["panels"], **study_panels(config)}


def train_recipe(run: str) -> dict:
    """The shared recipe with this run's changes applied (only this run's)."""
    return {**config["train"], **RUNS[run]["train"]}


# ------------------------------------------------------------------------ config checks
# The schema checks types and ranges; these ask the library's own validators (the ones its
# commands run) about everything else, and name the config key.


def validated(key: str, check, *args):
    """``check(*args)``, with a library refusal turned into one line naming the config key."""
    try:
        return check(*args)
    except LandscapeError as exc:
        raise WorkflowError(f"config key {key}: {exc}") from None


def check_data(cfg: dict) -> None:
    data = {"dataset": cfg["dataset"], "data_dir": cfg["data_dir"]}
    validated("data_dir", lambda: from_mapping(DataConfig, data).validate())
    validated("data_dir", check_data_dir, cfg["data_dir"], cfg["dataset"])


def train_config(run: str) -> TrainConfig:
    data = {"dataset": config["dataset"], "data_dir": config["data_dir"]}
    return from_mapping(TrainConfig, {"model": RUNS[run]["model"], **data, **train_recipe(run)})


def check_training(cfg: dict) -> None:
    for run in RUNS:
        if run in cfg["train_overrides"]:
            key = f"train_overrides.{run}"
        elif run in STUDY_RUNS["batch_size"]:
            key = "batch_size_study"
        else:
            key = "train"
        validated(key, lambda: train_config(run).validate())


CURVES = ("curve.x", "batch_size_study.interpolation.x")  # 1-D sweeps, drawn as curves


def check_sweeps(cfg: dict) -> None:
    axes = ["surface.x", "surface.y", *CURVES, "curvature.x", "curvature.y"]
    for key in axes:
        *section, axis = key.split(".")
        value = cfg
        for part in section:
            value = value[part]
        parsed = validated(key, parse_axis, value[axis], axis)
        if key in CURVES and parsed.num < 2:
            raise WorkflowError(
                f"config key {key}: {value[axis]!r} is a single point; a curve needs 2 or "
                "more (MIN:MAX:NUM with NUM >= 2)"
            )
    given = {"checkpoint": "-", "directions": "-", "x": cfg["surface"]["x"]}
    validated("sweep", lambda: from_mapping(SurfaceConfig, {**given, **cfg["sweep"]}).validate())
    validated(
        "directions",
        lambda: from_mapping(DirectionsConfig, {"checkpoint": "-", **cfg["directions"]}).validate(),
    )


def check_interpolation(cfg: dict) -> None:
    """Fig. 2 marks the two solutions at alpha = 0 and 1 with their own loss: both must be
    points of the interpolation grid, or the marks claim values nobody computed."""
    key = "batch_size_study.interpolation.x"
    spec = cfg["batch_size_study"]["interpolation"]["x"]
    alphas = parse_axis(spec, "x").coordinates()
    tol = 1e-9 * max(1.0, float(alphas[-1] - alphas[0]))
    missing = [a for a in (0, 1) if not (abs(alphas - a) <= tol).any()]
    if missing:
        raise WorkflowError(
            f"config key {key} = {spec!r}: the grid has no point at alpha ="
            f" {' and '.join(map(str, missing))}, where Fig. 2 marks the two solutions;"
            " choose MIN:MAX:NUM with both 0 and 1 on it, e.g. -1:2:301 or -0.5:1.5:5"
        )


def check_subsets(cfg: dict) -> None:
    """A subset larger than a split it evaluates would fail its sweep after the training."""
    splits = {*cfg["surface"]["splits"], *cfg["curve"]["splits"]}
    splits |= set(cfg["batch_size_study"]["interpolation"]["splits"])
    checks = (
        ("sweep.subset", cfg["sweep"]["subset"], splits),
        ("curvature.subset", cfg["curvature"]["subset"], {"train"}),
    )
    for key, subset, used in checks:
        for split in sorted(used, reverse=True):  # test first: the smaller split
            size = split_size(cfg["dataset"], split)
            if subset is not None and subset > size:
                raise WorkflowError(
                    f"config key {key}: {subset} is larger than the {size} images of "
                    f"{cfg['dataset']}'s {split} split"
                )


def check_panels(panels: dict, runs: dict) -> None:
    """Each panel is a rectangle of runs that this config trains."""
    for name, panel in panels.items():
        key = f"panels.{name}.models"
        rows = panel["models"]
        if len({len(row) for row in rows}) != 1:
            raise WorkflowError(f"config key {key}: all rows must have the same number of models")
        taken = {f"{r}_{kind}" for r in runs for kind in (*KINDS_2D, *KINDS_1D)}
        if name in taken:
            raise WorkflowError(f"config key panels.{name}: the name of a per-model figure")
        missing = sorted({m for row in rows for m in row} - set(runs))
        if missing:
            raise WorkflowError(f"config key {key}: {', '.join(missing)} not in config key models")


HESSIAN_KEYS = ("x", "y", "subset", "tol", "max_iter", "params")
VTP_KEYS = ("surf_name", "log", "zmax", "encoding")


def check_exports(cfg: dict) -> None:
    """Curvature maps and 3-D exports: of runs this config trains, with valid settings."""
    for key in ("curvature", "vtp"):
        missing = sorted(set(cfg[key]["models"]) - set(RUNS))
        if missing:
            raise WorkflowError(
                f"config key {key}.models: {', '.join(missing)} not in config key models"
            )
    hessian = {k: v for k, v in cfg["curvature"].items() if k in HESSIAN_KEYS}
    given = {"checkpoint": "-", "directions": "-"}
    validated("curvature", lambda: from_mapping(HessianConfig, {**given, **hessian}).validate())
    vtp = {k: v for k, v in cfg["vtp"].items() if k in VTP_KEYS}
    validated("vtp", lambda: from_mapping(VtpConfig, vtp).validate())


VALUE_KEYS = ("vmin", "vmax", "vlevel", "zmax", "log")


def check_plot(cfg: dict) -> None:
    split = cfg["plot"]["surf_name"].split("_")[0]
    if split not in cfg["surface"]["splits"]:
        raise WorkflowError(
            f"config key plot.surf_name = {cfg['plot']['surf_name']}: needs {split} in surface.splits"
        )
    for key, section in (("plot", cfg["plot"]), ("plot.curve", cfg["plot"]["curve"])):
        values = {k: v for k, v in section.items() if k in VALUE_KEYS}
        validated(key, lambda: PlotOptions(**values).check())


def check_claims(cfg: dict) -> None:
    validated("claims", lambda: from_mapping(ClaimsConfig, cfg["claims"]).validate())


def check_config(cfg: dict) -> None:
    """Checks beyond the schema, each naming the config key; run before any job."""
    check_data(cfg)
    check_training(cfg)
    check_sweeps(cfg)
    check_interpolation(cfg)
    check_subsets(cfg)
    check_panels(cfg["panels"], RUNS)
    check_exports(cfg)
    check_plot(cfg)
    check_claims(cfg)


check_config(config)


wildcard_constraints:
    run="|".join(re.escape(r) for r in RUNS),
    panel="|".join(re.escape(p) for p in PANELS) or "(?!)",
    pair="|".join(re.escape(p) for p in PAIRS) or "(?!)",
    study="architecture|batch_size|curvature",
    shard=r"\d+",
    nshards=r"\d+",


# ---------------------------------------------------------------------- command lines


def options(settings: dict, only=None) -> str:
    """Command-line options for a config section: one flag per key, as the CLI names them."""
    return " ".join(shlex.quote(word) for word in command_line(settings, only))


# -------------------------------------------------------------------------------- data


def dataset_files() -> list[str]:
    """The verified batch files of the configured data set (written by the `data` rule)."""
    folder = f"{config['data_dir']}/{DATA_FOLDERS[config['dataset']]}"
    return [f"{folder}/{name}" for name in (*TRAIN_FILES, *TEST_FILES)]


def data_arguments() -> str:
    return options({"dataset": config["dataset"], "data_dir": config["data_dir"]})


# ------------------------------------------------------------------------------- train


def train_arguments(wildcards) -> str:
    """`landscape train` options for one run; a rule param, so a change retrains it."""
    return options({"model": RUNS[wildcards.run]["model"], **train_recipe(wildcards.run)})


# --------------------------------------------------------------------- directions, sweeps


def direction_arguments() -> str:
    return f"--axes 2 {options(config['directions'])}"


def sweep_arguments() -> str:
    """How each point is evaluated (data subset, batch size): shared by every sweep."""
    return options(config["sweep"])


def surface_arguments() -> str:
    return options(config["surface"], only=("x", "y", "splits"))


def curve_arguments() -> str:
    return options(config["curve"])


def surface_shards(wildcards) -> list[str]:
    """The shard files of one run's surface, in shard order."""
    n = config["surface"]["shards"]
    return expand(SHARD, run=wildcards.run, shard=range(n), nshards=n)


# ---------------------------------------------------------------------- batch-size study


def trajectory_arguments() -> str:
    return options(config["batch_size_study"]["trajectory"], only=("margin", "grid_points"))


def pca_shards(wildcards) -> list[str]:
    n = config["batch_size_study"]["trajectory"]["shards"]
    return expand(PCA_SHARD, run=wildcards.run, shard=range(n), nshards=n)


def pair_checkpoints(wildcards) -> dict[str, str]:
    small, large = PAIRS[wildcards.pair]
    return {"start": CHECKPOINT.format(run=small), "target": CHECKPOINT.format(run=large)}


def interpolation_arguments() -> str:
    return options(config["batch_size_study"]["interpolation"], only=("x", "splits"))


def interpolation_marks(wildcards) -> str:
    """The two solutions marked at alpha = 0 and 1, labelled with their batch sizes."""
    small, large = (train_recipe(run)["batch_size"] for run in PAIRS[wildcards.pair])
    return options({"marks": [0, 1], "mark_labels": [f"batch {small}", f"batch {large}"]})


def fig8_runs() -> list[str]:
    """The run whose path is drawn on its random directions (paper Fig. 8): the first."""
    return STUDY_RUNS["batch_size"][:1]


# ---------------------------------------------------------------------------- curvature


def hessian_arguments() -> str:
    return options(config["curvature"], only=HESSIAN_KEYS)


def hessian_shards(wildcards) -> list[str]:
    n = config["curvature"]["shards"]
    return expand(HESSIAN_SHARD, run=wildcards.run, shard=range(n), nshards=n)


# ------------------------------------------------------------------------------ figures
# The HTML report (snakemake --report) has one page (category) per experiment of the paper,
# each in the same sections (subcategories, which the report sorts by name). Every file in
# it has a caption under workflow/report/ saying what the paper's version shows.

STUDIES = {  # short titles: the report's side bar shows the path
    "architecture": "Architecture (Figs. 1, 4, 5, 6)",
    "batch_size": "Batch size (Figs. 2, 3, 8, 9)",
    "curvature": "Curvature (Fig. 7)",
}
CLAIMS_PAGE = "The paper's claims, measured"
SECTIONS = {
    "table": "1. Results table",
    "training": "2. Training curves",
    "paper": "3. Paper figures",
    "models": "4. Per model",
    "provenance": "5. Provenance",
}


def study_of(run: str) -> str:
    return "batch_size" if run in STUDY_RUNS["batch_size"] else "architecture"


def in_report(path: str, caption: str, section: str, labels, category=None):
    """``path`` marked for the report: on ``category``'s page (default: the page of the run
    in the path), in ``section``, captioned by workflow/report/<caption>.rst."""
    return report(
        path,
        caption=f"../report/{caption}.rst",
        category=category or (lambda wildcards: STUDIES[study_of(wildcards.run)]),
        subcategory=SECTIONS[section],
        labels=labels,
    )


def plot_style() -> str:
    """Settings of the 2-D figures and panels (a param: a change reruns only figures)."""
    return options(config["plot"], only=("surf_name", "dpi", *VALUE_KEYS))


def path_style() -> str:
    """Settings of the trajectory figures (contours under the path)."""
    return options(config["plot"], only=("surf_name", "dpi", "vmin", "vmax", "vlevel", "log"))


def curvature_style() -> str:
    """Settings of Fig. 7: the ratio's colour scale, the contour levels of the loss below."""
    return " ".join(
        [
            options(config["curvature"], only=("ratio_max",)),
            options(config["plot"], only=("dpi", "vmin", "vmax", "vlevel", "log")),
        ]
    )


def curve_style() -> str:
    """Settings of the 1-D figures."""
    return options({**config["plot"]["curve"], "dpi": config["plot"]["dpi"]})


def surface_figures(ext: str) -> list:
    """One file per configured 2-D kind; each PNG goes into the report with its kind's caption."""
    paths = []
    for kind in config["plot"]["kinds"]:
        path = FIGURE.replace("{kind}", kind).replace("{ext}", ext)
        if ext == "png":
            path = in_report(path, kind, "models", {"model": "{run}", "figure": kind})
        paths.append(path)
    return paths


def panel_models(wildcards) -> list[str]:
    """A panel's runs, row by row."""
    return [m for row in PANELS[wildcards.panel]["models"] for m in row]


def panel_surfaces(wildcards) -> list[str]:
    """The panel's 2-D surfaces, or its 1-D curves for kind 1d."""
    kind = PANELS[wildcards.panel].get("kind", "contour")
    return expand(CURVE if kind == "1d" else SURFACE, run=panel_models(wildcards))


def panel_metrics(wildcards) -> list[str]:
    return expand(METRICS, run=panel_models(wildcards))


def panel_arguments(wildcards) -> str:
    panel = PANELS[wildcards.panel]
    rows, kind = panel["models"], panel.get("kind", "contour")
    style = curve_style() if kind == "1d" else plot_style()
    return (
        f"--models {' '.join(panel_models(wildcards))} --rows {len(rows)} --cols {len(rows[0])}"
        f" --kind {kind} {style}"
    )


def panel_study(panel: str) -> str:
    return "batch_size" if panel in study_panels(config) else "architecture"


def study_runs(wildcards) -> list[str]:
    """The trained runs of a study; curvature trains nothing, so it has no table or curves."""
    if not STUDY_RUNS.get(wildcards.study):
        raise WorkflowError(
            f"study {wildcards.study} trains no run in this config: results tables and "
            f"training curves exist for {', '.join(trained_studies())}"
        )
    return STUDY_RUNS[wildcards.study]


def study_recipes(wildcards) -> str:
    """The training schedule of a study's runs, for the training curves' caption (each run's
    own recipe: the study's and train_overrides' changes applied)."""
    return recipes_sentence({run: train_recipe(run) for run in study_runs(wildcards)})


def study_paper_errors(wildcards) -> str:
    """The paper's test errors of a study's runs, for the results table's caption."""
    return paper_errors_sentence(study_runs(wildcards))


def study_metrics(wildcards) -> list[str]:
    return expand(METRICS, run=study_runs(wildcards))


def study_surfaces(wildcards) -> list[str]:
    """Every surface of a study: the runs' 2-D surfaces and 1-D curves, and the study's own."""
    if wildcards.study == "curvature":
        return expand(HESSIAN, run=config["curvature"]["models"])
    runs = study_runs(wildcards)
    paths = expand(SURFACE, run=runs) + expand(CURVE, run=runs)
    if wildcards.study == "batch_size":
        paths += expand(PCA_SURFACE, run=runs) + expand(INTERPOLATION, pair=list(PAIRS))
    return paths


def study_surface_names(wildcards) -> str:
    """One name per file of ``study_surfaces``, for the provenance table."""
    if wildcards.study == "curvature":
        return " ".join(f"{r}_hessian" for r in config["curvature"]["models"])
    runs = study_runs(wildcards)
    names = runs + [f"{r}_1d" for r in runs]
    if wildcards.study == "batch_size":
        names += [f"{r}_pca" for r in runs] + [f"interpolation_{p}" for p in PAIRS]
    return " ".join(names)


def out_prefix(wildcards, output) -> str:
    """The PDF output without its suffix: the --out-prefix of a command that writes PDF and PNG."""
    return output.pdf.removesuffix(".pdf")


def figure_arguments() -> str:
    """Output settings of figures that are not surfaces (training curves)."""
    return options({"dpi": config["plot"]["dpi"]})


def vtp_arguments() -> str:
    return options(config["vtp"], only=VTP_KEYS)


def html3d_arguments() -> str:
    """The 3-D page's settings: the height quantity and its clipping, as the .vtp's."""
    return options(config["vtp"], only=("surf_name", "log", "zmax"))


# ------------------------------------------------------------------------------- claims
# The claims table reads the run's own files, found by the same paths the stages write.


def claims_inputs() -> dict[str, dict[str, str]]:
    """Per ``landscape claims`` option, run (or pair) name -> file."""
    batch = STUDY_RUNS["batch_size"]
    named = {
        "surfaces": (SURFACE, list(RUNS)),
        "curves": (CURVE, batch),
        "hessians": (HESSIAN, config["curvature"]["models"]),
        "metrics": (METRICS, list(RUNS)),
        "trajectories": (TRAJECTORY, batch),
        "random_paths": (RANDOM_PATH, fig8_runs()),
        "random_directions": (DIRECTIONS, fig8_runs()),
    }
    files = {key: {r: path.format(run=r) for r in runs} for key, (path, runs) in named.items()}
    files["interpolations"] = {p: INTERPOLATION.format(pair=p) for p in PAIRS}
    return files


def claims_files() -> list[str]:
    return sorted({f for group in claims_inputs().values() for f in group.values()})


def claims_arguments() -> str:
    """NAME=PATH per input option, then the measures' settings (a param: a change reruns only
    the claims)."""
    words = []
    for key, group in claims_inputs().items():
        if group:
            words += [f"--{key.replace('_', '-')}"]
            words += [f"{name}={path}" for name, path in group.items()]
    return f"{' '.join(map(shlex.quote, words))} {options(config['claims'])}"


# -------------------------------------------------------------------------------- targets
# `snakemake fig<N>` builds one figure of the paper and what it needs; `all` builds them all,
# every per-run figure, the tables, training curves, provenance and the 3-D exports.


def trained_studies() -> list[str]:
    return [s for s, runs in STUDY_RUNS.items() if runs]


def paper_figures(number: int) -> list[str]:
    """The files of the paper's Fig. ``number`` this config draws."""
    panels = [p for p in PANELS if p.startswith(f"fig{number}_")]
    files = expand(PANEL, panel=panels, ext=FIGURE_FORMATS)
    runs = STUDY_RUNS["batch_size"]
    if number == 2:
        files += expand(
            f"{RUN}/figures/fig2_{{pair}}_1d.{{ext}}", pair=list(PAIRS), ext=FIGURE_FORMATS
        )
    elif number == 8:
        files += expand(f"{RUN}/figures/fig8_{{run}}.{{ext}}", run=fig8_runs(), ext=FIGURE_FORMATS)
    elif number == 9:
        files += expand(f"{RUN}/figures/fig9_{{run}}.{{ext}}", run=runs, ext=FIGURE_FORMATS)
    elif number == 7 and config["curvature"]["models"]:
        files += expand(f"{RUN}/figures/fig7_curvature.{{ext}}", ext=FIGURE_FORMATS)
    return files


def final_outputs() -> list[str]:
    """Everything the config asks for."""
    runs = list(RUNS)
    kinds = config["plot"]["kinds"] + ["1d"]
    studies = trained_studies()
    surfaced = studies + (["curvature"] if config["curvature"]["models"] else [])
    return (
        [f for n in range(1, 10) for f in paper_figures(n)]
        + expand(FIGURE, run=runs, kind=kinds, ext=FIGURE_FORMATS)
        + expand(PANEL, panel=list(PANELS), ext=FIGURE_FORMATS)
        + expand(VTP, run=config["vtp"]["models"])
        + expand(HTML3D, run=config["vtp"]["models"])
        + expand(TRAINING_CURVES, study=studies, ext=FIGURE_FORMATS)
        + expand(TABLE, study=studies, ext=["csv", "md", "html"])
        + expand(PROVENANCE, study=surfaced, ext=["csv", "html"])
        + expand(CLAIMS, ext=["csv", "md", "html"])
    )
