"""``landscape train``: train one model with the paper's recipe, resumable."""

from __future__ import annotations

import argparse

from landscape.cli.arguments import (
    add_data_arguments, add_device_argument, add_progress_argument, non_negative_float,
    positive_float, positive_int,
)
from landscape.choices import MODEL_NAMES, PRECISIONS, SUBSET_RULES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model (SGD, Nesterov, step decay, crop+flip)",
                       description="Train one model into --out: epoch_NNN.pt checkpoints, final.pt "
                       "and metrics.csv. Rerun the same command after a kill to resume.")
    p.add_argument("--model", required=True, choices=MODEL_NAMES, metavar="MODEL",
                   help=f"one of: {', '.join(MODEL_NAMES)}")
    p.add_argument("--out", required=True, help="output folder for checkpoints and metrics.csv")
    add_data_arguments(p)
    g = p.add_argument_group("recipe (defaults: the paper's)")
    g.add_argument("--epochs", type=positive_int, default=300)
    g.add_argument("--batch-size", type=positive_int, default=128)
    g.add_argument("--lr", type=positive_float, default=0.1, help="initial learning rate")
    g.add_argument("--momentum", type=non_negative_float, default=0.9)
    g.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=True)
    g.add_argument("--weight-decay", type=non_negative_float, default=5e-4)
    g.add_argument("--milestones", type=positive_int, nargs="*", default=[150, 225, 275],
                   help="epochs after which the lr is multiplied by --gamma")
    g.add_argument("--gamma", type=positive_float, default=0.1)
    g.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                   help="random crop (4-pixel zero padding) and horizontal flip")
    s = p.add_argument_group("subsets and checkpoints")
    s.add_argument("--train-size", type=positive_int, default=None,
                   help="train on N images of the training split (default: all)")
    s.add_argument("--test-size", type=positive_int, default=None,
                   help="evaluate on N images of the test split (default: all)")
    s.add_argument("--subset-rule", choices=SUBSET_RULES, default="first",
                   help="first N, or N drawn with --seed (default: %(default)s)")
    s.add_argument("--save-every", type=positive_int, default=10,
                   help="keep a checkpoint every N epochs, besides 0, 1, milestones, last")
    p.add_argument("--seed", type=int, default=0, help="seeds initialization, shuffling, augmentation")
    p.add_argument("--eval-batch-size", type=positive_int, default=1024)
    f = p.add_argument_group("speed (same recipe; see docs/speed.md)")
    f.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="auto: TF32 on CUDA, float32 on a CPU (default: %(default)s)")
    f.add_argument("--compile", action=argparse.BooleanOptionalAction, default=False,
                   help="torch.compile the model; on CUDA replay each step as CUDA graphs")
    add_device_argument(p)
    p.add_argument("--restart", action="store_true",
                   help="discard a previous run's resume state in --out instead of continuing it")
    p.add_argument("--restart-if-changed", action="store_true",
                   help="resume a run of the same settings, start afresh if they changed "
                   "(for workflows: a changed recipe reruns the job)")
    add_progress_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.train import TrainConfig, train

    cfg = TrainConfig(
        model=args.model, dataset=args.dataset, data_dir=args.data_dir, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, momentum=args.momentum, nesterov=args.nesterov,
        weight_decay=args.weight_decay, milestones=tuple(args.milestones), gamma=args.gamma,
        save_every=args.save_every, train_size=args.train_size, test_size=args.test_size,
        subset_rule=args.subset_rule, augment=args.augment, seed=args.seed, device=args.device,
        eval_batch_size=args.eval_batch_size, precision=args.precision, compile=args.compile,
    )
    final = train(cfg, args.out, restart=args.restart, progress=args.progress,
                  restart_if_changed=args.restart_if_changed)
    print(f"wrote {final}")
