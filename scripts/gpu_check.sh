#!/usr/bin/env bash
# GPU measurements for docs/speed.md, in parts that fit one device call each (estimates on an
# H100/H200: parts 1+3 about 5 minutes, parts 2+4 about 4, part 5 about 3):
#   1. sweep: ResNet-56 over 50,000 images, the reference approach vs ours (auto precision,
#      compiled), a few grid points, plus training images/s at batch 128;
#   2. our sweep at each fixed precision (no reference), eager, and bf16 compiled;
#   3. each precision's error vs float64 at the minimum and the corners of a ResNet-20
#      trained for a few epochs on the synthetic set;
#   4. training epoch time, plain and fast path (ResNet-56, synthetic images);
#   5. Hessian eigenvalues at one point: the reference's approach (DataLoader, autograd,
#      scipy eigsh twice) vs ours (Lanczos on device-side double-backward products).
# Ends with a compact table; full JSON and logs go to $OUT (the device tool's folder) or
# ./gpu_check_out.
#
#   PARTS="1 3" bash scripts/gpu_check.sh              # on a GPU machine (default: all parts)
#   SMOKE=1 PYTHON=.venv/bin/python bash scripts/gpu_check.sh   # tiny sizes on a CPU (a test)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
if [[ -n "${SMOKE:-}" ]]; then
  DEVICE=cpu MODEL=resnet20 IMAGES=48 POINTS=2 TRAIN_STEPS=1 PROBE_MODEL=resnet20
  TABLE_IMAGES=48 TRAIN_SIZE=64 EPOCHS=1 TRAIN_MODEL=resnet20 LIMIT=600 COMPILE=--no-compile
  HESSIAN_MODEL=resnet20 HESSIAN_IMAGES=32 HESSIAN_ITER=6
else
  DEVICE=cuda MODEL=resnet56 IMAGES=50000 POINTS=3 TRAIN_STEPS=50 PROBE_MODEL=resnet20
  TABLE_IMAGES=10000 TRAIN_SIZE=9984 EPOCHS=2 TRAIN_MODEL=resnet56 LIMIT=420 COMPILE=--compile
  HESSIAN_MODEL=resnet56 HESSIAN_IMAGES=5000 HESSIAN_ITER=100
fi
PARTS=${PARTS:-1 2 3 4 5}
DATA="$OUT/data"
part() { [[ " $PARTS " == *" $1 "* ]]; }
lm() { timeout "$LIMIT" "$PY" -m landscape "$@"; }
step() { echo "== $*"; }

step "environment"
"$PY" -c "import torch; print('torch', torch.__version__, '| cuda', torch.cuda.is_available(),
      '|', torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,clocks.sm --format=csv,noheader

part 1 && step "1. sweep $MODEL x $IMAGES images: reference vs ours (auto precision)"
part 1 && { lm bench --model "$MODEL" --images "$IMAGES" --points "$POINTS" --device "$DEVICE" \
  --train-steps "$TRAIN_STEPS" $COMPILE --out "$OUT/bench_auto.json" 2>&1 | tee "$OUT/bench_auto.log" | grep -v Warning; }

part 2 && step "2. ours at each precision, eager, and bf16 compiled (no reference)"
part 2 && for run in fp32:--no-compile tf32:--no-compile bf16:--no-compile bf16:$COMPILE; do
  p=${run%%:*} c=${run#*:}
  lm bench --model "$MODEL" --images "$IMAGES" --points 2 --device "$DEVICE" \
    --precision "$p" $c --no-reference --train-steps 0 --out "$OUT/ours_${p}${c}.json" \
    >"$OUT/ours_${p}${c}.log" 2>&1 || echo "   $p $c failed: see $OUT/ours_${p}${c}.log"
done

part 3 && step "3. precision errors vs float64 on a trained $PROBE_MODEL (synthetic data)"
part 3 && { lm train --model "$PROBE_MODEL" --dataset synthetic --data-dir "$DATA" --epochs 4 \
  --milestones 3 --train-size "$TRAIN_SIZE" --test-size 500 --device "$DEVICE" \
  --out "$OUT/probe_run" --no-progress >"$OUT/probe_train.log" 2>&1 \
  && lm bench --model "$PROBE_MODEL" --checkpoint "$OUT/probe_run/final.pt" --data synthetic \
    --data-dir "$DATA" --images "$TABLE_IMAGES" --points 1 --device "$DEVICE" --no-reference \
    --train-steps 0 --precision-table --out "$OUT/precision_table.json" >"$OUT/precision_table.log" 2>&1 \
  || echo "   precision table failed: see $OUT/probe_train.log, $OUT/precision_table.log"; }

part 4 && step "4. training epochs of $TRAIN_MODEL on $TRAIN_SIZE synthetic images, plain and fast"
part 4 && for mode in plain fast; do
  flags=(--precision fp32 --no-compile)
  [[ $mode == fast ]] && flags=(--precision auto $COMPILE)
  lm train --model "$TRAIN_MODEL" --dataset synthetic --data-dir "$DATA" --epochs "$EPOCHS" \
    --train-size "$TRAIN_SIZE" --test-size 500 --device "$DEVICE" "${flags[@]}" \
    --out "$OUT/train_$mode" --no-progress --restart >"$OUT/train_$mode.log" 2>&1 \
    || echo "   training ($mode) failed: see $OUT/train_$mode.log"
done

part 5 && step "5. Hessian eigenvalues, $HESSIAN_MODEL x $HESSIAN_IMAGES images: reference vs ours"
part 5 && { lm bench --mode hessian --model "$HESSIAN_MODEL" --images "$HESSIAN_IMAGES" \
  --points 1 --max-iter "$HESSIAN_ITER" --device "$DEVICE" --out "$OUT/hessian.json" \
  >"$OUT/hessian.log" 2>&1 || echo "   Hessian bench failed: see $OUT/hessian.log"; }

step "summary"
"$PY" - "$OUT" "$TRAIN_SIZE" <<'EOF'
import csv, json, sys
from pathlib import Path
out = Path(sys.argv[1])
def load(name):
    try:
        return json.loads((out / name).read_text())
    except (OSError, ValueError):
        return None
b = load("bench_auto.json") or load("ours_fp32--no-compile.json")
if b:
    print(f"device: {b['device']} | torch {b['torch']} | {b['model']} x {b['images']} images")
    print(f"{'sweep':<28}{'s/point':>9}{'51x51 min':>11}{'rel_error':>11}")
    rows = [("reference (DataLoader, fp64 host)", b.get("reference_s_per_point"), b.get("reference_rel_error"))]
    if b["config"]["precision"] == "auto":
        rows.append((f"ours auto={b['precision']} {'compiled' if b['compiled'] else 'eager'}",
                     b["ours_s_per_point"], b["rel_error"]))
    for path in sorted(out.glob("ours_*.json")):
        r = json.loads(path.read_text())
        asked = r["config"]["precision"]
        ran = asked if asked == r["precision"] else f"{asked}->{r['precision']}"
        rows.append((f"ours {ran} {'compiled' if r['compiled'] else 'eager'}"
                     f" b{r['batch_size']}", r["ours_s_per_point"], r["rel_error"]))
    for name, s, e in rows:
        if s is not None:
            print(f"{name[:28]:<28}{s:>9.3f}{s * 2601 / 60:>11.1f}{e:>11.1e}")
    if b.get("speedup"):
        print(f"speedup vs reference: {b['speedup']:.1f}x; compile/warm-up {b['ours_warmup_s']:.0f} s")
    if "train_images_per_s" in b:
        ips, plain = b["train_images_per_s"], b["train_images_per_s_plain"]
        print(f"training b128: fast {ips:.0f} img/s = {50000 / ips:.2f} s/epoch(50k);"
              f" plain {plain:.0f} img/s = {50000 / plain:.2f} s/epoch(50k)")
t = load("precision_table.json")
if t:
    table = t["precision_table"]
    cols = list(next(iter(table.values())))
    print("rel. loss error vs float64 " + " ".join(f"{c:>9}" for c in cols))
    for mode, row in table.items():
        print(f"  {mode:<25} " + " ".join(f"{row[c]:>9.1e}" for c in cols))
h = load("hessian.json")
if h:
    print(f"Hessian {h['model']} x {h['images']} images, {h['device']}: "
          + "; ".join(f"{n} {h[f'{n}_s_per_point']:.1f} s/point, {h[f'{n}_products'][0]} products"
                      for n in ("reference", "ours") if h.get(f"{n}_s_per_point") is not None)
          + (f"; speedup {h['speedup']:.2f}x" if h.get("speedup") else ""))
train_size = int(sys.argv[2])
for mode in ("plain", "fast"):
    try:
        with open(out / f"train_{mode}" / "metrics.csv") as fh:
            secs = [float(r["seconds"]) for r in csv.DictReader(fh)]
    except OSError:
        print(f"train {mode}: no metrics")
        continue
    print(f"train {mode} ({train_size} images/epoch): " + ", ".join(f"{s:.2f}" for s in secs)
          + f" s; last epoch scaled to 50,000 images: {secs[-1] * 50000 / train_size:.2f} s")
EOF
