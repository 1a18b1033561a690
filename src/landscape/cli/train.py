"""``landscape train``: train one model with the paper's recipe, resumable."""

from __future__ import annotations

import argparse

from landscape.cli.arguments import (
    add_flag, add_progress_argument, add_settings, config_from_args,
)
from landscape.configs import TrainConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model (SGD, Nesterov, step decay, crop+flip)",
                       description="Train one model into --out: epoch_NNN.pt checkpoints, final.pt "
                       "and metrics.csv. Rerun the same command after a kill to resume.")
    p.add_argument("--out", required=True, help="output folder for checkpoints and metrics.csv")
    add_settings(p, TrainConfig)
    add_flag(p, "--restart",
             "discard a previous run's resume state in --out instead of continuing it")
    add_flag(p, "--restart-if-changed",
             "resume a run of the same settings, start afresh if they changed "
             "(for workflows: a changed recipe reruns the job)")
    add_progress_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.train import train

    final = train(config_from_args(TrainConfig, args), args.out, restart=args.restart,
                  progress=args.progress, restart_if_changed=args.restart_if_changed)
    print(f"wrote {final}")
