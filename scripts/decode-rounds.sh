#!/usr/bin/env bash
# Decode only, in alternated rounds: each round runs llama.cpp on the Q8_0 and Q4_0 GGUF files, then RedHare on BF16,
# FP8 as published, FP8 with its LM head in FP8 (--quantize fp8), Q8_0 and Q4_0, every run its own process. On hosts
# whose speed changes from minute to minute this compares engines within a round, where one long run would compare a
# quiet minute with a busy one. Prints one row per round (tokens/s) and membw before and after.
#   scripts/decode-rounds.sh [MODELS_DIR] [SHAPE] [THREADS] [ROUNDS]   (default /tmp/redhare-models qwen2.5-0.5b 1 3)
# The files and the llama.cpp package come from scripts/compare-llamacpp.sh (run it once first).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-/tmp/redhare-models}"; s="${2:-qwen2.5-0.5b}"; t="${3:-1}"; rounds="${4:-3}"
N="${N:-64}"
nlc="${XDG_CACHE_HOME:-$HOME/.cache}/redhare/node-llama-cpp-${NLC_VERSION:-3.22.1}"
for f in "$dir/$s-bf16" "$dir/$s-fp8" "$dir/gguf/$s-q8_0.gguf" "$dir/gguf/$s-q4_0.gguf" "$nlc/llamacpp-bench.mjs"; do
  [ -e "$f" ] || { echo "decode-rounds: $f is missing; run TYPES=\"bf16 q8_0 fp8 q4_0\" scripts/compare-llamacpp.sh $dir $s once first" >&2; exit 1; }
done
membw="$here/../shared/perf/membw"
bw() { [ -x "$membw" ] && "$membw" 4 | tr '\n' ' ' || echo "(no ../shared/perf/membw)"; }
lc() { (cd "$nlc" && node llamacpp-bench.mjs "$1" "$t" 16 "$N" 3 2>/dev/null | grep '^{' |
  python3 -c "import json,sys; print('%.2f' % json.load(sys.stdin)['tg_tokens_per_second'])") || echo "-"; }
rh() { REDHARE_NO_BUILD=1 "$here/redhare" bench -m "$@" -p 0 -n "$N" -r 3 -t "$t" --json 2>/dev/null |
  python3 -c "import json,sys; print('%.2f' % json.load(sys.stdin)['tg_tokens_per_second'])" || echo "-"; }
"$here/redhare" info -m "$dir/$s-bf16" >/dev/null 2>&1 # builds RedHare first if needed
echo "$s, $t thread(s), tg$N tokens/s; membw before: $(bw)"
echo "| round | llama.cpp Q8_0 | llama.cpp Q4_0 | BF16 | FP8 | FP8 + FP8 head | Q8_0 | Q4_0 |"
echo "|---|---|---|---|---|---|---|---|"
for r in $(seq "$rounds"); do
  echo "| $r | $(lc "$dir/gguf/$s-q8_0.gguf") | $(lc "$dir/gguf/$s-q4_0.gguf") | $(rh "$dir/$s-bf16") | $(rh "$dir/$s-fp8") |" \
    "$(rh "$dir/$s-fp8" --quantize fp8) | $(rh "$dir/gguf/$s-q8_0.gguf") | $(rh "$dir/gguf/$s-q4_0.gguf") |"
done
echo "membw after: $(bw)"
