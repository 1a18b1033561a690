"""``landscape bench``: the reference sweep approach against ours, side by side, on one device."""

from __future__ import annotations

import argparse
import json
import statistics

from landscape.atomic import atomic_write_bytes
from landscape.cli.arguments import add_settings, config_from_args
from landscape.configs import BenchConfig
from landscape.paths import check_output_file
from landscape.resources import check_disk


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmark sweep and training speed against the reference approach",
                       description="Time the reference implementation's sweep approach and ours on "
                       "the same model, images and grid points; print seconds per point, the ratio, "
                       "peak memory, the error against float64 and training images/s; write JSON.")
    p.add_argument("--out", required=True, help="JSON file for the results")
    add_settings(p, BenchConfig)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.bench import run_benchmark  # torchvision, PIL: lazily

    out = check_output_file(args.out)  # before minutes of timing, not after
    check_disk(f"writing {out}", out.parent, 64 * 1024)
    cfg = config_from_args(BenchConfig, args)
    result = run_benchmark(cfg)
    print(format_report(result))
    atomic_write_bytes(out, (json.dumps(result, indent=2) + "\n").encode())
    print(f"wrote {out}")


def format_report(result: dict) -> str:
    """The human-readable summary the CLI prints."""
    if result.get("mode") == "hessian":
        return format_hessian_report(result)
    lines = [f"device: {result['device']}",
             (f"model {result['model']}, {result['images']} images, {result['points']} points,"
              f" ours at {result['precision']} (batch {result['batch_size']},"
              f" {result['folded_batchnorms']} BatchNorms folded,"
              f" {'compiled' if result['compiled'] else 'eager'})"),
             (f"{'approach':<10} {'s/point':>10} {'points/s':>10} {'warm-up s':>10}"
              f" {'peak MB':>10} {'rel_error':>10}")]
    names = ["reference", "ours"] if result.get("reference_s_per_point") is not None else ["ours"]
    for name in names:
        error = result["rel_error" if name == "ours" else f"{name}_rel_error"]
        lines.append(f"{name:<10} {result[f'{name}_s_per_point']:>10.4f}"
                     f" {result[f'{name}_points_per_s']:>10.2f} {result[f'{name}_warmup_s']:>10.2f}"
                     f" {result[f'{name}_peak_mem_mb']:>10.0f} {error:>10.2e}")
    if result.get("speedup") is not None:
        lines.append(f"speedup: {result['speedup']:.2f}x (medians; {result['speedup_min']:.2f}x"
                     f" between the fastest points)  memory: {result['memory_kind']}")
    if "train_images_per_s" in result:
        lines.append(f"training at batch {result['train_batch']}: {result['train_images_per_s']:.0f} images/s"
                     f" ({result['train_precision']}, "
                     f"{'compiled' if result['train_compiled'] else 'eager'}),"
                     f" plain fp32 eager {result['train_images_per_s_plain']:.0f} images/s")
    if "precision_table" in result:
        table = result["precision_table"]
        points = list(next(iter(table.values())))
        lines.append("relative loss error vs float64: " + "  ".join(f"{p:>10}" for p in points))
        for mode, row in table.items():
            lines.append(f"  {mode:<29} " + "  ".join(f"{row[p]:>10.1e}" for p in points))
    return "\n".join(lines)


def format_hessian_report(result: dict) -> str:
    """The summary of ``--mode hessian``: seconds and products per point, eigenvalues."""
    lines = [f"device: {result['device']}",
             (f"model {result['model']}, {result['images']} images, {result['points']} points,"
              f" Hessian over {result['hessian_size']} parameters, tol {result['tol']:g},"
              f" ours at {result['precision']} (batch {result['batch_size']})"),
             (f"{'approach':<10} {'s/point':>10} {'products':>10} {'s/product':>10}"
              f" {'warm-up s':>10} {'peak MB':>10}  lambda_max, lambda_min per point")]
    names = ["reference", "ours"] if result.get("reference_s_per_point") is not None else ["ours"]
    for name in names:
        products = result[f"{name}_products"]
        values = "  ".join(f"{a:.4g}, {b:.4g}" for a, b in result[f"{name}_values"])
        lines.append(f"{name:<10} {result[f'{name}_s_per_point']:>10.2f}"
                     f" {statistics.median(products):>10.0f} {result[f'{name}_s_per_product']:>10.3f}"
                     f" {result[f'{name}_warmup_s']:>10.2f} {result[f'{name}_peak_mem_mb']:>10.0f}"
                     f"  {values}")
    if result.get("speedup") is not None:
        lines.append(f"speedup: {result['speedup']:.2f}x (medians)  memory: {result['memory_kind']}")
    if result.get("reference_rel_difference"):
        diff = result["reference_rel_difference"]
        lines.append(f"reference / {result['reference_scale']:g} (its sum of batch means) against"
                     f" ours, relative to |lambda|max: max {max(diff['max']):.1e},"
                     f" min {max(diff['min']):.1e}")
    for name in names:
        error = result.get(f"{name}_arpack_error")
        if error:
            lines.append(f"{name} against ARPACK at tol {result['config']['tight']:g}, relative to"
                         f" |lambda|max: max {max(error['max']):.1e}, min {max(error['min']):.1e}"
                         f" (tol {result['tol']:g})")
    return "\n".join(lines)
