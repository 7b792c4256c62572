#!/usr/bin/env bash
# Measures RedHare's prompt and decode speed on synthetic checkpoints in real shapes, next to the memory
# read bandwidth measured in the same run, and prints Markdown rows for docs/PERFORMANCE.md.
#   scripts/perf-report.sh [MODELS_DIR] [SHAPE:ARCH:DTYPE[:QUANTIZE]...]
# QUANTIZE (fp8, q8_0, q4_0) runs the DTYPE checkpoint with --quantize, i.e. quantized in memory at load.
# Needs ../shared/perf/membw (the bandwidth probe); synthetic checkpoints are written on first use.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-/tmp/redhare-models}"; shift || true
[ $# -gt 0 ] && shapes=("$@") || shapes=(qwen2.5-0.5b:qwen2:bf16 llama-3.2-1b:llama:bf16)
membw="${MEMBW:-$here/../shared/perf/membw}"
P="${P:-512}"; N="${N:-128}"; R="${R:-3}"
mkdir -p "$dir"
echo "machine: $(nproc) vCPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
bw=""
if [ -x "$membw" ]; then bw="$("$membw" 2>&1 | tr '\n' ' ')"; echo "bandwidth before: $bw"; fi
echo
echo "| shape | dtype | threads | pp$P tok/s | tg$N tok/s | read/token | tg x read | of bandwidth |"
echo "|---|---|---|---|---|---|---|---|"
for spec in "${shapes[@]}"; do
  IFS=: read -r shape arch dtype quant <<<"$spec"
  m="$dir/$shape-$dtype"
  [ -f "$m/model.safetensors" ] || "$here/redhare" synth --arch "$arch" --shape "$shape" --dtype "$dtype" --out "$m" >&2
  extra=(); label="$dtype"
  if [ -n "${quant:-}" ]; then extra=(--quantize "$quant"); label="$quant (from $dtype)"; fi
  for t in 1 2; do
    j="$("$here/redhare" bench --model "$m" "${extra[@]}" -p "$P" -n "$N" -r "$R" --threads "$t" --json 2>/dev/null)"
    python3 - "$j" "$t" "$shape" "$label" "$bw" <<'PY'
import json, re, sys
j = json.loads(sys.argv[1]); t = int(sys.argv[2]); bw = sys.argv[5]
m = re.search(r"threads=%d read_GBps_best=([\d.]+)" % t, bw)
frac = "%.0f%%" % (100 * j["decode_gb_per_second"] / float(m.group(1))) if m else "n/a"
print("| %s | %s | %d | %.1f | %.2f | %.0f MB | %.1f GB/s | %s |" % (sys.argv[3], sys.argv[4], t, j["pp_tokens_per_second"],
      j["tg_tokens_per_second"], j["decode_bytes_per_token"] / 1e6, j["decode_gb_per_second"], frac))
PY
  done
done
if [ -x "$membw" ]; then echo; echo "bandwidth after: $("$membw" 2>&1 | tr '\n' ' ')"; fi
