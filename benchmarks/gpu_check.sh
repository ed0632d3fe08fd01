#!/usr/bin/env bash
# GPU check, under 5 minutes on one CUDA GPU. Installs nothing: it uses .venv/bin/python when
# there is one, else python3, and needs a torch built with CUDA.
#
#   benchmarks/gpu_check.sh                 # on a CUDA machine
#   benchmarks/gpu_check.sh --device cpu    # a dry run of the same steps on a CPU, in seconds
#
# 1. the lab's training step against Tunesmith's `mit` step (same model; bf16 autocast on CUDA)
#    on the same GPU, interleaved, and sampling: the lab's loop against 64 tunes at once
#    (python -m benchmarks.run --sections matmul,training,sampling);
# 2. `tunesmith train --preset mit --minutes 2 --device cuda`: characters/second of a real run;
# 3. one summary: every figure as a ratio against the lab reference on the same device.
set -euo pipefail
cd "$(dirname "$0")/.."

device=cuda
minutes=2
while [ $# -gt 0 ]; do
    case "$1" in
        --device) device=$2; shift 2 ;;
        --minutes) minutes=$2; shift 2 ;;
        *) echo "usage: $0 [--device cuda|cpu] [--minutes M]" >&2; exit 2 ;;
    esac
done
python=.venv/bin/python
[ -x "$python" ] || python=python3
data=../shared/data/irish.abc
[ -f "$data" ] || data=oneills
bench_args=()
if [ "$device" = cpu ]; then
    bench_args=(--quick)   # dry run: every step, a few seconds each
    [ "$minutes" = 2 ] && minutes=0.05
fi

"$python" - "$device" <<'PY'
import sys
import torch
device = sys.argv[1]
if device == "cuda" and not torch.cuda.is_available():
    sys.exit(f"gpu_check: torch {torch.__version__} sees no CUDA GPU (built for CUDA {torch.version.cuda})")
name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu (dry run)"
print(f"gpu_check: {name}, torch {torch.__version__}, CUDA {torch.version.cuda}", flush=True)
PY

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "gpu_check: 1/2 lab step vs mit step, and sampling, on $device" >&2
timeout 170 "$python" -m benchmarks.run --device "$device" --sections matmul,training,sampling \
    --data "$data" --out "$out/bench" ${bench_args[@]+"${bench_args[@]}"} >"$out/bench.log"
echo "gpu_check: 2/2 tunesmith train --preset mit --minutes $minutes on $device" >&2
timeout $(( ${minutes%.*} * 60 + 120 )) "$python" -m tunesmith.cli train --data "$data" --out "$out/mit" \
    --preset mit --minutes "$minutes" --device "$device" --quiet >"$out/train.log"

"$python" - "$out" <<'PY'
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
bench = json.loads(next((out / "bench").glob("*.json")).read_text())
final = next(json.loads(line) for line in (out / "train.log").read_text().splitlines() if line.startswith("{"))
rows, sampling = bench["training"]["rows"], bench["sampling"]
lab = rows["lab reference"]["chars_per_s"]
print(f"device: {bench['machine']['device']} {bench['machine'].get('gpu', '')}, torch {bench['machine']['torch']}")
print(f"matmul peak (float32): {bench['matmul']['peak_gflops']:,.0f} GFLOP/s; all: {bench['matmul']['gflops']}")
print(f"training, lab reference step (float32):  {lab:>10,} chars/s   1.00x")
for name, row in rows.items():
    if name != "lab reference":
        print(f"training, {name + ' step':28} {row['chars_per_s']:>10,} chars/s   {row['ratio_to_reference']:.2f}x"
              f"   ({row['share_of_peak']:.0%} of the float32 peak)")
rate = final["chars_per_second"]
print(f"tunesmith train --preset mit, {final['train_seconds']:.0f} s: {rate:>9,.0f} chars/s   {rate / lab:.2f}x"
      f"   ({final['step']} steps, best validation bpc {final['best_valid_bpc']})")
b, loop = sampling["batched"], sampling["lab_loop"]
print(f"sampling, lab loop (one tune, a character per call): {loop['chars_per_s']:>9,.0f} chars/s")
print(f"sampling, {b['tunes']} tunes batched: {b['chars_per_s']:>9,.0f} chars/s   {sampling['ratio_chars_per_s']:.1f}x"
      f"   ({b['tunes_per_s']:.1f} tunes/s, {b['seconds']:.2f} s for all)"
      + (f"   [measured on cpu: {sampling['device_error']}]" if "device_error" in sampling else ""))
PY
