#!/usr/bin/env python3
"""Independent numpy (float64) reference of transformers' Glm4ForCausalLM forward pass, run on given weights.

Usage: python3 scripts/reference/glm4_reference.py <fixture-dir> --weights <model.safetensors>

Reads <fixture-dir>/config.json and the weights (BF16, parsed by hand and widened exactly to float64; written by
model/src/test/java/org/redhare/model/FixtureWeights.java, whose `main` writes them under a directory of your choice),
and writes only <fixture-dir>/reference/{cases.json, logits_pN.f32}. Only python3 + numpy are needed (and the helpers
shared with glm4_moe_reference.py in reference_common.py, next to this file). Deterministic.

Semantics (from transformers src/transformers/models/glm4/modeling_glm4.py):
  * every decoder layer has four RMSNorms:
        x = x + post_self_attn_layernorm(attn(input_layernorm(x)))
        x = x + post_mlp_layernorm(mlp(post_attention_layernorm(x)))
  * RMSNorm(x) = w * x / sqrt(mean(x^2) + eps)
  * mlp: gate_up_proj (no bias) -> first half = gate, second half = up; down_proj(up * silu(gate))
  * attention: q/k/v with biases (attention_bias), o_proj without bias, GQA (kv head = q head // group),
    scale head_dim**-0.5, causal mask, softmax over keys
  * partial RoPE: rotary_dim = int(head_dim * partial_rotary_factor), inv_freq[i] = theta**(-2i/rotary_dim);
    applied to the first rotary_dim dims of every q/k head with INTERLEAVED pairs (2i, 2i+1) rotated by
    pos*inv_freq[i]; dims >= rotary_dim pass through unchanged
  * final model.norm, then an untied lm_head (no bias)
"""

import math
import os
import sys

import numpy as np

sys.dont_write_bytecode = True     # leave no __pycache__ next to the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_common import (MIN_MARGIN, attention, biased_attention_params, biased_attention_shapes, case_line, case_record,  # noqa: E402
                              check_bf16_widening, check_causality, check_rope_common, check_tensor_shapes,
                              draw_prompt, greedy, make_and_write_cases, model_tensor_shapes,
                              parse_args_and_config, read_safetensors, reference_info, rms_norm, rope_inv_freq,
                              silu, structured, weights_info, write_cases_json)

MAX_DRAWS = 40


# ----------------------------------------------------------------------------------------------------------
# The model (float64)
# ----------------------------------------------------------------------------------------------------------

def apply_rope(x, positions, cfg):
    """x: [n_heads, n_tokens, head_dim]. Interleaved pairs (2i, 2i+1) of the first rotary_dim dims rotate by
    positions * inv_freq[i]; the remaining head dims are passed through."""
    rotary_dim, inv_freq = rope_inv_freq(cfg)
    ang = positions.astype(np.float64)[:, None] * inv_freq[None, :]   # [n_tokens, rotary_dim/2]
    c = np.cos(ang)[None, :, :]
    s = np.sin(ang)[None, :, :]
    out = x.copy()
    even = x[..., 0:rotary_dim:2]
    odd = x[..., 1:rotary_dim:2]
    out[..., 0:rotary_dim:2] = even * c - odd * s
    out[..., 1:rotary_dim:2] = odd * c + even * s
    return out


def mlp(h, p, cfg):
    inter = cfg["intermediate_size"]
    gu = h @ p["gate_up_w"].T                        # [n, 2*inter]
    gate, up = gu[:, :inter], gu[:, inter:]
    return (up * silu(gate)) @ p["down_w"].T


def final_hidden(ids, W, cfg):
    eps = cfg["rms_norm_eps"]
    ids = np.asarray(ids, dtype=np.int64)
    positions = np.arange(len(ids))
    x = W["embed"][ids]
    for p in W["layers"]:
        a = attention(rms_norm(x, p["in_norm"], eps), p, cfg, positions, apply_rope)
        x = x + rms_norm(a, p["post_attn_out_norm"], eps)          # post_self_attn_layernorm
        m = mlp(rms_norm(x, p["pre_mlp_norm"], eps), p, cfg)       # post_attention_layernorm
        x = x + rms_norm(m, p["post_mlp_out_norm"], eps)           # post_mlp_layernorm
    return rms_norm(x, W["norm"], eps)


def forward(ids, W, cfg):
    return final_hidden(ids, W, cfg) @ W["lm_head"].T


# ----------------------------------------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------------------------------------

def layer_shapes(cfg, l):
    H, I = cfg["hidden_size"], cfg["intermediate_size"]
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    pre = "model.layers.%d." % l
    return {
        pre + "input_layernorm.weight": [H],
        pre + "post_self_attn_layernorm.weight": [H],
        pre + "post_attention_layernorm.weight": [H],
        pre + "post_mlp_layernorm.weight": [H],
        **biased_attention_shapes(pre, H, nh, nkv, hd),
        pre + "mlp.gate_up_proj.weight": [2 * I, H],
        pre + "mlp.down_proj.weight": [H, I],
    }


def tensor_shapes(cfg):
    """Every tensor the file must hold (and nothing else), with its shape."""
    return model_tensor_shapes(cfg, layer_shapes)


def layer_params(f, cfg, l, pre):
    return {
        "in_norm": f[pre + "input_layernorm.weight"],
        "post_attn_out_norm": f[pre + "post_self_attn_layernorm.weight"],
        "pre_mlp_norm": f[pre + "post_attention_layernorm.weight"],
        "post_mlp_out_norm": f[pre + "post_mlp_layernorm.weight"],
        **biased_attention_params(f, pre),
        "gate_up_w": f[pre + "mlp.gate_up_proj.weight"],
        "down_w": f[pre + "mlp.down_proj.weight"],
    }


# ----------------------------------------------------------------------------------------------------------
# Self-checks
# ----------------------------------------------------------------------------------------------------------

def check_rope(cfg):
    rotary_dim, inv_freq = rope_inv_freq(cfg)
    hd = cfg["head_dim"]
    # inv_freq, position 0, pass-through dims, norm of each interleaved pair (2i, 2i+1), relative position
    check_rope_common(cfg, apply_rope, slice(0, rotary_dim, 2), slice(1, rotary_dim, 2))
    # known case: unit vector e_0 at position p -> (cos p, sin p) in dims (0, 1) (inv_freq[0] = 1);
    # e_2 at position p -> (cos p*f1, sin p*f1) in dims (2, 3)
    e = np.zeros((1, 4, hd))
    e[0, :, 0] = 1.0
    e[0, :, 2] = 1.0
    y = apply_rope(e, np.arange(4), cfg)
    for p in range(4):
        assert abs(y[0, p, 0] - math.cos(p)) < 1e-15 and abs(y[0, p, 1] - math.sin(p)) < 1e-15
        a = p * inv_freq[1]
        assert abs(y[0, p, 2] - math.cos(a)) < 1e-15 and abs(y[0, p, 3] - math.sin(a)) < 1e-15
        assert np.all(y[0, p, 4:] == 0.0)
    # e_1 (odd member) at position p -> (-sin p, cos p) in dims (0, 1)
    e = np.zeros((1, 4, hd))
    e[0, :, 1] = 1.0
    y = apply_rope(e, np.arange(4), cfg)
    for p in range(4):
        assert abs(y[0, p, 0] + math.sin(p)) < 1e-15 and abs(y[0, p, 1] - math.cos(p)) < 1e-15


# ----------------------------------------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------------------------------------

def make_case(idx, n, W, cfg):
    for draw in range(MAX_DRAWS):
        seed, ids = draw_prompt(idx, draw, n, cfg)
        toks, margins = greedy(ids, W, cfg, forward)
        if min(margins) >= MIN_MARGIN:
            break
    else:
        raise RuntimeError("no prompt of length %d met the margin after %d draws" % (n, MAX_DRAWS))
    logits = forward(ids, W, cfg)
    return case_record(idx, ids, seed, draw + 1, logits, toks, margins, cfg), logits


def main():
    args, out, cfg = parse_args_and_config(__doc__, "Glm4ForCausalLM")
    check_bf16_widening()
    check_rope(cfg)

    header, tensors, sha = read_safetensors(args.weights)
    shapes = tensor_shapes(cfg)
    extra = check_tensor_shapes(tensors, shapes)
    assert not extra, extra                                      # the file holds nothing else
    for name in shapes:
        assert header[name]["dtype"] == "BF16", (name, header[name]["dtype"])
    W, used = structured(tensors, cfg, layer_params)
    assert used == set(tensors), sorted(set(tensors) - used)     # every tensor of the file is used
    check_causality(W, cfg, forward)

    cases = make_and_write_cases(out, make_case, W, cfg)

    doc = {
        "model": "glm4-tiny",
        "set": "public",
        "architecture": "Glm4ForCausalLM",
        "weights": weights_info(sha, "BF16"),
        "reference": reference_info(
            "scripts/reference/glm4_reference.py: numpy float64 re-implementation of "
            "transformers' Glm4ForCausalLM forward (weights = exact BF16 values widened "
            "to float64)",
            rope="partial: rotary_dim = head_dim * partial_rotary_factor = 16; interleaved pairs (2i, 2i+1) "
                 "of the first 16 dims of each q/k head rotate by pos * theta^(-2i/16); dims 16..31 pass "
                 "through",
            layer="x += post_self_attn_layernorm(attn(input_layernorm(x))); "
                  "x += post_mlp_layernorm(mlp(post_attention_layernorm(x)))",
        ),
        "cases": cases,
    }
    write_cases_json(out, doc)

    print("read %s (%d tensors, sha256 %s); wrote %s/reference" % (args.weights, len(tensors), sha, out))
    for c in cases:
        print(case_line(c))


if __name__ == "__main__":
    main()
