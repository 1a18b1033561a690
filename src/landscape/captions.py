"""Sentences for figure and table captions, from the settings of the runs they show.

A caption that quotes numbers must quote the numbers of the runs concerned: a batch-size
study trained for 3 epochs is not described by the shared recipe's 2, and a VGG-9 table is
not described by the paper's ResNet errors. The workflow passes these sentences to its
report captions (rule ``params``), so they follow the config. Plain functions of plain
values: no Snakemake here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from landscape.paper import paper_test_error


def _epochs(values: Sequence[int]) -> str:
    words = [str(v) for v in values]
    if len(words) == 1:
        return f"epoch {words[0]}"
    return f"epochs {', '.join(words[:-1])} and {words[-1]}"


def recipe_sentence(recipe: Mapping[str, Any]) -> str:
    """``"3 epochs, lr 0.1 multiplied by 0.1 after epoch 2, batch 128"``: one run's schedule."""
    text = f"{recipe['epochs']} epoch{'s' if recipe['epochs'] != 1 else ''}, lr {recipe['lr']:g}"
    milestones = list(recipe.get("milestones") or [])
    if milestones:
        text += f" multiplied by {recipe.get('gamma', 0.1):g} after {_epochs(milestones)}"
    else:
        text += " throughout"
    if "batch_size" in recipe:
        text += f", batch {recipe['batch_size']}"
    return text


def recipes_sentence(recipes: Mapping[str, Mapping[str, Any]]) -> str:
    """The schedules of several runs: one sentence if they share it, else one per group of
    runs (``"a, b: ...; c: ..."``), batch sizes listed when they differ."""
    keys = ("epochs", "lr", "milestones", "gamma")
    groups: dict[tuple, list[str]] = {}
    for run, recipe in recipes.items():
        groups.setdefault(tuple(str(recipe.get(k)) for k in keys), []).append(run)
    batches = [r.get("batch_size") for r in recipes.values()]
    if len(set(batches)) > 1:
        shown = {run: {k: v for k, v in r.items() if k != "batch_size"}
                 for run, r in recipes.items()}
        suffix = "; batch sizes " + ", ".join(str(b) for b in dict.fromkeys(batches))
    else:
        shown, suffix = recipes, ""
    if len(groups) == 1:
        return recipe_sentence(next(iter(shown.values()))) + suffix
    parts = [f"{', '.join(runs)}: {recipe_sentence(shown[runs[0]])}" for runs in groups.values()]
    return "; ".join(parts) + suffix


def paper_errors_sentence(runs: Sequence[str]) -> str:
    """The paper's test errors of these runs, ``"vgg9_bs128_wd0.0005 6.00 %"``, or what the
    paper lacks."""
    known = [(run, paper_test_error(run)) for run in runs]
    quoted = [f"{run} {err:.2f} %" for run, err in known if err is not None]
    missing = [run for run, err in known if err is None]
    text = ("The paper's test errors: " + ", ".join(quoted) + ".") if quoted else ""
    if missing:
        text += (" " if text else "") + (
            f"The paper reports no test error for {', '.join(missing)} (a blank cell).")
    return text
