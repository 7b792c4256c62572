#!/usr/bin/env python3
"""Independent numpy (float64) reference of transformers' Gemma3ForCausalLM forward pass (text-only Gemma 3), run on
given weights.

Usage: python3 scripts/reference/gemma3_reference.py <fixture-dir> --weights <model.safetensors>

Reads <fixture-dir>/config.json and the weights (BF16, parsed by hand and widened exactly to float64; written by
model/src/test/java/org/redhare/model/FixtureWeights.java, whose `main` writes them under a directory of your choice),
and writes only <fixture-dir>/reference/{cases.json, logits_pN.f32}. Only python3 + numpy are needed (and the helpers
shared with the GLM scripts in reference_common.py, next to this file). Deterministic.

Semantics (from transformers src/transformers/models/gemma3/modeling_gemma3.py / modular_gemma3.py, unless named):
  * embedding (Gemma3TextScaledWordEmbedding.forward):
        super().forward(input_ids) * self.embed_scale.to(self.weight.dtype)
    with embed_scale = torch.tensor(hidden_size**0.5) (Gemma3TextModel.__init__; a float32 buffer), so for BF16
    weights the scale is sqrt(hidden_size) rounded float64 -> float32 -> bfloat16 (round to nearest even; the source
    comment: "sqrt(3072)=55.4256 to become 55.5"; sqrt(1152) -> 34.0). Here hidden_size = 64: scale 8.0 exactly.
  * Gemma3RMSNorm(x) = x * rsqrt(mean(x^2) + eps) * (1.0 + weight)          (weights are centred on 0)
  * decoder layer (Gemma3DecoderLayer.forward), four norms, "sandwich" residuals:
        x = x + post_attention_layernorm(attn(input_layernorm(x)))
        x = x + post_feedforward_layernorm(mlp(pre_feedforward_layernorm(x)))
  * mlp (Gemma3MLP.forward): down_proj(act_fn(gate_proj(x)) * up_proj(x)), no biases, act_fn =
    ACT2FN[hidden_activation]; "gelu_pytorch_tanh" -> GELUTanh (src/transformers/activations.py) =
    nn.functional.gelu(x, approximate="tanh") = 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
  * attention (Gemma3Attention.forward, eager_attention_forward): q/k/v/o projections, bias only if attention_bias
    (false for Gemma 3); q viewed [n, heads, head_dim]; q_norm / k_norm = Gemma3RMSNorm(head_dim) over each head
    (one weight vector shared by all heads), applied BEFORE RoPE; then RoPE on q and k; GQA (repeat_kv: q head h
    uses kv head h // (num_attention_heads / num_key_value_heads)); scores = q k^T * scaling with
    scaling = query_pre_attn_scalar ** -0.5 (NOT head_dim); if attn_logit_softcapping is not None:
    scores = tanh(scores / cap) * cap, applied BEFORE the mask is added; softmax over keys; o_proj
  * RoPE (Gemma3RotaryEmbedding, apply_rotary_pos_emb, rotate_half): non-interleaved "rotate_half" over the FULL
    head_dim (dim i pairs with dim i + head_dim/2); inv_freq[i] = base ** (-2i / head_dim), i < head_dim/2;
        y[i]        = x[i] cos(p f_i) - x[i + d/2] sin(p f_i)
        y[i + d/2]  = x[i + d/2] cos(p f_i) + x[i] sin(p f_i)
    one RoPE per layer type (configuration_gemma3.py Gemma3TextConfig.convert_rope_params_to_dict; older releases:
    a second `rotary_emb_local` built from a copy of the config with rope_theta = rope_local_base_freq and
    rope_scaling = {"rope_type": "default"}):
        full_attention:    base = rope_theta, rope_scaling applied ("rope_scaling" updates
                           rope_parameters["full_attention"])
        sliding_attention: base = rope_local_base_freq, default (unscaled) RoPE
    linear scaling (src/transformers/modeling_rope_utils.py _compute_linear_scaling_rope_parameters):
    `inv_freq /= factor` (equivalent to positions / factor), attention_factor = 1.0 (cos/sin not rescaled)
  * layer types: config.layer_types if given; else (configuration_gemma3.py)
        "sliding_attention" if bool((i + 1) % sliding_window_pattern) else "full_attention"   (pattern default 6)
  * masks (src/transformers/masking_utils.py): full layers causal_mask_function `kv_idx <= q_idx`; sliding layers
    sliding_window_causal_mask_function = and_masks(sliding_window_overlay, causal_mask_function) with
    sliding_window_overlay `kv_idx > q_idx - sliding_window`, i.e. query i sees keys j with i - W < j <= i
    (W keys including itself). (use_bidirectional_attention must be false.)
  * final model.norm (Gemma3RMSNorm), lm_head tied to model.embed_tokens.weight (the raw weight, NOT multiplied by
    embed_scale), then if final_logit_softcapping is not None: logits = tanh(logits / cap) * cap
    (Gemma3ForCausalLM.forward)
Everything is computed in float64 on the exact weight values (HF keeps RMSNorm, the softmax and RoPE's cos/sin in
float32 and the rest in the weight dtype); the only rounding taken over from HF is the embed_scale above, which is a
property of the model in the weight dtype.
"""

import copy
import math
import os
import sys

import numpy as np

sys.dont_write_bytecode = True     # leave no __pycache__ next to the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_common import (MIN_MARGIN, bf16_bits_to_f64, case_line, case_record,  # noqa: E402
                              check_bf16_widening, check_causality, check_tensor_shapes, draw_prompt, greedy,
                              make_and_write_cases, model_tensor_shapes, parse_args_and_config, read_safetensors,
                              reference_info, rms_norm, structured, weights_info, write_cases_json)

MAX_DRAWS = 40
SLIDING, FULL = "sliding_attention", "full_attention"


# ----------------------------------------------------------------------------------------------------------
# Config interpretation
# ----------------------------------------------------------------------------------------------------------

def derived_layer_types(n_layers, pattern):
    """configuration_gemma3.py, when layer_types is None."""
    return [SLIDING if bool((i + 1) % pattern) else FULL for i in range(n_layers)]


def layer_types(cfg):
    lt = cfg.get("layer_types")
    if lt is None:
        lt = derived_layer_types(cfg["num_hidden_layers"], cfg.get("sliding_window_pattern", 6))
    assert len(lt) == cfg["num_hidden_layers"] and set(lt) <= {SLIDING, FULL}, lt
    return list(lt)


def rope_params(cfg, layer_type):
    """-> (base, rope_type, factor) of a layer type: rope_parameters[layer_type] (transformers 5 configs) if present,
    else the flat fields (full: rope_theta + rope_scaling; sliding: rope_local_base_freq, default RoPE)."""
    rp = cfg.get("rope_parameters")
    if isinstance(rp, dict) and layer_type in rp and rp[layer_type] is not None:
        p = dict(rp[layer_type])
        base = p["rope_theta"]
    elif layer_type == FULL:
        p = dict(cfg.get("rope_scaling") or {"rope_type": "default"})
        base = cfg.get("rope_theta", 1_000_000.0)
    else:
        p = {"rope_type": "default"}
        base = cfg.get("rope_local_base_freq", 10_000.0)
    rope_type = p.get("rope_type", p.get("type", "default"))
    if rope_type == "default":
        return float(base), "default", 1.0
    if rope_type == "linear":
        return float(base), "linear", float(p["factor"])
    raise ValueError("rope_type %r not implemented" % rope_type)


def inv_freq(cfg, layer_type):
    hd = cfg["head_dim"]
    base, rope_type, factor = rope_params(cfg, layer_type)
    i = np.arange(0, hd, 2, dtype=np.float64)                # 0, 2, ..., hd-2
    f = 1.0 / (base ** (i / hd))
    if rope_type == "linear":
        f = f / factor                                      # inv_freq /= factor
    return f


def round_to_bf16(x):
    """float64 -> float32 -> bfloat16 (round to nearest even, as torch's .to(torch.bfloat16)) -> float64."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = (bits + np.uint64(0x7FFF) + ((bits >> np.uint64(16)) & np.uint64(1))) >> np.uint64(16)
    return bf16_bits_to_f64(r.astype(np.uint16))


def embed_scale(cfg, weight_dtype):
    s = float(np.float32(cfg["hidden_size"] ** 0.5))          # torch.tensor(hidden_size**0.5): float32 buffer
    if weight_dtype == "BF16":
        s = float(round_to_bf16(s))                          # .to(self.weight.dtype)
    return s


# ----------------------------------------------------------------------------------------------------------
# The model (float64)
# ----------------------------------------------------------------------------------------------------------

def gemma_norm(x, w, eps):
    return rms_norm(x, 1.0 + w, eps)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def softcap(x, cap):
    return np.tanh(x / cap) * cap


def apply_rope(x, positions, freqs):
    """x: [n_heads, n_tokens, head_dim]; rotate_half layout over the whole head_dim."""
    half = x.shape[-1] // 2
    ang = np.asarray(positions, dtype=np.float64)[:, None] * freqs[None, :]   # [n_tokens, half]
    c = np.cos(ang)[None]
    s = np.sin(ang)[None]
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)


def attention_mask(n, window):
    """[n, n] bool, True = query i may attend key j. window None: causal (j <= i); else also j > i - window."""
    i = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    m = j <= i                                              # causal_mask_function
    if window is not None:
        m &= j > i - window                                 # sliding_window_overlay
    return m


def attention(h, p, cfg, positions, layer_type):
    n = h.shape[0]
    eps = cfg["rms_norm_eps"]
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    q = (h @ p["q_w"].T).reshape(n, nh, hd).transpose(1, 0, 2)     # [nh, n, hd]
    k = (h @ p["k_w"].T).reshape(n, nkv, hd).transpose(1, 0, 2)    # [nkv, n, hd]
    v = (h @ p["v_w"].T).reshape(n, nkv, hd).transpose(1, 0, 2)
    q = gemma_norm(q, p["q_norm"], eps)                              # per head over head_dim, before RoPE
    k = gemma_norm(k, p["k_norm"], eps)
    f = inv_freq(cfg, layer_type)
    q = apply_rope(q, positions, f)
    k = apply_rope(k, positions, f)
    group = nh // nkv
    scaling = cfg["query_pre_attn_scalar"] ** -0.5
    cap = cfg.get("attn_logit_softcapping")
    mask = attention_mask(n, cfg["sliding_window"] if layer_type == SLIDING else None)
    out = np.empty((nh, n, hd))
    for hq in range(nh):
        kv = hq // group
        sc = (q[hq] @ k[kv].T) * scaling
        if cap is not None:
            sc = softcap(sc, cap)                           # before the mask
        sc = np.where(mask, sc, -np.inf)
        sc = sc - sc.max(axis=-1, keepdims=True)
        pr = np.exp(sc)
        pr = pr / pr.sum(axis=-1, keepdims=True)
        out[hq] = pr @ v[kv]
    return out.transpose(1, 0, 2).reshape(n, nh * hd) @ p["o_w"].T


def mlp(h, p):
    return (gelu_tanh(h @ p["gate_w"].T) * (h @ p["up_w"].T)) @ p["down_w"].T


def final_hidden(ids, W, cfg):
    eps = cfg["rms_norm_eps"]
    ids = np.asarray(ids, dtype=np.int64)
    positions = np.arange(len(ids))
    x = W["embed"][ids] * W["embed_scale"]
    for p, lt in zip(W["layers"], W["layer_types"]):
        a = attention(gemma_norm(x, p["in_norm"], eps), p, cfg, positions, lt)
        x = x + gemma_norm(a, p["post_attn_norm"], eps)
        m = mlp(gemma_norm(x, p["pre_ff_norm"], eps), p)
        x = x + gemma_norm(m, p["post_ff_norm"], eps)
    return gemma_norm(x, W["norm"], eps)


def forward(ids, W, cfg):
    logits = final_hidden(ids, W, cfg) @ W["lm_head"].T     # tied: the raw embedding matrix
    cap = cfg.get("final_logit_softcapping")
    if cap is not None:
        logits = softcap(logits, cap)
    return logits


# ----------------------------------------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------------------------------------

def layer_shapes(cfg, l):
    H, I = cfg["hidden_size"], cfg["intermediate_size"]
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    pre = "model.layers.%d." % l
    return {
        pre + "input_layernorm.weight": [H],
        pre + "post_attention_layernorm.weight": [H],
        pre + "pre_feedforward_layernorm.weight": [H],
        pre + "post_feedforward_layernorm.weight": [H],
        pre + "self_attn.q_proj.weight": [nh * hd, H],
        pre + "self_attn.k_proj.weight": [nkv * hd, H],
        pre + "self_attn.v_proj.weight": [nkv * hd, H],
        pre + "self_attn.o_proj.weight": [H, nh * hd],
        pre + "self_attn.q_norm.weight": [hd],
        pre + "self_attn.k_norm.weight": [hd],
        pre + "mlp.gate_proj.weight": [I, H],
        pre + "mlp.up_proj.weight": [I, H],
        pre + "mlp.down_proj.weight": [H, I],
    }


def tensor_shapes(cfg):
    """Every tensor the file must hold (and nothing else), with its shape."""
    return model_tensor_shapes(cfg, layer_shapes)


def layer_params(f, cfg, l, pre):
    return {
        "in_norm": f[pre + "input_layernorm.weight"],
        "post_attn_norm": f[pre + "post_attention_layernorm.weight"],
        "pre_ff_norm": f[pre + "pre_feedforward_layernorm.weight"],
        "post_ff_norm": f[pre + "post_feedforward_layernorm.weight"],
        "q_w": f[pre + "self_attn.q_proj.weight"],
        "k_w": f[pre + "self_attn.k_proj.weight"],
        "v_w": f[pre + "self_attn.v_proj.weight"],
        "o_w": f[pre + "self_attn.o_proj.weight"],
        "q_norm": f[pre + "self_attn.q_norm.weight"],
        "k_norm": f[pre + "self_attn.k_norm.weight"],
        "gate_w": f[pre + "mlp.gate_proj.weight"],
        "up_w": f[pre + "mlp.up_proj.weight"],
        "down_w": f[pre + "mlp.down_proj.weight"],
    }


# ----------------------------------------------------------------------------------------------------------
# Self-checks
# ----------------------------------------------------------------------------------------------------------

def check_config_semantics(cfg):
    assert cfg.get("attention_bias", False) is False          # no bias tensors in Gemma 3
    assert not cfg.get("use_bidirectional_attention", False)
    assert cfg.get("hidden_activation", "gelu_pytorch_tanh") == "gelu_pytorch_tanh", cfg.get("hidden_activation")
    assert cfg["tie_word_embeddings"] is True
    # layer_types default expression, on the released 5:1 pattern and on this fixture's pattern
    d = derived_layer_types(26, 6)
    assert [i for i, t in enumerate(d) if t == FULL] == [5, 11, 17, 23]
    assert derived_layer_types(4, 3) == [SLIDING, SLIDING, FULL, SLIDING]
    # embed_scale: bf16 rounding as quoted in modeling_gemma3.py
    assert embed_scale({"hidden_size": 3072}, "BF16") == 55.5
    assert embed_scale({"hidden_size": 1152}, "BF16") == 34.0
    assert embed_scale({"hidden_size": 64}, "BF16") == 8.0
    assert round_to_bf16(1.0 + 2.0 ** -8) == 1.0 and round_to_bf16(1.0 + 3 * 2.0 ** -8) == 1.0 + 2.0 ** -6  # ties
    # gelu tanh approximation: known values
    # gelu tanh approximation: gelu(x) - gelu(-x) = x, and within 1e-3 of the exact x * Phi(x)
    x = np.linspace(-6.0, 6.0, 241)
    assert gelu_tanh(np.array(0.0)) == 0.0
    assert np.allclose(gelu_tanh(x) - gelu_tanh(-x), x, rtol=0, atol=1e-14)
    exact = np.array([0.5 * t * (1.0 + math.erf(t / math.sqrt(2.0))) for t in x])
    assert 1e-5 < np.abs(gelu_tanh(x) - exact).max() < 1e-3      # an approximation, not the erf GELU
    # softcap
    x = np.array([-300.0, -5.0, 0.0, 1e-3, 5.0, 300.0])
    y = softcap(x, 30.0)
    assert np.all(np.abs(y) < 30.0) and np.all(np.diff(y) > 0) and y[2] == 0.0 and abs(y[3] - 1e-3) < 1e-12
    assert abs(y[-1] - 30.0 * math.tanh(10.0)) < 1e-13 and y[0] == -y[-1]


def check_rope(cfg):
    hd = cfg["head_dim"]
    half = hd // 2
    for lt in (SLIDING, FULL):
        base, rope_type, factor = rope_params(cfg, lt)
        f = inv_freq(cfg, lt)
        assert f.shape == (half,)
        assert np.allclose(f, [base ** (-2.0 * i / hd) / factor for i in range(half)], rtol=1e-15, atol=0)
        rng = np.random.default_rng(1)
        x = rng.standard_normal((3, 5, hd))
        y = apply_rope(x, np.arange(5), f)
        assert np.array_equal(y[:, 0], x[:, 0])                              # position 0: unchanged
        px = x[..., :half] ** 2 + x[..., half:] ** 2                         # pairs (i, i + d/2) keep their norm
        py = y[..., :half] ** 2 + y[..., half:] ** 2
        assert np.allclose(px, py, rtol=1e-13, atol=1e-13)
        q = rng.standard_normal((1, 1, hd))
        k = rng.standard_normal((1, 1, hd))
        d1 = apply_rope(q, [7], f)[0, 0] @ apply_rope(k, [3], f)[0, 0]
        d2 = apply_rope(q, [14], f)[0, 0] @ apply_rope(k, [10], f)[0, 0]
        assert abs(d1 - d2) < 1e-12                                          # relative position
        # known case: e_0 at position p -> (cos p f0, sin p f0) in dims (0, d/2); e_{d/2} -> (-sin, cos)
        e = np.zeros((1, 4, hd))
        e[0, :, 0] = 1.0
        e2 = np.zeros((1, 4, hd))
        e2[0, :, half] = 1.0
        ya = apply_rope(e, np.arange(4), f)
        yb = apply_rope(e2, np.arange(4), f)
        for p in range(4):
            a = p * f[0]
            assert abs(ya[0, p, 0] - math.cos(a)) < 1e-15 and abs(ya[0, p, half] - math.sin(a)) < 1e-15
            assert abs(yb[0, p, 0] + math.sin(a)) < 1e-15 and abs(yb[0, p, half] - math.cos(a)) < 1e-15
            others = np.delete(ya[0, p], [0, half])
            assert np.all(others == 0.0)
    # this fixture: sliding = default RoPE at rope_local_base_freq; full = rope_theta with linear factor
    assert rope_params(cfg, SLIDING)[1] == "default"
    base, rope_type, factor = rope_params(cfg, FULL)
    if rope_type == "linear":
        # linear scaling == default RoPE at positions / factor
        cfg_plain = dict(cfg, rope_scaling=None)
        cfg_plain.pop("rope_parameters", None)
        x = np.random.default_rng(3).standard_normal((2, 6, hd))
        pos = np.arange(6) * 5
        a = apply_rope(x, pos, inv_freq(cfg, FULL))
        b = apply_rope(x, pos / factor, inv_freq(cfg_plain, FULL))
        assert np.allclose(a, b, rtol=0, atol=1e-13)


def check_masks(cfg):
    W = cfg["sliding_window"]
    n = 3 * W
    m = attention_mask(n, W)
    for i in range(n):
        assert list(np.nonzero(m[i])[0]) == list(range(max(0, i - W + 1), i + 1))   # i - W < j <= i
        assert m[i].sum() == min(i + 1, W)
    assert np.array_equal(attention_mask(n, None), np.tril(np.ones((n, n), dtype=bool)))
    assert np.array_equal(attention_mask(W, W), attention_mask(W, None))          # no effect within W tokens


def check_sliding_window(W, cfg, forward=None):
    """Model-level: (a) with every layer sliding, the last row cannot see a token more than
    num_hidden_layers * (W - 1) positions back; (b) the same model with the window removed can; (c) the fixture's
    layer mix (with a full layer) can; (d) the fixture's window changes the 61-token logits vs. no window.
    `forward` is this script's unless given (gemma2_reference.py passes its own)."""
    forward = forward or globals()["forward"]
    L, Wn = cfg["num_hidden_layers"], cfg["sliding_window"]
    n = L * (Wn - 1) + 2
    rng = np.random.default_rng(4)
    ids = rng.integers(3, cfg["vocab_size"], size=n)
    ids2 = ids.copy()
    ids2[0] = 3 if ids[0] != 3 else 4                      # perturb the first token only
    all_sliding = dict(W, layer_types=[SLIDING] * L)
    a, b = forward(ids, all_sliding, cfg)[-1], forward(ids2, all_sliding, cfg)[-1]
    assert np.allclose(a, b, rtol=0, atol=1e-12), np.abs(a - b).max()
    no_window = dict(cfg, sliding_window=10 ** 9)
    a, b = forward(ids, all_sliding, no_window)[-1], forward(ids2, all_sliding, no_window)[-1]
    assert np.abs(a - b).max() > 1e-6
    if FULL in W["layer_types"]:
        a, b = forward(ids, W, cfg)[-1], forward(ids2, W, cfg)[-1]
        assert np.abs(a - b).max() > 1e-6
    ids = rng.integers(3, cfg["vocab_size"], size=61)
    d = np.abs(forward(ids, W, cfg) - forward(ids, W, no_window))
    assert d[:Wn].max() < 1e-12 and d[Wn:].max() > 1e-6, (d[:Wn].max(), d[Wn:].max())


def check_softcapping(W, cfg):
    """The two softcapping code paths (null in this fixture): a huge cap is the identity to ~x^3/(3 cap^2), a small
    final cap bounds the logits."""
    ids = np.random.default_rng(5).integers(3, cfg["vocab_size"], size=12)
    ref = forward(ids, W, cfg)
    c = dict(cfg, attn_logit_softcapping=1e7, final_logit_softcapping=1e7)
    assert np.allclose(forward(ids, W, c), ref, rtol=0, atol=1e-6)
    c = dict(cfg, attn_logit_softcapping=0.5)
    assert np.abs(forward(ids, W, c) - ref).max() > 1e-3
    c = dict(cfg, final_logit_softcapping=2.0)
    y = forward(ids, W, c)
    assert np.all(np.abs(y) <= 2.0) and np.allclose(y, 2.0 * np.tanh(ref / 2.0), rtol=0, atol=1e-12)


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
    args, out, cfg = parse_args_and_config(__doc__, "Gemma3ForCausalLM")
    cfg = copy.deepcopy(cfg)
    cfg.setdefault("head_dim", 256)                          # Gemma3TextConfig default
    check_bf16_widening()
    check_config_semantics(cfg)
    check_rope(cfg)
    check_masks(cfg)

    header, tensors, sha = read_safetensors(args.weights)
    shapes = tensor_shapes(cfg)
    extra = check_tensor_shapes(tensors, shapes)
    assert not extra, extra                                      # the file holds nothing else
    for name in shapes:
        assert header[name]["dtype"] == "BF16", (name, header[name]["dtype"])
    W, used = structured(tensors, cfg, layer_params)
    assert used == set(tensors), sorted(set(tensors) - used)     # every tensor of the file is used
    W["layer_types"] = layer_types(cfg)
    W["embed_scale"] = embed_scale(cfg, "BF16")
    check_causality(W, cfg, forward)
    check_sliding_window(W, cfg)
    check_softcapping(W, cfg)

    cases = make_and_write_cases(out, make_case, W, cfg)

    lt = W["layer_types"]
    fb, ft, ff = rope_params(cfg, FULL)
    sb, _, _ = rope_params(cfg, SLIDING)
    doc = {
        "model": "gemma3-tiny",
        "set": "public",
        "architecture": "Gemma3ForCausalLM",
        "weights": weights_info(sha, "BF16"),
        "reference": reference_info(
            "scripts/reference/gemma3_reference.py: numpy float64 re-implementation of "
            "transformers' Gemma3ForCausalLM forward (weights = exact BF16 values widened "
            "to float64)",
            embedding="embed_tokens[ids] * %r (sqrt(hidden_size) as float32 -> bfloat16); lm_head = the raw "
                      "embed_tokens weight (tied, unscaled)" % W["embed_scale"],
            norm="Gemma3RMSNorm: x / sqrt(mean(x^2) + eps) * (1 + w)",
            layer="x += post_attention_layernorm(attn(input_layernorm(x))); "
                  "x += post_feedforward_layernorm(mlp(pre_feedforward_layernorm(x)))",
            mlp="down_proj(gelu_tanh(gate_proj(x)) * up_proj(x)), "
                "gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
            attention="q_norm/k_norm (Gemma3RMSNorm over head_dim, per head) before RoPE; scores * "
                      "query_pre_attn_scalar^-0.5 = %r^-0.5; softcap %s; GQA %d q heads / %d kv heads" % (
                          cfg["query_pre_attn_scalar"], cfg.get("attn_logit_softcapping"),
                          cfg["num_attention_heads"], cfg["num_key_value_heads"]),
            layer_types=lt,
            masks="full_attention: j <= i; sliding_attention: i - %d < j <= i" % cfg["sliding_window"],
            rope="rotate_half pairs (i, i + head_dim/2) over the full head_dim; full_attention: theta %r, %s "
                 "factor %r (inv_freq / factor); sliding_attention: theta %r, default" % (fb, ft, ff, sb),
            final_logit_softcapping=cfg.get("final_logit_softcapping"),
        ),
        "cases": cases,
    }
    write_cases_json(out, doc)

    print("read %s (%d tensors, sha256 %s); wrote %s/reference" % (args.weights, len(tensors), sha, out))
    print("layer_types %s, embed_scale %r" % (lt, W["embed_scale"]))
    for c in cases:
        print(case_line(c))


if __name__ == "__main__":
    main()
