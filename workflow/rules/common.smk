# Shared helpers: output paths, config checks the schema cannot express, and the small named
# functions that turn config values into rule inputs and command-line arguments.
#
# Rule params carry exactly the config values a stage depends on: Snakemake reruns a job
# whose params changed, so a figure setting reruns only figures, a grid change only that
# surface's sweep and figures, a training change only that model's chain.

import os
import re

from snakemake.exceptions import WorkflowError


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

PLOT_KINDS = ["contour", "contourf", "heatmap", "surface3d"]
FIGURE_FORMATS = ["pdf", "png"]  # PDF for papers; PNG for the HTML report

# Each job asks for one thread. The models are small, and on a CPU jobs side by side use the
# cores better than threads inside one job (the smoke preset on 2 busy cores: 129 s with
# one thread per job, 236 s with two), and GPU jobs keep their data on the GPU.
# Raise it per rule with --set-threads train=4 where that pays off.

# Where landscape.data keeps each data set under data_dir (CIFAR-10's own batch layout).
DATA_FOLDERS = {"cifar10": "cifar-10-batches-py", "synthetic": "synthetic-batches-py"}
DATA_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]

GRID = re.compile(r"^(?P<min>[^:]+):(?P<max>[^:]+):(?P<num>\d+)$")


# ------------------------------------------------------------------------ config checks


def check_grid(key: str, spec: str) -> None:
    """Refuse an axis MIN:MAX:NUM unless MIN < MAX and NUM >= 2 (the schema checks its form)."""
    match = GRID.match(spec)
    low, high, num = float(match["min"]), float(match["max"]), int(match["num"])
    if not low < high:
        raise WorkflowError(f"config key {key} = {spec!r}: MIN must be below MAX")
    if num < 2:
        raise WorkflowError(f"config key {key} = {spec!r}: NUM must be at least 2")


def check_panels(panels: dict, models: list[str]) -> None:
    """Each panel is a rectangle of models that this run trains."""
    for name, panel in panels.items():
        key = f"panels.{name}.models"
        rows = panel["models"]
        if len({len(row) for row in rows}) != 1:
            raise WorkflowError(f"config key {key}: all rows must have the same number of models")
        taken = {f"{m}_{kind}" for m in models for kind in PLOT_KINDS + ["1d"]}
        if name in taken:
            raise WorkflowError(f"config key panels.{name}: the name of a per-model figure")
        missing = sorted({m for row in rows for m in row} - set(models))
        if missing:
            raise WorkflowError(
                f"config key {key}: {', '.join(missing)} not in config key models"
            )


def check_milestones(key: str, recipe: dict) -> None:
    milestones = recipe.get("milestones")
    if milestones is not None and milestones != sorted(set(milestones)):
        raise WorkflowError(f"config key {key}.milestones = {milestones}: must be increasing")


def check_range(key: str, settings: dict) -> None:
    low, high = settings.get("vmin"), settings.get("vmax")
    if low is not None and high is not None and not low < high:
        raise WorkflowError(f"config key {key}.vmin = {low} must be below {key}.vmax = {high}")
    if settings["log"] and low is not None and low <= 0:
        raise WorkflowError(f"config key {key}.vmin = {low}: a log scale needs vmin > 0")


def check_plot(cfg: dict) -> None:
    split = cfg["plot"]["surf_name"].split("_")[0]
    if split not in cfg["surface"]["splits"]:
        raise WorkflowError(
            f"config key plot.surf_name = {cfg['plot']['surf_name']}: needs {split} in surface.splits"
        )
    check_range("plot", cfg["plot"])
    check_range("plot.curve", cfg["plot"]["curve"])


def check_config(cfg: dict) -> None:
    """Checks beyond the schema, each naming the config key; run before any job."""
    check_grid("surface.x", cfg["surface"]["x"])
    check_grid("surface.y", cfg["surface"]["y"])
    check_grid("curve.x", cfg["curve"]["x"])
    check_panels(cfg["panels"], cfg["models"])
    check_plot(cfg)
    check_milestones("train", cfg["train"])
    for model, recipe in cfg["train_overrides"].items():
        check_milestones(f"train_overrides.{model}", recipe)


check_config(config)

wildcard_constraints:
    model="|".join(re.escape(m) for m in config["models"]),
    panel="|".join(re.escape(p) for p in config["panels"]) or "(?!)",
    shard=r"\d+",
    nshards=r"\d+",


# -------------------------------------------------------------------------------- data


def dataset_files() -> list[str]:
    """The verified batch files of the configured data set (written by the `data` rule)."""
    folder = f"{config['data_dir']}/{DATA_FOLDERS[config['dataset']]}"
    return [f"{folder}/{name}" for name in DATA_BATCHES]


def data_root(files) -> str:
    """data_dir, read off the data set's batch files (data_dir/<folder>/<batch>)."""
    return os.path.dirname(os.path.dirname(files[0]))


def data_root_of_output(wildcards, output) -> str:
    return data_root(output)


def data_root_of_input(wildcards, input) -> str:
    return data_root(input.data)


def data_arguments() -> str:
    return f"--dataset {config['dataset']} --data-dir {config['data_dir']}"


# ------------------------------------------------------------------------------- train


def train_recipe(model: str) -> dict:
    """The shared recipe with this model's overrides applied (only this model's)."""
    return {**config["train"], **config["train_overrides"].get(model, {})}


def train_arguments(wildcards) -> str:
    """`landscape train` options for one model; a rule param, so a change retrains it."""
    r = train_recipe(wildcards.model)
    args = [
        f"--epochs {r['epochs']}",
        f"--batch-size {r['batch_size']}",
        f"--lr {r['lr']}",
        f"--momentum {r['momentum']}",
        "--nesterov" if r["nesterov"] else "--no-nesterov",
        f"--weight-decay {r['weight_decay']}",
        "--milestones " + " ".join(str(m) for m in r["milestones"]),
        f"--gamma {r['gamma']}",
        "--augment" if r["augment"] else "--no-augment",
        f"--subset-rule {r['subset_rule']}",
        f"--save-every {r['save_every']}",
        f"--seed {r['seed']}",
        f"--precision {r['precision']}",
        "--compile" if r["compile"] else "--no-compile",
    ]
    if r["train_size"] is not None:
        args.append(f"--train-size {r['train_size']}")
    if r["test_size"] is not None:
        args.append(f"--test-size {r['test_size']}")
    return " ".join(args)


# --------------------------------------------------------------------- directions, sweeps


def direction_arguments() -> str:
    d = config["directions"]
    return (
        f"--axes 2 --dir-type {d['dir_type']} --norm {d['norm']} --ignore {d['ignore']}"
        f" --seed {d['seed']}"
    )


def sweep_arguments() -> str:
    """How each point is evaluated (data subset, batch size): shared by surfaces and curves."""
    s = config["sweep"]
    args = [f"--precision {s['precision']}", "--compile" if s["compile"] else "--no-compile"]
    if s["batch_size"] is not None:
        args.append(f"--batch-size {s['batch_size']}")
    if s["subset"] is not None:
        args.append(
            f"--subset {s['subset']} --subset-rule {s['subset_rule']}"
            f" --subset-seed {s['subset_seed']}"
        )
    return " ".join(args)


def surface_arguments() -> str:
    s = config["surface"]
    return f"--x={s['x']} --y={s['y']} --splits {' '.join(s['splits'])}"


def curve_arguments() -> str:
    c = config["curve"]
    return f"--x={c['x']} --splits {' '.join(c['splits'])}"


def surface_shards(wildcards) -> list[str]:
    """The shard files of one model's surface, in shard order."""
    n = config["surface"]["shards"]
    return expand(SHARD, model=wildcards.model, shard=range(n), nshards=n)


# ------------------------------------------------------------------------------ figures


def value_arguments(settings: dict) -> str:
    """--vmin/--vmax/--vlevel/--zmax/--log from a figure section (null: the plot's default)."""
    args = [
        f"--{key} {settings[key]}"
        for key in ("vmin", "vmax", "vlevel", "zmax")
        if settings.get(key) is not None
    ]
    if settings["log"]:
        args.append("--log")
    return " ".join(args)


def plot_style() -> str:
    """Settings of the 2-D figures and panels (a param: a change reruns only figures)."""
    p = config["plot"]
    return f"--surf-name {p['surf_name']} {value_arguments(p)} --dpi {p['dpi']}"


def curve_style() -> str:
    """Settings of the 1-D figures."""
    return f"{value_arguments(config['plot']['curve'])} --dpi {config['plot']['dpi']}"


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
