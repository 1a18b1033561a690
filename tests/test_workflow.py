"""The Snakemake workflow: lint, the paper's DAG, the smoke preset end to end, caching, errors,
the HTML report (parsed, and walked in headless Chromium where one is installed) and the
README's front picture.

Snakemake runs in a subprocess with the repository's Snakefile and a temporary working
directory (``--directory``), so nothing is written into the repository. The smoke preset runs
twice (two directories) for the determinism check; everything else is a dry run.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml
from matplotlib.image import imread

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "Snakefile"
SMOKE = REPO / "presets" / "smoke.yaml"
FIG5_MODELS = ["resnet20", "resnet56", "resnet110",
               "resnet20_noshort", "resnet56_noshort", "resnet110_noshort"]
PAPER_MODELS = [*FIG5_MODELS, "wrn56_2", "wrn56_4", "wrn56_8", "wrn56_2_noshort",
                "wrn56_4_noshort", "wrn56_8_noshort", "densenet121"]
PAPER_VGG_RUNS = ["vgg9_bs128_wd0", "vgg9_bs8192_wd0", "vgg9_bs128_wd0.0005",
                  "vgg9_bs8192_wd0.0005"]
SMOKE_MODELS = ["resnet20", "resnet20_noshort"]
SMOKE_VGG_RUNS = ["vgg9_bs16_wd0.0005", "vgg9_bs128_wd0.0005"]
SMOKE_VTP_MODELS = ["resnet20"]  # presets/smoke.yaml vtp.models: a .vtp and a 3-D page each
SMOKE_RUNS = SMOKE_MODELS + SMOKE_VGG_RUNS
KINDS = ["contour", "contourf", "heatmap", "surface3d", "1d"]
README = REPO / "README.md"
FRONT_PICTURE = "docs/img/smoke_fig5_panel.png"
# The report: one page (category) per experiment, each in these sections (common.smk).
ARCHITECTURE = "Architecture (Figs. 1, 4, 5, 6)"
BATCH_SIZE = "Batch size (Figs. 2, 3, 8, 9)"
CURVATURE = "Curvature (Fig. 7)"
CLAIMS = "The paper's claims, measured"
SECTIONS = ["1. Results table", "2. Training curves", "3. Paper figures", "4. Per model",
            "5. Provenance"]
# Every figure of the paper the smoke preset draws, by number.
SMOKE_PAPER_FIGURES = {
    1: ["fig1_3d"], 2: ["fig2_wd0.0005_1d"], 3: ["fig3_1d", "fig3_2d"], 4: ["fig4_3d"],
    5: ["fig5_panel"], 6: ["fig6_panel"], 7: ["fig7_curvature"], 8: ["fig8_vgg9_bs16_wd0.0005"],
    9: [f"fig9_{run}" for run in SMOKE_VGG_RUNS],
}
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))),
                None)

pytestmark = pytest.mark.slow


def snakemake(workdir: Path, *args: str, configfiles: tuple[Path, ...] = (),
              check: bool = True) -> subprocess.CompletedProcess:
    """Run snakemake on the repository's Snakefile in ``workdir``; output in .stdout."""
    env = dict(os.environ)
    # The jobs call `landscape` and `python`: the ones of this interpreter's environment.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE),
           "--directory", str(workdir), "--cores", "2"]
    if configfiles:
        cmd += ["--configfile", *map(str, configfiles)]
    cmd += list(args)
    result = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{result.stdout[-6000:]}")
    return result


def planned_jobs(output: str) -> list[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run lists."""
    jobs, rule, wildcards = [], None, ""
    for line in output.splitlines():
        start = re.match(r"^(?:local)?rule (\w+):$", line)
        if start:
            if rule is not None:
                jobs.append((rule, wildcards))
            rule, wildcards = start.group(1), ""
        elif rule is not None and line.strip().startswith("wildcards:"):
            wildcards = line.split(":", 1)[1].strip()
    if rule is not None:
        jobs.append((rule, wildcards))
    return jobs


def dry_run(workdir: Path, *configfiles: Path) -> list[tuple[str, str]]:
    return planned_jobs(snakemake(workdir, "-n", configfiles=configfiles).stdout)


def write_yaml(path: Path, content: dict) -> Path:
    path.write_text(yaml.safe_dump(content))
    return path


def expected_files(run: Path) -> list[Path]:
    """Every file the smoke preset must produce under results/smoke."""
    files = []
    for model in SMOKE_RUNS:
        files += [run / "train" / model / "final.pt", run / "train" / model / "metrics.csv",
                  run / "directions" / f"{model}.h5", run / "surfaces" / f"{model}.h5",
                  run / "surfaces" / f"{model}_1d.h5",
                  *(run / "surfaces" / model / f"shard_{i}-of-2.h5" for i in range(2)),
                  *(run / "figures" / f"{model}_{kind}.{ext}"
                    for kind in KINDS for ext in ("pdf", "png")),
                  run / "logs" / "train" / f"{model}.log",
                  run / "benchmarks" / "train" / f"{model}.tsv"]
    for model in SMOKE_VGG_RUNS:
        folder = run / "trajectories" / model
        files += [folder / "pca_path.h5", folder / "pca_directions.h5", folder / "pca_surface.h5",
                  run / "train" / model / "epoch_003.pt"]
    files += [run / "trajectories" / SMOKE_VGG_RUNS[0] / "random_path.h5",
              run / "interpolations" / "wd0.0005.h5", run / "interpolations" / "wd0.0005_direction.h5",
              run / "hessian" / "resnet20.h5", run / "surfaces" / "resnet20.vtp",
              run / "surfaces" / "resnet20.html"]
    files += [run / "figures" / f"{name}.{ext}" for names in SMOKE_PAPER_FIGURES.values()
              for name in names for ext in ("pdf", "png")]
    for study in ("architecture", "batch_size"):
        files += [run / "figures" / f"training_curves_{study}.{ext}" for ext in ("pdf", "png")]
        files += [run / "tables" / f"results_{study}.{ext}" for ext in ("csv", "md", "html")]
    files += [run / "tables" / f"provenance_{study}.{ext}" for ext in ("csv", "html")
              for study in ("architecture", "batch_size", "curvature")]
    files += [run / "tables" / f"claims.{ext}" for ext in ("csv", "md", "html")]
    return files


def smoke_run(workdir: Path, data_dir: Path) -> tuple[Path, float]:
    """The smoke preset, run for real in ``workdir``; returns its run folder and wall time."""
    workdir.mkdir(parents=True, exist_ok=True)
    overrides = write_yaml(workdir / "data.yaml", {"data_dir": str(data_dir)})
    start = time.perf_counter()
    snakemake(workdir, configfiles=(SMOKE, overrides))
    return workdir / "results" / "smoke", time.perf_counter() - start


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, data_dir) -> tuple[Path, Path]:
    """(working directory, data.yaml) of a finished smoke run: a copy of the session's
    reference run (timestamps and Snakemake's records kept), which the tests here may add to."""
    from faultkit import reference_smoke

    reference = reference_smoke(tmp_path_factory, data_dir)
    workdir = tmp_path_factory.mktemp("smoke_a")
    shutil.copytree(reference, workdir, symlinks=True, dirs_exist_ok=True)
    return workdir, workdir / "data.yaml"


# ----------------------------------------------------------------------------- static checks


def test_lint_reports_only_the_explained_conda_finding(tmp_path):
    # The Snakefile explains the one remaining lint: every rule runs the `landscape` command
    # of the environment Snakemake itself runs in, so no per-rule conda environment.
    out = snakemake(tmp_path, "--lint", check=False).stdout
    findings = {line.strip() for line in out.splitlines() if line.startswith("    * ")}
    assert findings <= {"* Specify a conda environment or container for each rule.:"}, out
    assert "Lints for snakefile" not in out, out


def test_paper_dag_has_every_stage(tmp_path):
    jobs = dry_run(tmp_path)
    counts = Counter(rule for rule, _ in jobs)
    runs = len(PAPER_MODELS) + len(PAPER_VGG_RUNS)  # 13 + 4
    assert counts == {
        "data": 1, "train": runs, "directions": runs, "surface_shard": runs * 8,
        "merge_surface": runs, "surface_curve": runs, "plot_surface": runs, "plot_curve": runs,
        "panel": 6, "table": 2, "training_curves": 2, "provenance": 3, "vtp": 4, "html3d": 4,
        # the batch-size study: paths, PCA surfaces, Fig. 8's projection, interpolations
        "trajectory": 4, "pca_surface_shard": 4 * 8, "merge_pca_surface": 4, "plot_trajectory": 4,
        "random_path": 1, "plot_random_path": 1, "interpolation_direction": 2,
        "interpolation": 2, "plot_interpolation": 2,
        # curvature: the Fig. 5 models' Hessian maps
        "hessian_shard": 6 * 8, "merge_hessian": 6, "plot_curvature": 1,
        # the claims table, from every run's files
        "claims": 1, "all": 1,
    }
    shards = {w for rule, w in jobs if rule == "surface_shard"}
    assert shards == {f"run={m}, shard={i}, nshards=8" for m in PAPER_MODELS + PAPER_VGG_RUNS
                      for i in range(8)}
    assert {w for rule, w in jobs if rule == "hessian_shard"} == {
        f"run={m}, shard={i}, nshards=8" for m in FIG5_MODELS for i in range(8)}
    assert {w for rule, w in jobs if rule == "panel"} == {
        f"panel={p}" for p in ("fig1_3d", "fig3_1d", "fig3_2d", "fig4_3d", "fig5_panel",
                               "fig6_panel")}
    assert {w for rule, w in jobs if rule == "interpolation"} == {"pair=wd0", "pair=wd0.0005"}


def test_per_model_override_changes_only_that_model(tmp_path):
    out = snakemake(tmp_path, "-n", "-p").stdout
    lr = dict(re.findall(r"landscape train --model=(\w+) .*?--lr=(\S+)", out))
    assert lr == {m: ("0.01" if m == "resnet110_noshort" else "0.1") for m in [*PAPER_MODELS, "vgg9"]}
    assert re.search(r"--epochs=300 .*--milestones 150 225 275", out)


def test_batch_size_study_trains_each_batch_size_and_weight_decay(tmp_path):
    out = snakemake(tmp_path, "-n", "-p", "fig3").stdout
    trainings = re.findall(r"landscape train --model=vgg9 (.*?) --out \$\(dirname "
                           r"results/paper/train/([\w.]+)/final.pt\)", out)
    recipes = {run: dict(re.findall(r"--([\w-]+)=(\S+)", words)) for words, run in trainings}
    assert sorted(recipes) == sorted(PAPER_VGG_RUNS)
    for run, recipe in recipes.items():
        bs, wd = re.fullmatch(r"vgg9_bs(\d+)_wd([\d.]+)", run).groups()
        assert (recipe["batch-size"], float(recipe["weight-decay"])) == (bs, float(wd))
        assert recipe["save-every"] == "1" and recipe["lr"] == "0.1" and recipe["epochs"] == "300"


@pytest.mark.parametrize("target, rules", [
    ("fig2", {"data", "train", "interpolation_direction", "interpolation", "plot_interpolation"}),
    ("fig5", {"data", "train", "directions", "surface_shard", "merge_surface", "panel"}),
    ("fig7", {"data", "train", "directions", "hessian_shard", "merge_hessian", "plot_curvature"}),
    ("fig9", {"data", "train", "trajectory", "pca_surface_shard", "merge_pca_surface",
              "plot_trajectory"}),
])
def test_each_figure_target_builds_only_what_it_needs(tmp_path, target, rules):
    jobs = planned_jobs(snakemake(tmp_path, "-n", target).stdout)
    assert {rule for rule, _ in jobs} == rules | {target}
    trained = {w for rule, w in jobs if rule == "train"}
    expected = {"fig2": PAPER_VGG_RUNS, "fig5": FIG5_MODELS, "fig7": FIG5_MODELS,
                "fig9": PAPER_VGG_RUNS}[target]
    assert trained == {f"run={run}" for run in expected}


@pytest.mark.parametrize("content, key", [
    ({"models": ["resnet20", "resnet21"]}, "On instance['models'][1]"),
    ({"train": {"epochs": -3}}, "On instance['train']['epochs']"),
    ({"surface": {"x": "1:0:5"}}, "config key surface.x: grid spec --x '1:0:5': MIN must be less"),
    ({"surface": {"y": "-1:1:1"}}, "config key surface.y: grid spec --y '-1:1:1': a single point"),
    ({"curve": {"x": "-1e999:1:5"}}, "config key curve.x: grid spec --x '-1e999:1:5': MIN and MAX "
                                     "must be finite"),
    ({"train": {"milestones": [1, 3]}}, "config key train: milestones [3] come after the last "
                                        "epoch (2)"),
    ({"train_overrides": {"resnet20": {"milestones": [1, 1]}}},
     "config key train_overrides.resnet20: milestones must be strictly increasing"),
    ({"surface": {"x": "a:b:c"}}, "On instance['surface']['x']"),
    ({"plot": {"color": "red"}}, "'color' was unexpected"),
    ({"panels": {"fig1_3d": {"models": [["resnet20", "vgg9"]]}}},
     "config key panels.fig1_3d.models: vgg9 not in config key models"),
    ({"batch_size_study": {"train": {"milestones": [9]}}},
     "config key batch_size_study: milestones [9] come after the last epoch (3)"),
    ({"curvature": {"models": ["resnet56"]}},
     "config key curvature.models: resnet56 not in config key models"),
    ({"curvature": {"tol": 0}}, "On instance['curvature']['tol']"),
    ({"curvature": {"tol": 1.5}}, "On instance['curvature']['tol']"),  # tol lies in (0, 1)
    ({"vtp": {"models": ["wrn56_2"]}}, "config key vtp.models: wrn56_2 not in config key models"),
    ({"batch_size_study": {"interpolation": {"x": "2:-1:5"}}},
     "config key batch_size_study.interpolation.x: grid spec --x '2:-1:5': MIN must be less"),
    # Fig. 2 marks alpha = 0 and 1 with each solution's own loss: both must be grid points
    ({"batch_size_study": {"interpolation": {"x": "-1:2:5"}}},
     "config key batch_size_study.interpolation.x = '-1:2:5': the grid has no point at alpha = 0"
     " and 1"),
    ({"models": ["resnet20", "vgg9_bs16_wd0.0005"]}, "On instance['models'][1]"),
    ({"curve": {"x": "0:0:1"}}, "config key curve.x: '0:0:1' is a single point; a curve needs 2"),
    ({"batch_size_study": {"interpolation": {"x": "0.5:0.5:1"}}},
     "config key batch_size_study.interpolation.x: '0.5:0.5:1' is a single point; a curve needs"),
    ({"sweep": {"subset": 5000}},
     "config key sweep.subset: 5000 is larger than the 2000 images of synthetic's test split"),
    ({"curvature": {"subset": 20000}},
     "config key curvature.subset: 20000 is larger than the 10000 images of synthetic's train"),
])
def test_invalid_config_fails_before_any_job(tmp_path, content, key):
    bad = write_yaml(tmp_path / "bad.yaml", content)
    result = snakemake(tmp_path, configfiles=(SMOKE, bad), check=False)
    assert result.returncode != 0
    assert key in result.stdout, result.stdout
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("content, line", [
    ({"plot": {"colour": "red"}}, "config key plot: Additional properties are not allowed "
                                  "('colour' was unexpected); valid keys: kinds, surf_name,"),
    ({"colour": 1}, "config: Additional properties are not allowed ('colour' was unexpected); "
                    "valid keys: run_name, data_dir,"),
    ({"train_overrides": {"resnet20": {"epoch": 3}}},
     "config key train_overrides.resnet20: Additional properties are not allowed ('epoch' was"),
])
def test_unknown_config_key_is_one_line_not_the_schema(tmp_path, content, line):
    bad = write_yaml(tmp_path / "bad.yaml", content)
    result = snakemake(tmp_path, "-n", configfiles=(SMOKE, bad), check=False)
    assert result.returncode != 0
    assert any(out.startswith(line) for out in result.stdout.splitlines()), result.stdout
    assert "Failed validating" not in result.stdout and len(result.stdout.splitlines()) < 10


@pytest.mark.parametrize("key, default", [("run_name", "'paper'"), ("data_dir", "'data'")])
def test_a_key_given_no_value_is_one_line_not_the_schema(tmp_path, key, default):
    """``--config run_name=`` sets the key to None: one line naming it, not jsonschema's dump."""
    result = snakemake(tmp_path, "-n", "--config", f"{key}=", configfiles=(SMOKE,), check=False)
    assert result.returncode != 0
    line = f"config key {key}: no value given (empty); it needs a string, e.g. its default {default}"
    assert line in result.stdout.splitlines(), result.stdout
    assert "Failed validating" not in result.stdout and len(result.stdout.splitlines()) < 10
    assert not (tmp_path / "results").exists()


def test_failed_data_step_shows_its_one_line_on_the_terminal(tmp_path):
    # A damaged CIFAR-10 archive fails the data step at once, online or not. Its one-line
    # error is in the log, and on the terminal too, not only behind "check log file(s)".
    data = tmp_path / "data"
    data.mkdir()
    (data / "cifar-10-python.tar.gz").write_bytes(b"not an archive")
    cifar = write_yaml(tmp_path / "cifar.yaml", {"dataset": "cifar10", "data_dir": str(data)})
    result = snakemake(tmp_path, configfiles=(SMOKE, cifar), check=False)
    assert result.returncode != 0
    line = (f"landscape data: error: {data}/cifar-10-python.tar.gz is truncated or corrupted "
            "(MD5 mismatch, expected c58f30108f718f92721af3b95e74349a); delete it and retry")
    assert line in result.stdout.splitlines(), result.stdout
    log = tmp_path / "results" / "smoke" / "logs" / "data.log"
    assert log.read_text().splitlines()[-1] == line
    assert not (tmp_path / "results" / "smoke" / "train").exists()


# --------------------------------------------------------------------------- the smoke run


def test_smoke_run_produces_every_file(smoke):
    workdir, _ = smoke
    run = workdir / "results" / "smoke"
    missing = [str(p.relative_to(run)) for p in expected_files(run) if not p.is_file()]
    assert not missing
    # a killed training resumes from resume.pt, which Snakemake must leave alone
    assert (run / "train" / "resnet20" / "resume.pt").is_file()


def test_smoke_run_tables_every_claim(smoke):
    workdir, _ = smoke
    with open(workdir / "results" / "smoke" / "tables" / "claims.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["section", "claim", "measure", "value", "verdict", "files"]
    sections = Counter(r["section"] for r in rows)
    assert sections == {"skip connections (Figs. 1, 5, 6)": 2, "non-convexity (Fig. 7)": 1,
                        "batch size (Figs. 2, 3)": 3, "trajectories (Figs. 8, 9)": 3,
                        "sharpness and test error": 1 + len(SMOKE_RUNS)}
    assert {r["verdict"] for r in rows} <= {"holds", "does not hold", "not measured", "data"}
    verdict = {r["claim"]: r["verdict"] for r in rows}
    # one Hessian map and one ResNet depth: those claims cannot be tested on the smoke run
    assert verdict["without skip connections more of the map is non-convex"] == "not measured"
    assert verdict["the gap (no-skip minus skip sharpness) grows with depth"] == "not measured"
    assert verdict["resnet20_noshort is sharper than resnet20"] in ("holds", "does not hold")
    assert [r["claim"] for r in rows if r["verdict"] == "data"] == sorted(SMOKE_RUNS)


# ------------------------------------------------------------------------------- the report


@pytest.fixture(scope="module")
def report(smoke) -> Path:
    """The smoke run's HTML report, built as the README says."""
    workdir, data = smoke
    path = workdir / "report.html"
    snakemake(workdir, "--report", str(path), configfiles=(SMOKE, data))
    return path


class Scripts(HTMLParser):
    """The text of every <script> element that has an id."""

    def __init__(self):
        super().__init__()
        self.scripts, self.current = {}, None

    def handle_starttag(self, tag, attrs):
        self.current = dict(attrs).get("id") if tag == "script" else None

    def handle_data(self, data):
        if self.current:
            self.scripts[self.current] = self.scripts.get(self.current, "") + data

    def handle_endtag(self, tag):
        self.current = None


class Tables(HTMLParser):
    """Body rows of the tables in an HTML page, cells as text."""

    def __init__(self):
        super().__init__()
        self.rows, self.cell, self.body = [], None, False

    def handle_starttag(self, tag, attrs):
        self.body = self.body or tag == "tbody"
        if self.body and tag == "tr":
            self.rows.append([])
        elif self.body and tag == "td":
            self.cell = ""

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.rows[-1].append(self.cell)
            self.cell = None
        self.body = self.body and tag != "tbody"


def parsed(parser: HTMLParser, text: str) -> HTMLParser:
    parser.feed(text)
    return parser


def report_data(report: Path) -> tuple[dict, dict]:
    """The report's ``results`` (path -> entry, data embedded) and ``categories`` objects."""
    scripts = parsed(Scripts(), report.read_text()).scripts
    values = {}
    for name in ("results", "categories"):
        match = re.fullmatch(rf"\s*var {name} = (.*);\s*", scripts[name], re.S)
        values[name] = json.loads(match.group(1))
    return values["results"], values["categories"]


def embedded(entry: dict) -> bytes:
    return base64.b64decode(entry["data_uri"].split("base64,", 1)[1])


def table_rows(entry: dict) -> list[list[str]]:
    return parsed(Tables(), embedded(entry).decode()).rows


def test_report_has_a_page_per_experiment_with_the_table_curves_and_every_figure(smoke, report):
    workdir, _ = smoke
    run = workdir / "results" / "smoke"
    results, categories = report_data(report)
    assert sorted(categories) == sorted([ARCHITECTURE, BATCH_SIZE, CURVATURE, CLAIMS])
    for title in (ARCHITECTURE, BATCH_SIZE):
        assert sorted(categories[title]) == SECTIONS
    assert sorted(categories[CURVATURE]) == ["3. Paper figures", "5. Provenance"]
    # the claims table inline, on its own page, its rows those of its CSV
    assert categories[CLAIMS] == {"1. Results table": ["results/smoke/tables/claims.html"]}
    with open(run / "tables" / "claims.csv", newline="") as fh:
        claims = list(csv.DictReader(fh))
    assert [r[1] for r in table_rows(results["results/smoke/tables/claims.html"])] == [
        c["claim"] for c in claims]
    # every figure the run drew, embedded byte for byte, each with a caption about the paper
    pngs = sorted(str(p.relative_to(workdir)) for p in (run / "figures").glob("*.png"))
    listed = sorted(p for page in categories.values() for section in page.values()
                    for p in section if p.endswith(".png"))
    assert listed == pngs
    for path in pngs:
        entry = results[path]
        assert entry["mime_type"] == "image/png" and embedded(entry) == (workdir / path).read_bytes()
        assert "paper" in entry["caption"].lower(), path
    # the paper's figures on their experiment's page, each run's figures on its page
    paper = {title: sorted(Path(p).stem for p in page["3. Paper figures"])
             for title, page in categories.items() if title != CLAIMS}
    numbers = {ARCHITECTURE: (1, 4, 5, 6), BATCH_SIZE: (2, 3, 8, 9), CURVATURE: (7,)}
    for title, figures in numbers.items():
        assert paper[title] == sorted(n for f in figures for n in SMOKE_PAPER_FIGURES[f]), title
    for title, runs in ((ARCHITECTURE, SMOKE_MODELS), (BATCH_SIZE, SMOKE_VGG_RUNS)):
        # each run's figures, and the interactive 3-D page of each run with a .vtp export
        assert sorted(Path(p).name for p in categories[title]["4. Per model"]) == sorted(
            [f"{r}_{kind}.png" for r in runs for kind in KINDS]
            + [f"{r}.html" for r in runs if r in SMOKE_VTP_MODELS])
        assert categories[title]["2. Training curves"] == [
            f"results/smoke/figures/training_curves_{study_of(title)}.png"]
        # the results table inline (an HTML page, not a CSV download), numbers as in its CSV
        [table] = categories[title]["1. Results table"]
        assert results[table]["mime_type"] == "text/html"
        with open(run / "tables" / f"results_{study_of(title)}.csv", newline="") as fh:
            expected = list(csv.DictReader(fh))
        rows = table_rows(results[table])
        assert [r[0] for r in rows] == runs
        assert [r[4] for r in rows] == [f"{float(e['test_err']):.2f}" for e in expected]
    # captions quote the numbers of the runs they show: the batch-size study trains 3 epochs
    # with a decay after 2 (the shared recipe: 2 and 1), its table holds no ResNet
    caption = results["results/smoke/figures/training_curves_batch_size.png"]["caption"]
    assert "3 epochs, lr 0.1 multiplied by 0.1 after epoch 2" in caption
    caption = results["results/smoke/tables/results_batch_size.html"]["caption"]
    assert "resnet" not in caption.lower() and "vgg9_bs128_wd0.0005 6.00 %" in caption
    front = " ".join(html.unescape(report.read_text()).replace("\\n", " ").split())  # JSON text
    assert "the batch-size study's for 3 epochs (lr multiplied by 0.1 after epoch 2)" in front
    # provenance of every surface: grid, data, precision, device, time
    [provenance] = categories[ARCHITECTURE]["5. Provenance"]
    rows = table_rows(results[provenance])
    assert [r[1] for r in rows] == [f"{m}{s}.h5" for s in ("", "_1d") for m in SMOKE_MODELS]
    assert {r[2] for r in rows} == {"5 x 5 on [-1, 1] x [-1, 1]", "5 points on [-1, 1]"}
    assert {(r[3], r[5], r[7]) for r in rows} == {("synthetic", "first 32", "cpu")}
    assert all(float(r[8]) > 0 for r in rows)
    [provenance] = categories[BATCH_SIZE]["5. Provenance"]
    names = [r[1] for r in table_rows(results[provenance])]
    assert names == ([f"{r}{s}.h5" for s in ("", "_1d") for r in SMOKE_VGG_RUNS]
                     + ["pca_surface.h5"] * 2 + ["wd0.0005.h5"])


def study_of(title: str) -> str:
    return {ARCHITECTURE: "architecture", BATCH_SIZE: "batch_size"}[title]


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium (Debian: apt-get install chromium)")
def test_report_shows_the_table_and_every_figure_in_a_browser(report, tmp_path):
    # A copy of the report with tests/data/walk_report.js appended: it opens every result the
    # way the report's own buttons do and records what the page then shows.
    walker = (REPO / "tests" / "data" / "walk_report.js").read_text()
    text = report.read_text()
    end = text.rindex("</body>")
    page = tmp_path / "walked.html"
    page.write_text(f"{text[:end]}<script>{walker}</script>{text[end:]}")
    # its own profile folder: a browser left running elsewhere cannot hold this one up
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=60000",
                          "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=300).stdout
    match = re.search(r'<pre id="landscape-check">(\{.*?)</pre>', dom, re.S)
    assert match, dom[-2000:]
    outcome = json.loads(html.unescape(match.group(1)))
    assert outcome["error"] is None
    results, categories = report_data(report)
    assert sorted(outcome["categories"]) == sorted(categories)
    for title, sections in categories.items():  # every section in the menu
        # a page of one section (the claims) shows its results at once, without a menu
        menu = sorted(sections) if len(sections) > 1 else []
        assert sorted(outcome["categories"][title]) == menu
    assert sorted(r["path"] for r in outcome["results"]) == sorted(results)
    rows = {"results_architecture.html": 2, "results_batch_size.html": 2,
            "provenance_architecture.html": 4, "provenance_batch_size.html": 7,
            "provenance_curvature.html": 1, "claims.html": 14}
    for shown in outcome["results"]:
        assert shown["shown"] and shown["caption_shown"], shown
        if shown["mime"] == "image/png":
            assert shown["width"] > 100, shown  # decoded and laid out
        elif Path(shown["path"]).parent.name == "surfaces":  # the interactive 3-D page
            assert shown["canvases"] == 1 and not shown["rows"], shown
        else:
            assert len(shown["rows"]) == rows[Path(shown["path"]).name], shown


# --------------------------------------------------------------------- the README's picture


def test_readme_pictures_are_what_their_command_draws(smoke):
    workdir, data = smoke
    readme = README.read_text()
    pictures = re.findall(r'<img src="(docs/img/smoke_[^"]+)"', readme)
    assert FRONT_PICTURE in pictures and len(pictures) == 6
    command = re.search(rf"`(snakemake [^`]*{re.escape(FRONT_PICTURE)}[^`]*)`", readme).group(1)
    words = command.split()
    at = words.index("--configfile")
    assert words[:3] == ["snakemake", "--cores", "2"] and sorted(words[3:at]) == sorted(pictures)
    snakemake(workdir, *pictures, "--configfile", *(str(REPO / w) for w in words[at + 1:]),
              str(data))
    for picture in pictures:
        drawn = workdir / picture
        figure = workdir / "results" / "smoke" / "figures" / picture.removeprefix("docs/img/smoke_")
        assert drawn.read_bytes() == figure.read_bytes(), picture
        # the committed picture has the layout the pipeline draws today (its pixels depend on
        # the machine's arithmetic, its size does not)
        assert imread(REPO / picture).shape == imread(drawn).shape, picture


def test_fig7_eigenvalues_agree_with_a_tight_arpack_to_tol(smoke, monkeypatch):
    """The smoke Hessian map against ARPACK (tol 1e-6) on the same operator, at its first two
    points; (0, -0.5) is where the former stopping rule stored -0.07 for a true -165."""
    from landscape.hessian_bench import verify_hessian_file

    workdir, _ = smoke
    monkeypatch.chdir(workdir)  # the file's paths are relative to the workflow's directory
    rows = verify_hessian_file("results/smoke/hessian/resnet20.h5", points=2)
    assert [r["point"] for r in rows] == [(-1.0, -0.5), (0.0, -0.5)]
    for r in rows:
        assert r["max_error"] <= r["tol"] and r["min_error"] <= r["tol"], r


def test_second_dry_run_has_nothing_to_do(smoke):
    workdir, data = smoke
    assert dry_run(workdir, SMOKE, data) == []


@pytest.mark.parametrize("change, reruns", [
    # a figure setting reruns only the figures that draw 2-D contours
    ({"plot": {"vmax": 5}}, {"plot_surface": 4, "panel": 5, "plot_trajectory": 2,
                             "plot_random_path": 1, "plot_curvature": 1}),
    # a 1-D figure setting only the 1-D figures
    ({"plot": {"curve": {"log": True}}}, {"plot_curve": 4, "panel": 1, "plot_interpolation": 1}),
    # a grid change that surface's sweeps and what draws them, never training
    ({"surface": {"x": "-0.5:0.5:5"}}, {"surface_shard": 8, "merge_surface": 4, "plot_surface": 4,
                                        "panel": 5, "plot_random_path": 1, "provenance": 2,
                                        "vtp": 1, "html3d": 1, "claims": 1}),
    # the study's settings only the study's jobs
    ({"batch_size_study": {"interpolation": {"x": "-1:2:4"}}},
     {"interpolation": 1, "plot_interpolation": 1, "provenance": 1, "claims": 1}),
    ({"batch_size_study": {"trajectory": {"margin": 0.3}}},
     {"trajectory": 2, "random_path": 1, "pca_surface_shard": 2, "merge_pca_surface": 2,
      "plot_trajectory": 2, "plot_random_path": 1, "provenance": 1, "claims": 1}),
    ({"curvature": {"tol": 0.2}}, {"hessian_shard": 2, "merge_hessian": 1, "plot_curvature": 1,
                                   "provenance": 1, "claims": 1}),
    # a measure of the claims table only the claims table
    ({"claims": {"radius": 0.25}}, {"claims": 1}),
])
def test_a_change_reruns_only_what_depends_on_it(smoke, tmp_path, change, reruns):
    workdir, data = smoke
    changed = write_yaml(tmp_path / "change.yaml", change)
    counts = Counter(rule for rule, _ in dry_run(workdir, SMOKE, data, changed))
    assert counts == {**reruns, "all": 1}


def test_training_change_reruns_only_that_models_chain(smoke, tmp_path):
    workdir, data = smoke
    change = write_yaml(tmp_path / "lr.yaml",
                        {"train_overrides": {"resnet20_noshort": {"lr": 0.05}}})
    jobs = dry_run(workdir, SMOKE, data, change)
    per_model = {rule for rule, w in jobs if "run=resnet20_noshort" in w}
    assert per_model == {"train", "directions", "surface_shard", "merge_surface",
                         "surface_curve", "plot_surface", "plot_curve"}
    assert not [job for job in jobs if "run=resnet20," in job[1] + ","]
    counts = Counter(rule for rule, _ in jobs)
    assert counts["panel"] == 4  # Figs. 1, 4, 5 and 6 show that model
    assert counts["claims"] == 1  # its surface and metrics are claims inputs
    assert {w for rule, w in jobs if rule in ("table", "training_curves", "provenance")} == {
        "study=architecture"}


@pytest.fixture(scope="module")
def second_smoke(tmp_path_factory, data_dir) -> tuple[Path, Path]:
    """A second smoke run, in another directory."""
    workdir = tmp_path_factory.mktemp("smoke_b")
    smoke_run(workdir, data_dir)
    return workdir, workdir / "data.yaml"


def test_two_smoke_runs_are_identical(smoke, second_smoke):
    first = smoke[0] / "results" / "smoke"
    second = second_smoke[0] / "results" / "smoke"
    arrays = [p.relative_to(first) for folder in ("surfaces", "trajectories", "interpolations",
                                                   "hessian") for p in (first / folder).rglob("*.h5")]
    # per run 2 shards, surface and curve; per VGG run its path, PCA directions, one shard and
    # surface; one path on random directions; the interpolation and its direction; a Hessian
    # map of 2 shards
    assert len(arrays) == 4 * 4 + 2 * 4 + 1 + 2 + 3
    for path in sorted(arrays):
        with h5py.File(first / path) as a, h5py.File(second / path) as b:
            assert sorted(a) == sorted(b)
            for key in a:
                if isinstance(a[key], h5py.Dataset) and a[key].dtype.kind == "f":
                    np.testing.assert_array_equal(a[key][()], b[key][()], err_msg=f"{path}:{key}")
    figures = sorted(p.name for p in (first / "figures").iterdir())
    assert figures == sorted(p.name for p in (second / "figures").iterdir())
    for name in figures:
        a, b = (first / "figures" / name).read_bytes(), (second / "figures" / name).read_bytes()
        assert a == b, name


def test_changed_recipe_retrains_instead_of_refusing_the_old_resume_state(second_smoke, tmp_path):
    # `landscape train` refuses to resume a run of other settings; the rule starts afresh.
    workdir, data = second_smoke
    change = write_yaml(tmp_path / "epochs.yaml",
                        {"train_overrides": {"resnet20_noshort": {"epochs": 1}}})
    snakemake(workdir, "--until", "train", configfiles=(SMOKE, data, change))
    folder = workdir / "results" / "smoke" / "train" / "resnet20_noshort"
    assert torch.load(folder / "final.pt", weights_only=True)["config"]["epochs"] == 1
    assert len((folder / "metrics.csv").read_text().splitlines()) == 2  # header + 1 epoch
    assert not (folder / "epoch_002.pt").exists()
