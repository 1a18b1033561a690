# Shared helpers: output paths, config checks the schema cannot express, and the small named
# functions that turn config values into rule inputs and command-line arguments.
#
# Rule params carry exactly the config values a stage depends on: Snakemake reruns a job
# whose params changed, so a figure setting reruns only figures, a grid change only that
# surface's sweep and figures, a training change only that model's chain.

import re
import shlex

from snakemake.exceptions import WorkflowError

from landscape.choices import DATA_FOLDERS, KINDS_1D, KINDS_2D, TEST_FILES, TRAIN_FILES
from landscape.configs import DataConfig, DirectionsConfig, SurfaceConfig, TrainConfig
from landscape.errors import LandscapeError
from landscape.grid import parse_axis
from landscape.paths import check_data_dir
from landscape.plots.options import PlotOptions
from landscape.settings import command_line, from_mapping

RUN = f"results/{config['run_name']}"
LOGS = f"{RUN}/logs"
BENCHMARKS = f"{RUN}/benchmarks"

# Paths of every stage's files, with the wildcards the rules fill in.
CHECKPOINT = f"{RUN}/train/{{model}}/final.pt"
METRICS = f"{RUN}/train/{{model}}/metrics.csv"
DIRECTIONS = f"{RUN}/directions/{{model}}.h5"
SHARD = f"{RUN}/surfaces/{{model}}/shard_{{shard}}-of-{{nshards}}.h5"
SURFACE = f"{RUN}/surfaces/{{model}}.h5"
CURVE = f"{RUN}/surfaces/{{model}}_1d.h5"
FIGURE = f"{RUN}/figures/{{model}}_{{kind}}.{{ext}}"
PANEL = f"{RUN}/figures/{{panel}}.{{ext}}"
TABLE = f"{RUN}/tables/results.{{ext}}"

FIGURE_FORMATS = ["pdf", "png"]  # PDF for papers; PNG for the HTML report

# Each job asks for one thread. The models are small, and on a CPU jobs side by side use the
# cores better than threads inside one job (the smoke preset on 2 busy cores: 129 s with
# one thread per job, 236 s with two), and GPU jobs keep their data on the GPU.
# Raise it per rule with --set-threads train=4 where that pays off.


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


def train_recipe(model: str) -> dict:
    """The shared recipe with this model's overrides applied (only this model's)."""
    return {**config["train"], **config["train_overrides"].get(model, {})}


def train_config(model: str) -> TrainConfig:
    data = {"dataset": config["dataset"], "data_dir": config["data_dir"]}
    return from_mapping(TrainConfig, {"model": model, **data, **train_recipe(model)})


def check_training(cfg: dict) -> None:
    for model in cfg["models"]:
        key = f"train_overrides.{model}" if model in cfg["train_overrides"] else "train"
        validated(key, lambda: train_config(model).validate())


def check_sweeps(cfg: dict) -> None:
    for key in ("surface.x", "surface.y", "curve.x"):
        section, axis = key.split(".")
        validated(key, parse_axis, cfg[section][axis], axis)
    given = {"checkpoint": "-", "directions": "-", "x": cfg["surface"]["x"]}
    validated("sweep", lambda: from_mapping(SurfaceConfig, {**given, **cfg["sweep"]}).validate())
    validated(
        "directions",
        lambda: from_mapping(DirectionsConfig, {"checkpoint": "-", **cfg["directions"]}).validate(),
    )


def check_panels(panels: dict, models: list[str]) -> None:
    """Each panel is a rectangle of models that this run trains."""
    for name, panel in panels.items():
        key = f"panels.{name}.models"
        rows = panel["models"]
        if len({len(row) for row in rows}) != 1:
            raise WorkflowError(f"config key {key}: all rows must have the same number of models")
        taken = {f"{m}_{kind}" for m in models for kind in (*KINDS_2D, *KINDS_1D)}
        if name in taken:
            raise WorkflowError(f"config key panels.{name}: the name of a per-model figure")
        missing = sorted({m for row in rows for m in row} - set(models))
        if missing:
            raise WorkflowError(f"config key {key}: {', '.join(missing)} not in config key models")


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


def check_config(cfg: dict) -> None:
    """Checks beyond the schema, each naming the config key; run before any job."""
    check_data(cfg)
    check_training(cfg)
    check_sweeps(cfg)
    check_panels(cfg["panels"], cfg["models"])
    check_plot(cfg)


check_config(config)


wildcard_constraints:
    model="|".join(re.escape(m) for m in config["models"]),
    panel="|".join(re.escape(p) for p in config["panels"]) or "(?!)",
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
    """`landscape train` options for one model; a rule param, so a change retrains it."""
    return options(train_recipe(wildcards.model))


# --------------------------------------------------------------------- directions, sweeps


def direction_arguments() -> str:
    return f"--axes 2 {options(config['directions'])}"


def sweep_arguments() -> str:
    """How each point is evaluated (data subset, batch size): shared by surfaces and curves."""
    return options(config["sweep"])


def surface_arguments() -> str:
    return options(config["surface"], only=("x", "y", "splits"))


def curve_arguments() -> str:
    return options(config["curve"])


def surface_shards(wildcards) -> list[str]:
    """The shard files of one model's surface, in shard order."""
    n = config["surface"]["shards"]
    return expand(SHARD, model=wildcards.model, shard=range(n), nshards=n)


# ------------------------------------------------------------------------------ figures


def plot_style() -> str:
    """Settings of the 2-D figures and panels (a param: a change reruns only figures)."""
    return options(config["plot"], only=("surf_name", "dpi", *VALUE_KEYS))


def curve_style() -> str:
    """Settings of the 1-D figures."""
    return options({**config["plot"]["curve"], "dpi": config["plot"]["dpi"]})


def surface_figures(ext: str) -> list:
    """One file per configured 2-D kind; PNGs go into the report, one category per kind."""
    paths = []
    for kind in config["plot"]["kinds"]:
        path = FIGURE.replace("{kind}", kind).replace("{ext}", ext)
        if ext == "png":
            path = report(
                path,
                caption="../report/surface.rst",
                category=f"2-D {kind}",
                labels={"model": "{model}", "figure": kind},
            )
        paths.append(path)
    return paths


def panel_models(wildcards) -> list[str]:
    """A panel's models, row by row."""
    return [m for row in config["panels"][wildcards.panel]["models"] for m in row]


def panel_surfaces(wildcards) -> list[str]:
    return expand(SURFACE, model=panel_models(wildcards))


def panel_metrics(wildcards) -> list[str]:
    return expand(METRICS, model=panel_models(wildcards))


def panel_arguments(wildcards) -> str:
    panel = config["panels"][wildcards.panel]
    rows = panel["models"]
    return (
        f"--models {' '.join(panel_models(wildcards))} --rows {len(rows)} --cols {len(rows[0])}"
        f" --kind {panel['kind']} {plot_style()}"
    )


# -------------------------------------------------------------------------------- targets


def final_outputs() -> list[str]:
    """Everything the config asks for: figures per model, panels and the results table."""
    models = config["models"]
    kinds = config["plot"]["kinds"] + ["1d"]
    return (
        expand(FIGURE, model=models, kind=kinds, ext=FIGURE_FORMATS)
        + expand(PANEL, panel=list(config["panels"]), ext=FIGURE_FORMATS)
        + expand(TABLE, ext=["csv", "md"])
    )
