"""Check a Hessian map against ARPACK run tight: ``python scripts/check_fig7.py HESSIAN.h5``.

Run it from the directory the workflow ran in (the file's paths are relative to it). Prints
one row per point (stored and ARPACK eigenvalues, errors in units of the spectral radius)
and exits 1 if any end is further from ARPACK than the file's own ``hessian_tol``.
"""

from __future__ import annotations

import argparse
import math
import sys

from landscape.hessian_bench import verify_hessian_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hessian", help="a merged Hessian surface file")
    parser.add_argument("--points", type=int, default=None, help="check only the first N")
    parser.add_argument("--tight", type=float, default=1e-6, help="ARPACK's tol")
    args = parser.parse_args()
    rows = verify_hessian_file(args.hessian, tight=args.tight, points=args.points)
    print("| point | max_eig | ARPACK max | min_eig | ARPACK min | errors / radius |")
    print("|---|---|---|---|---|---|")
    bad = 0
    for r in rows:
        print(f"| {r['point']} | {r['max_eig']:.5g} | {r['arpack_max']:.5g} | "
              f"{r['min_eig']:.5g} | {r['arpack_min']:.5g} | "
              f"{r['max_error']:.1e}, {r['min_error']:.1e} |")
        bad += sum(not (e <= r["tol"]) for e in (r["max_error"], r["min_error"])
                   if not math.isnan(e))
    print(f"{bad} end(s) outside tol {rows[0]['tol'] if rows else '?'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
