"""``landscape claims``: the paper's claims, each with the number that tests it on a run."""

from __future__ import annotations

import argparse
from pathlib import Path

from landscape.cli.arguments import add_settings, config_from_args
from landscape.configs import ClaimsConfig
from landscape.errors import LandscapeError

INPUTS = {  # option: what each NAME=PATH names
    "surfaces": "2-D loss surfaces, one per model (NAME as in `landscape train --model`; "
                "X and X_noshort are compared)",
    "curves": "1-D filter-normalized curves (batch-size runs: <model>_bs<B>_wd<WD>)",
    "hessians": "Hessian eigenvalue maps (X and X_noshort are compared)",
    "metrics": "training metrics.csv files (final-epoch test error)",
    "trajectories": "optimizer paths on PCA directions (landscape trajectory)",
    "random_paths": "the same paths on the run's random directions (landscape project)",
    "random_directions": "the direction files those paths were projected onto",
    "interpolations": "interpolations from the small- to the large-batch solution, NAME "
                      "wd<WD> (alpha 0: small batch, 1: large batch)",
}


def named_path(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, Path(path)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "claims", help="the paper's qualitative claims, measured on a run: CSV, Markdown, HTML",
        description="One row per claim of Li et al. (2018): the measure (docs/claims.md), its "
        "value on the given files and whether the claim holds, does not hold or is not "
        "measured (the files to test it are missing). Inputs are NAME=PATH pairs.")
    group = p.add_argument_group("inputs (NAME=PATH, any number)")
    for name, text in INPUTS.items():
        group.add_argument(f"--{name.replace('_', '-')}", nargs="*", default=[],
                           type=named_path, metavar="NAME=PATH", help=text)
    p.add_argument("--out-prefix", required=True,
                   help="writes PREFIX.csv, PREFIX.md and PREFIX.html")
    add_settings(p, ClaimsConfig)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.claims import ClaimsInputs, write_claims

    groups = {}
    for name in INPUTS:
        pairs = getattr(args, name)
        names = [n for n, _ in pairs]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise LandscapeError(f"--{name.replace('_', '-')}: {', '.join(twice)} given twice")
        groups[name] = dict(pairs)
    inputs = ClaimsInputs(**groups)
    cfg = config_from_args(ClaimsConfig, args)
    outs = [f"{args.out_prefix}.{ext}" for ext in ("csv", "md", "html")]
    rows = write_claims(inputs, cfg, *outs)
    counts = {v: sum(r.verdict == v for r in rows) for v in ("holds", "does not hold",
                                                               "not measured")}
    print(f"wrote {', '.join(outs)} ({', '.join(f'{n} {v}' for v, n in counts.items())})")
