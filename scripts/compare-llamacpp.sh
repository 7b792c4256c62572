#!/usr/bin/env bash
# RedHare against llama.cpp on this machine, on the same files, in one run (memory bandwidth measured before and
# after): BF16 (safetensors for RedHare, the same weights as a GGUF for llama.cpp), Q8_0 and Q4_0 (one GGUF file
# read by both), RedHare's FP8 next to them, and Q4_K_M (the usual GGUF download: Q4_K with Q6_K, or Q5_0/Q8_0 where
# rows are not a multiple of 256), made by llama.cpp's own quantizer from the BF16 GGUF (scripts/llamacpp-quantize.py).
#   scripts/compare-llamacpp.sh [MODELS_DIR] [SHAPE...]     (default /tmp/redhare-models, qwen2.5-0.5b llama-3.2-1b)
#   P=512 N=64 R=2 THREADS="1 2" TYPES="bf16 q8_0 fp8 q4_0 q4_k_m"   (also q4_k, q6_k: files RedHare's quantizer writes;
#   and any type scripts/llamacpp-quantize.py names, made by llama.cpp's quantizer: q5_k_m, q3_k_m, q2_k, iq4_xs, ...)
#   ISA=avx2: both engines as on a CPU without AVX-512 (AMD Zen 2/3, Intel cores before Alder Lake): the JVM limited to
#   AVX2 (-XX:UseAVX=2, so RedHare takes its 8-lane vectors and AVX2 machine code; -Dredhare.avxVnni=false) and
#   llama.cpp's AVX2 build (its haswell CPU backend alone, in a copy of the package), on this machine's memory.
#   ISA=avxvnni: as on Intel client cores since Alder Lake (AVX2 and AVX-VNNI): RedHare's AVX-VNNI kernels and
#   llama.cpp's alderlake backend (where this CPU has AVX-VNNI).
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
if [ "$ISA" = avx2 ] || [ "$ISA" = avxvnni ]; then
  # RedHare limited to AVX2 (AVX-VNNI's kernels off for avx2); llama.cpp from a copy of its package holding only the
  # matching CPU backend (haswell: AVX2, FMA, F16C; alderlake: those and AVX-VNNI)
  [ "$ISA" = avx2 ] && cpu=haswell || cpu=alderlake
  export REDHARE_JAVA_OPTS="${REDHARE_JAVA_OPTS:-} -XX:UseAVX=2$([ "$ISA" = avx2 ] && echo " -Dredhare.avxVnni=false")"
  if [ ! -d "$nlc-$cpu" ]; then
    cp -a "$nlc" "$nlc-$cpu"
    find "$nlc-$cpu" -name 'libggml-cpu-*.so' ! -name "libggml-cpu-$cpu.so" -delete
  fi
  nlc="$nlc-$cpu"
fi
cp "$here/scripts/llamacpp-bench.mjs" "$nlc/"
declare -A arch=([qwen2.5-0.5b]=qwen2 [llama-3.2-1b]=llama [qwen3-0.6b]=qwen3)
for s in "${shapes[@]}"; do
  a="${arch[$s]:-qwen2}"
  tok=""; [ "$a" = llama ] && tok="$here/../shared/tokenizers/llama3" || tok="$here/../shared/tokenizers/qwen3"
  for d in bf16 fp8; do
    [ -f "$dir/$s-$d/model.safetensors" ] || "$here/redhare" synth --arch "$a" --shape "$s" --dtype "$d" --tokenizer "$tok" --out "$dir/$s-$d" >&2
  done
  for q in gguf $(printf '%s\n' $TYPES | grep -xE 'q8_0|q4_0|q4_k|q6_k'); do # what RedHare's quantizer writes
    [ -f "$dir/gguf/$s-$q.gguf" ] || { mkdir -p "$dir/gguf"; "$here/redhare" quantize -m "$dir/$s-bf16" --to "$q" --out "$dir/gguf/$s-$q.gguf" >&2; }
  done
done
for s in "${shapes[@]}"; do # the other GGUF types from llama.cpp's quantizer, which comes with the package installed above
  for q in $(printf '%s\n' $TYPES | grep -vxE 'bf16|fp8|q8_0|q4_0|q4_k|q6_k'); do
    [ -f "$dir/gguf/$s-$q.gguf" ] || python3 "$here/scripts/llamacpp-quantize.py" "$dir/gguf/$s-gguf.gguf" "$dir/gguf/$s-$q.gguf" "$q" >/dev/null 2>&1
  done
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
