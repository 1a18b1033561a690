"""The report's captions (workflow/report/*.rst): rendered as Snakemake's report renders them
(Jinja, then reStructuredText), every number from the config of the runs concerned.

The smoke preset trains the architecture study 2 epochs (decay after 1) and the batch-size
study 3 epochs (decay after 2); captions once quoted the shared recipe for both, and the
VGG-9 table's caption quoted the paper's ResNet errors.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
import yaml
from docutils.core import publish_parts

from landscape.choices import KINDS_2D
from landscape.captions import paper_errors_sentence, recipe_sentence, recipes_sentence

REPO = Path(__file__).resolve().parents[1]
CAPTIONS = REPO / "workflow" / "report"


def merged(base: dict, over: dict) -> dict:
    """``over`` layered onto ``base`` key by key, as Snakemake layers --configfile."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def config(*layers: dict) -> dict:
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    for layer in (yaml.safe_load((REPO / "presets" / "smoke.yaml").read_text()), *layers):
        cfg = merged(cfg, layer)
    return cfg


def study_recipes(cfg: dict) -> dict[str, dict[str, dict]]:
    """Each study's runs with their own recipes, as workflow/rules/common.smk builds them."""
    study = cfg["batch_size_study"]
    return {
        "architecture": {m: {**cfg["train"], **cfg["train_overrides"].get(m, {})}
                         for m in cfg["models"]},
        "batch_size": {f"{study['model']}_bs{bs}_wd{wd:g}": {**cfg["train"], **study["train"],
                                                             "batch_size": bs, "weight_decay": wd}
                       for wd in study["weight_decays"] for bs in study["batch_sizes"]},
    }


def render(name: str, cfg: dict, study: str = "batch_size") -> str:
    """The caption as the report shows it: Jinja with the rule's params, then rST to HTML
    (any rST warning fails)."""
    runs = study_recipes(cfg)[study]
    params = SimpleNamespace(recipe=recipes_sentence(runs), paper=paper_errors_sentence(list(runs)),
                             models=" ".join(runs), style="--surf-name train_loss",
                             marks="--marks 0 1", layout="--rows 1 --cols 2")
    wildcards = SimpleNamespace(study=study, run=next(iter(runs)), panel="fig5_panel",
                                pair="wd0.0005")
    snakemake = SimpleNamespace(config=cfg, params=params, wildcards=wildcards)
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)  # as the report's, but strict
    text = env.from_string((CAPTIONS / f"{name}.rst").read_text()).render(snakemake=snakemake)
    publish_parts(text, writer="html",
                  settings_overrides={"report_level": 2, "halt_level": 2})
    return " ".join(text.split())


@pytest.mark.parametrize("name", sorted(p.stem for p in CAPTIONS.glob("*.rst")))
def test_every_caption_renders_as_valid_rst(name):
    assert render(name, config())


def test_training_caption_quotes_each_studys_own_schedule():
    cfg = config()
    assert "3 epochs, lr 0.1 multiplied by 0.1 after epoch 2; batch sizes 16, 128" in render(
        "training", cfg, "batch_size")
    architecture = render("training", cfg, "architecture")
    assert "2 epochs, lr 0.1 multiplied by 0.1 after epoch 1, batch 64" in architecture
    assert "3 epochs" not in architecture
    changed = config({"batch_size_study": {"train": {"epochs": 7, "milestones": [3, 5]}}})
    assert "7 epochs, lr 0.1 multiplied by 0.1 after epochs 3 and 5" in render(
        "training", changed, "batch_size")


def test_front_page_quotes_both_studies_schedules():
    text = render("workflow", config())
    assert "the architecture study's for 2 epochs (lr multiplied by 0.1 after epoch 1)" in text
    assert "the batch-size study's for 3 epochs (lr multiplied by 0.1 after epoch 2)" in text
    assert "train_overrides" not in text  # the paper's override is of a model not trained here
    overridden = render("workflow", config({"train_overrides": {"resnet20": {"lr": 0.05}}}))
    assert "(changed by train_overrides for resnet20)" in overridden.replace("``", "")


def test_table_caption_quotes_the_papers_errors_of_this_studys_runs():
    vgg = render("table", config(), "batch_size")
    assert "resnet" not in vgg.lower()
    assert "vgg9_bs128_wd0.0005 6.00 %" in vgg
    assert "no test error for vgg9_bs16_wd0.0005" in vgg
    resnets = render("table", config(), "architecture")
    assert "resnet20 7.37 %, resnet20_noshort 8.18 %" in resnets and "vgg" not in resnets


def test_no_caption_hard_codes_a_runs_numbers():
    # a test error (6.00 %) or an epoch count of this run typed into a caption goes stale as
    # soon as the config changes; the paper's own recipe is the one number allowed
    for path in CAPTIONS.glob("*.rst"):
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", path.read_text(), flags=re.S)
        text = re.sub(r"The paper trains every network with the same recipe \(.*?\)", "", text,
                      flags=re.S)
        assert not re.search(r"\d+\.\d+ ?%", text), path.name
        assert not re.search(r"\b\d+\s+epochs?\b|\bepochs?\s+\d+", text), path.name


def test_recipe_sentences():
    recipe = {"epochs": 1, "lr": 0.05, "milestones": [], "batch_size": 8}
    assert recipe_sentence(recipe) == "1 epoch, lr 0.05 throughout, batch 8"
    runs = {"a": {"epochs": 3, "lr": 0.1, "milestones": [2], "gamma": 0.1, "batch_size": 8},
            "b": {"epochs": 3, "lr": 0.01, "milestones": [2], "gamma": 0.1, "batch_size": 8}}
    assert recipes_sentence(runs) == ("a: 3 epochs, lr 0.1 multiplied by 0.1 after epoch 2, "
                                      "batch 8; b: 3 epochs, lr 0.01 multiplied by 0.1 after "
                                      "epoch 2, batch 8")
    assert paper_errors_sentence(["mine"]) == (
        "The paper reports no test error for mine (a blank cell).")


def rule_blocks() -> list[str]:
    """The text of every rule of the workflow (``rule`` and ``use rule`` blocks)."""
    text = "\n".join(p.read_text() for p in sorted((REPO / "workflow" / "rules").glob("*.smk")))
    return re.split(r"\n(?=(?:use )?rule )", text)


@pytest.mark.parametrize("name", sorted(p.stem for p in CAPTIONS.glob("*.rst")
                                        if p.stem != "workflow"))
def test_rules_pass_every_param_their_caption_quotes(name):
    used = set(re.findall(r"snakemake\.params\.(\w+)", (CAPTIONS / f"{name}.rst").read_text()))
    pattern = rf'^\s*"{name}",$|in_report\(.*, "{name}",'  # in_report's caption argument
    blocks = [b for b in rule_blocks() if re.search(pattern, b, re.M)]
    if name in KINDS_2D:  # surface_figures() captions each kind's file of plot_surface
        blocks = [b for b in rule_blocks() if b.startswith("rule plot_surface:")]
    assert blocks, f"no rule puts a file with caption {name}.rst into the report"
    for block in blocks:
        rule = block.split(":", 1)[0]
        missing = [p for p in sorted(used) if not re.search(rf"^\s+{p}=", block, re.M)]
        assert not missing, f"{rule} lacks params {missing} that {name}.rst quotes"
