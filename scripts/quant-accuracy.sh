#!/usr/bin/env bash
# Quantization cost on the ../shared fixtures: for each float fixture and reference prompt, saves the float
# model's logits (perplexity --kl-base) and compares each online quantization with them (--kl): mean KL
# divergence, top-1 agreement, perplexity ratio. Both runs keep the KV cache in f32, so the figures are the weights' cost
# alone (the default cache, auto, is bf16 for these fixtures).
#   scripts/quant-accuracy.sh [FIXTURE...]   (default: every float fixture)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
fixtures="$here/../shared/fixtures"
[ -d "$fixtures" ] || { echo "needs $fixtures (the shared fixtures)" >&2; exit 1; }
[ $# -gt 0 ] && names=("$@") || names=(llama-tiny qwen2-tiny qwen3-tiny mixtral-tiny qwen3-moe-tiny)
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
echo "| fixture | prompt | quantization | top-1 agreement | mean KL | perplexity ratio |"
echo "|---|---|---|---|---|---|"
for fx in "${names[@]}"; do
  for p in 0 1 2; do
    ids="$(python3 -c "import json,sys; print(','.join(map(str, json.load(open(sys.argv[1])))))" "$fixtures/$fx/reference/prompt_p$p.json")"
    "$here/redhare" perplexity -m "$fixtures/$fx" --tokens "$ids" --kl-base "$tmp/base.rhkl" --kv-cache-dtype f32 >/dev/null 2>&1
    for q in fp8 q8_0 q4_0; do
      "$here/redhare" perplexity -m "$fixtures/$fx" --tokens "$ids" --quantize "$q" --kl "$tmp/base.rhkl" --kv-cache-dtype f32 --json 2>/dev/null |
        python3 -c "import json,sys; j=json.load(sys.stdin); print('| $fx | p$p | $q | %.1f%% | %.4f | %.3f |' % (100*j['top1_agreement'], j['mean_kl'], j['perplexity_ratio']))"
    done
  done
done
