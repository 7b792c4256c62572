#!/usr/bin/env bash
# RedHare against llama.cpp on this machine, on the same files, in one run (memory bandwidth measured before and
# after): BF16 (safetensors for RedHare, the same weights as a GGUF for llama.cpp), Q8_0 and Q4_0 (one GGUF file
# read by both), RedHare's FP8 next to them, and Q4_K_M (the usual GGUF download: Q4_K with Q6_K, or Q5_0/Q8_0 where
# rows are not a multiple of 256), made by llama.cpp's own quantizer from the BF16 GGUF (scripts/llamacpp-quantize.py).
#   scripts/compare-llamacpp.sh [MODELS_DIR] [SHAPE...]     (default /tmp/redhare-models, qwen2.5-0.5b llama-3.2-1b)
#   P=512 N=64 R=2 THREADS="1 2" TYPES="bf16 q8_0 fp8 q4_0 q4_k_m"   (also q4_k, q6_k: files RedHare's quantizer writes)
#   ISA=avx2: both engines as on a CPU without AVX-512 (AMD Zen 2/3, most Intel client cores): the JVM limited to AVX2
#   (-XX:UseAVX=2, so RedHare takes its 8-lane vectors and AVX2 machine code) and llama.cpp's AVX2 build (its haswell
#   CPU backend alone, in a copy of the package), on this machine's memory.
# Needs Node.js and the npm registry once: llama.cpp comes from the npm package node-llama-cpp (prebuilt CPU builds
# for each x86-64 level; it picks the one for this CPU), installed into ~/.cache/redhare. It is a benchmark
# reference only; RedHare does not use it.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-/tmp/redhare-models}"; shift || true
[ $# -gt 0 ] && shapes=("$@") || shapes=(qwen2.5-0.5b llama-3.2-1b)
P="${P:-512}"; N="${N:-64}"; R="${R:-2}"; THREADS="${THREADS:-1 2}"; TYPES="${TYPES:-bf16 q8_0 fp8 q4_0 q4_k_m}"
NLC_VERSION="${NLC_VERSION:-3.22.1}"
nlc="${XDG_CACHE_HOME:-$HOME/.cache}/redhare/node-llama-cpp-$NLC_VERSION"
membw="$here/../shared/perf/membw"
if [ ! -d "$nlc/node_modules/node-llama-cpp" ]; then
  echo "installing node-llama-cpp@$NLC_VERSION into $nlc (once)" >&2
  mkdir -p "$nlc" && (cd "$nlc" && npm install --silent --no-audit --no-fund "node-llama-cpp@$NLC_VERSION" >&2)
fi
ISA="${ISA:-native}"
if [ "$ISA" = avx2 ]; then
  export REDHARE_JAVA_OPTS="${REDHARE_JAVA_OPTS:-} -XX:UseAVX=2"
  if [ ! -d "$nlc-haswell" ]; then
    cp -a "$nlc" "$nlc-haswell"
    find "$nlc-haswell" -name 'libggml-cpu-*.so' ! -name 'libggml-cpu-haswell.so' -delete
  fi
  nlc="$nlc-haswell"
fi
cp "$here/scripts/llamacpp-bench.mjs" "$nlc/"
declare -A arch=([qwen2.5-0.5b]=qwen2 [llama-3.2-1b]=llama [qwen3-0.6b]=qwen3)
for s in "${shapes[@]}"; do
  a="${arch[$s]:-qwen2}"
  tok=""; [ "$a" = llama ] && tok="$here/../shared/tokenizers/llama3" || tok="$here/../shared/tokenizers/qwen3"
  for d in bf16 fp8; do
    [ -f "$dir/$s-$d/model.safetensors" ] || "$here/redhare" synth --arch "$a" --shape "$s" --dtype "$d" --tokenizer "$tok" --out "$dir/$s-$d" >&2
  done
  for q in gguf $(printf '%s\n' $TYPES | grep -vxE 'bf16|fp8|q4_k_m'); do # RedHare's quantizer writes q8_0, q4_0, q4_k, q6_k
    [ -f "$dir/gguf/$s-$q.gguf" ] || { mkdir -p "$dir/gguf"; "$here/redhare" quantize -m "$dir/$s-bf16" --to "$q" --out "$dir/gguf/$s-$q.gguf" >&2; }
  done
done
for s in "${shapes[@]}"; do # llama.cpp's quantizer comes with the package installed above
  if [[ " $TYPES " == *" q4_k_m "* && ! -f "$dir/gguf/$s-q4_k_m.gguf" ]]; then
    python3 "$here/scripts/llamacpp-quantize.py" "$dir/gguf/$s-gguf.gguf" "$dir/gguf/$s-q4_k_m.gguf" q4_k_m >/dev/null 2>&1
  fi
done
lc() { (cd "$nlc" && node llamacpp-bench.mjs "$1" "$2" "$P" "$N" "$R" 2>/dev/null | grep '^{' |
  python3 -c "import json,sys; j=json.load(sys.stdin); print('%.1f | %.2f' % (j['pp_tokens_per_second'], j['tg_tokens_per_second']))"); }
rh() { REDHARE_NO_BUILD=1 "$here/redhare" bench -m "$1" -p "$P" -n "$N" -r "$R" -t "$2" --json 2>/dev/null |
  python3 -c "import json,sys; j=json.load(sys.stdin); print('%.1f | %.2f' % (j['pp_tokens_per_second'], j['tg_tokens_per_second']))"; }
"$here/redhare" info -m "$dir/${shapes[0]}-bf16" >/dev/null 2>&1 # builds RedHare first if needed
echo "machine: $(nproc) vCPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%FT%TZ); instruction sets: $ISA"
[ -x "$membw" ] && echo "membw before: $("$membw" 2>&1 | tr '\n' ' ')"
echo
echo "| shape | threads | engine | weights | pp$P tok/s | tg$N tok/s |"
echo "|---|---|---|---|---|---|"
for s in "${shapes[@]}"; do
  for t in $THREADS; do
    for q in $TYPES; do
      case $q in
        bf16) echo "| $s | $t | llama.cpp | BF16 | $(lc "$dir/gguf/$s-gguf.gguf" "$t") |"
              echo "| $s | $t | RedHare | BF16 | $(rh "$dir/$s-bf16" "$t") |" ;;
        fp8) echo "| $s | $t | RedHare | FP8 | $(rh "$dir/$s-fp8" "$t") |" ;;
        *) echo "| $s | $t | llama.cpp | ${q^^} | $(lc "$dir/gguf/$s-$q.gguf" "$t") |"
           echo "| $s | $t | RedHare | ${q^^} | $(rh "$dir/gguf/$s-$q.gguf" "$t") |" ;;
      esac
    done
  done
done
echo
[ -x "$membw" ] && echo "membw after: $("$membw" 2>&1 | tr '\n' ' ')"
