#!/usr/bin/env python3
"""Independent numpy (float64) reference of transformers' Gemma2ForCausalLM forward pass, run on given weights.

Usage: python3 scripts/reference/gemma2_reference.py <fixture-dir> --weights <model.safetensors>

Reads <fixture-dir>/config.json and the weights (BF16, parsed by hand and widened exactly to float64; written by
model/src/test/java/org/redhare/model/FixtureWeights.java, whose `main` writes them under a directory of your choice),
and writes only <fixture-dir>/reference/{cases.json, logits_pN.f32}, in the format of gemma3_reference.py (same
prompts, margins and cases.json layout). Only python3 + numpy are needed; the model pieces Gemma 2 shares with Gemma 3
(embed_scale, the (1 + w) RMSNorm, GELU-tanh, softcap, rotate_half RoPE, the masks) are imported from
gemma3_reference.py and the rest from reference_common.py, both next to this file. Deterministic.

Semantics, read in transformers src/transformers/models/gemma2/ (modeling_gemma2.py, generated from modular_gemma2.py,
and configuration_gemma2.py; the transformers 5 code, whose eager semantics equal the 4.x code where both are quoted):
  * layer types (configuration_gemma2.py, Gemma2Config.__post_init__), when config.layer_types is None:
        "sliding_attention" if bool((i + 1) % 2) else "full_attention"
    i.e. layers 0, 2, 4, ... sliding and 1, 3, 5, ... full (4.x: Gemma2Attention.__init__
    `self.sliding_window = config.sliding_window if not bool(layer_idx % 2) else None`). No sliding_window_pattern.
  * masks (src/transformers/masking_utils.py, as for Gemma 3; Gemma2Model.forward builds
    {"full_attention": create_causal_mask(...), "sliding_attention": create_sliding_window_causal_mask(...)} and
    layer i takes causal_mask_mapping[config.layer_types[i]]): full `kv_idx <= q_idx`; sliding
    and_masks(sliding_window_overlay, causal_mask_function) with `kv_idx > q_idx - sliding_window`: query i sees keys
    i - W < j <= i (W keys including itself). 4.x (Gemma2DecoderLayer.forward) is the same: it masks
    torch.tril(ones, diagonal=-self.sliding_window), i.e. j <= i - W.
  * embedding (Gemma2TextScaledWordEmbedding.forward):
        super().forward(input_ids) * self.embed_scale.to(self.weight.dtype)
    embed_scale = torch.tensor(hidden_size**0.5), a float32 buffer (Gemma2Model.__init__, embed_scale=
    self.config.hidden_size**0.5); 4.x Gemma2Model.forward: `normalizer = torch.tensor(self.config.hidden_size**0.5,
    dtype=hidden_states.dtype)`. Either way, for BF16 weights, sqrt(hidden_size) rounded to bfloat16 (55.4256 -> 55.5
    for 3072, per the source comment); here hidden_size = 64: exactly 8.0.
  * Gemma2RMSNorm.forward: output = self._norm(x.float()) * (1.0 + self.weight.float()), _norm = x * rsqrt(mean(x^2)
    + eps), in float32 (here: float64), then .type_as(x).
  * decoder layer (Gemma2DecoderLayer.forward), four norms, same "sandwich" residuals as Gemma 3:
        x = x + post_attention_layernorm(self_attn(input_layernorm(x)))
        x = x + post_feedforward_layernorm(mlp(pre_feedforward_layernorm(x)))
  * mlp (Gemma2MLP): down_proj(act_fn(gate_proj(x)) * up_proj(x)), no biases, act_fn = ACT2FN[config.hidden_activation]
    (the key is `hidden_activation`; `hidden_act` is not read by the model); "gelu_pytorch_tanh" = GELU, tanh approx.
  * attention (Gemma2Attention.forward, eager_attention_forward): q/k/v/o projections (bias iff attention_bias, false);
    NO q_norm / k_norm (Gemma2Attention has none); q, k, v viewed [n, heads, head_dim]; RoPE on q and k; GQA
    (repeat_kv: q head h uses kv head h // (num_attention_heads / num_key_value_heads));
        attn_weights = torch.matmul(query, key_states.transpose(2, 3)) * scaling    # scaling = query_pre_attn_scalar**-0.5
        if softcap is not None: attn_weights = tanh(attn_weights / softcap) * softcap   # softcap = attn_logit_softcapping
        if attention_mask is not None: attn_weights = attn_weights + attention_mask
    i.e. the cap comes AFTER the scaling and BEFORE the (additive, -inf) mask; softmax over keys (float32); o_proj.
  * RoPE (Gemma2RotaryEmbedding, compute_default_rope_parameters, apply_rotary_pos_emb, rotate_half): ONE rotary
    embedding for the whole model (Gemma2Model.rotary_emb; its position_embeddings go to every layer), base =
    rope_parameters["rope_theta"] (the config's rope_theta; default RotaryEmbeddingConfigMixin.default_theta =
    10000.0, modeling_rope_utils.py); no local base frequency (no rope_local_base_freq) in Gemma 2;
    inv_freq[i] = base ** (-2i / head_dim); rotate_half over the full head_dim (dim i pairs with i + head_dim/2):
        y[i] = x[i] cos(p f_i) - x[i + d/2] sin(p f_i);   y[i + d/2] = x[i + d/2] cos(p f_i) + x[i] sin(p f_i)
  * final model.norm (Gemma2RMSNorm); lm_head tied to model.embed_tokens.weight (_tied_weights_keys; the raw weight,
    not multiplied by embed_scale); then (Gemma2ForCausalLM.forward)
        if self.config.final_logit_softcapping is not None: logits = tanh(logits / cap) * cap
  * Gemma2Config defaults (configuration_gemma2.py), used for keys absent from config.json: head_dim 256,
    hidden_activation "gelu_pytorch_tanh", query_pre_attn_scalar 256, sliding_window 4096, final_logit_softcapping
    30.0, attn_logit_softcapping 50.0, attention_bias false, tie_word_embeddings true (rope_theta 10000.0, above).
Everything is computed in float64 on the exact weight values (HF keeps RMSNorm, the softmax and RoPE's cos/sin in
float32 and the rest in the weight dtype); the only rounding taken over from HF is the embed_scale above, which is a
property of the model in the weight dtype. The softcapping is that of the eager attention (HF's sdpa path has no
softcap argument).
"""

import copy
import math
import os
import sys

import numpy as np

sys.dont_write_bytecode = True     # leave no __pycache__ next to the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_common import (MIN_MARGIN, case_line, case_record, check_bf16_widening,  # noqa: E402
                              check_causality, check_tensor_shapes, draw_prompt, greedy, make_and_write_cases,
                              model_tensor_shapes, parse_args_and_config, read_safetensors, reference_info,
                              structured, weights_info, write_cases_json)
import gemma3_reference as gemma3  # noqa: E402
from gemma3_reference import (apply_rope, attention_mask, check_masks, embed_scale, gelu_tanh,  # noqa: E402
                              gemma_norm, round_to_bf16, softcap)

MAX_DRAWS = 40
SLIDING, FULL = "sliding_attention", "full_attention"

# Gemma2Config field defaults (configuration_gemma2.py) for keys config.json may leave out; an explicit null stays null
GEMMA2_DEFAULTS = {
    "head_dim": 256,
    "hidden_activation": "gelu_pytorch_tanh",
    "query_pre_attn_scalar": 256,
    "sliding_window": 4096,
    "final_logit_softcapping": 30.0,
    "attn_logit_softcapping": 50.0,
    "attention_bias": False,
    "tie_word_embeddings": True,
}
DEFAULT_THETA = 10_000.0           # modeling_rope_utils.py RotaryEmbeddingConfigMixin.default_theta


# ----------------------------------------------------------------------------------------------------------
# Config interpretation
# ----------------------------------------------------------------------------------------------------------

def derived_layer_types(n_layers):
    """configuration_gemma2.py Gemma2Config.__post_init__, when layer_types is None."""
    return [SLIDING if bool((i + 1) % 2) else FULL for i in range(n_layers)]


def layer_types(cfg):
    lt = cfg.get("layer_types")
    if lt is None:
        lt = derived_layer_types(cfg["num_hidden_layers"])
    assert len(lt) == cfg["num_hidden_layers"] and set(lt) <= {SLIDING, FULL}, lt
    return list(lt)


def rope_base(cfg):
    """The one RoPE base of the model: rope_parameters["rope_theta"] (transformers 5 configs) if present, else the flat
    rope_theta, else default_theta. Only the default (unscaled) RoPE is implemented."""
    rp = cfg.get("rope_parameters")
    if isinstance(rp, dict) and rp:
        assert not any(isinstance(v, dict) for v in rp.values()), "per-layer-type rope_parameters: not Gemma 2"
        assert rp.get("rope_type", rp.get("type", "default")) == "default", rp
        if "rope_theta" in rp:
            return float(rp["rope_theta"])
    assert cfg.get("rope_scaling") is None, "rope_scaling %r not implemented" % cfg.get("rope_scaling")
    return float(cfg.get("rope_theta", DEFAULT_THETA))


def inv_freq(cfg):
    hd = cfg["head_dim"]
    i = np.arange(0, hd, 2, dtype=np.float64)                # 0, 2, ..., hd-2
    return 1.0 / (rope_base(cfg) ** (i / hd))


# ----------------------------------------------------------------------------------------------------------
# The model (float64)
# ----------------------------------------------------------------------------------------------------------

def attention_logits(q, k, scaling, cap, mask):
    """eager_attention_forward: scores * scaling, then the softcap, then the mask (-inf where mask is False)."""
    sc = (q @ k.T) * scaling
    if cap is not None:
        sc = softcap(sc, cap)                               # after the scaling, before the mask
    return np.where(mask, sc, -np.inf)


def attention(h, p, cfg, positions, layer_type, freqs, trace=None):
    """trace, if a list, gets the largest |q k^T * scaling| (before the cap) over the unmasked entries."""
    n = h.shape[0]
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    q = (h @ p["q_w"].T).reshape(n, nh, hd).transpose(1, 0, 2)     # [nh, n, hd]
    k = (h @ p["k_w"].T).reshape(n, nkv, hd).transpose(1, 0, 2)    # [nkv, n, hd]
    v = (h @ p["v_w"].T).reshape(n, nkv, hd).transpose(1, 0, 2)
    q = apply_rope(q, positions, freqs)                              # no q/k norm in Gemma 2
    k = apply_rope(k, positions, freqs)
    group = nh // nkv
    scaling = cfg["query_pre_attn_scalar"] ** -0.5
    cap = cfg["attn_logit_softcapping"]
    mask = attention_mask(n, cfg["sliding_window"] if layer_type == SLIDING else None)
    out = np.empty((nh, n, hd))
    for hq in range(nh):
        kv = hq // group
        if trace is not None:
            trace.append(float(np.abs((q[hq] @ k[kv].T) * scaling)[mask].max()))
        sc = attention_logits(q[hq], k[kv], scaling, cap, mask)
        sc = sc - sc.max(axis=-1, keepdims=True)
        pr = np.exp(sc)
        pr = pr / pr.sum(axis=-1, keepdims=True)
        out[hq] = pr @ v[kv]
    return out.transpose(1, 0, 2).reshape(n, nh * hd) @ p["o_w"].T


def mlp(h, p):
    return (gelu_tanh(h @ p["gate_w"].T) * (h @ p["up_w"].T)) @ p["down_w"].T


def final_hidden(ids, W, cfg, trace=None):
    eps = cfg["rms_norm_eps"]
    ids = np.asarray(ids, dtype=np.int64)
    positions = np.arange(len(ids))
    freqs = inv_freq(cfg)                                   # the same RoPE for every layer
    x = W["embed"][ids] * W["embed_scale"]
    for p, lt in zip(W["layers"], W["layer_types"]):
        a = attention(gemma_norm(x, p["in_norm"], eps), p, cfg, positions, lt, freqs, trace)
        x = x + gemma_norm(a, p["post_attn_norm"], eps)
        m = mlp(gemma_norm(x, p["pre_ff_norm"], eps), p)
        x = x + gemma_norm(m, p["post_ff_norm"], eps)
    return gemma_norm(x, W["norm"], eps)


def forward(ids, W, cfg, trace=None):
    logits = final_hidden(ids, W, cfg, trace) @ W["lm_head"].T     # tied: the raw embedding matrix
    cap = cfg["final_logit_softcapping"]
    if cap is not None:
        logits = softcap(logits, cap)
    return logits


# ----------------------------------------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------------------------------------

QK_NORMS = ("self_attn.q_norm.weight", "self_attn.k_norm.weight")   # Gemma 3's, which Gemma 2 does not have


def layer_shapes(cfg, l):
    """Gemma 3's layer tensors without the q/k norms."""
    return {k: v for k, v in gemma3.layer_shapes(cfg, l).items() if not k.endswith(QK_NORMS)}


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
        "gate_w": f[pre + "mlp.gate_proj.weight"],
        "up_w": f[pre + "mlp.up_proj.weight"],
        "down_w": f[pre + "mlp.down_proj.weight"],
    }


# ----------------------------------------------------------------------------------------------------------
# Self-checks
# ----------------------------------------------------------------------------------------------------------

def check_config_semantics(cfg):
    assert cfg["attention_bias"] is False                     # no bias tensors
    assert not cfg.get("use_bidirectional_attention", False)
    assert cfg["hidden_activation"] == "gelu_pytorch_tanh", cfg["hidden_activation"]
    assert cfg["tie_word_embeddings"] is True
    assert isinstance(cfg["sliding_window"], int) and cfg["sliding_window"] >= 1
    assert "rope_local_base_freq" not in cfg                  # a Gemma 3 key; Gemma 2 has one RoPE
    # layer_types default expression: alternating, layer 0 sliding (released 26-layer Gemma 2 2B and this fixture)
    d = derived_layer_types(26)
    assert [i for i, t in enumerate(d) if t == FULL] == list(range(1, 26, 2))
    assert derived_layer_types(4) == [SLIDING, FULL, SLIDING, FULL]
    # embed_scale: bf16 rounding as quoted in modeling_gemma2.py
    assert embed_scale({"hidden_size": 3072}, "BF16") == 55.5
    assert embed_scale({"hidden_size": 2304}, "BF16") == 48.0
    assert embed_scale({"hidden_size": 64}, "BF16") == 8.0
    assert round_to_bf16(1.0 + 2.0 ** -8) == 1.0 and round_to_bf16(1.0 + 3 * 2.0 ** -8) == 1.0 + 2.0 ** -6  # ties
    # gelu tanh approximation: gelu(x) - gelu(-x) = x, and within 1e-3 of the exact x * Phi(x)
    x = np.linspace(-6.0, 6.0, 241)
    assert gelu_tanh(np.array(0.0)) == 0.0
    assert np.allclose(gelu_tanh(x) - gelu_tanh(-x), x, rtol=0, atol=1e-14)
    exact = np.array([0.5 * t * (1.0 + math.erf(t / math.sqrt(2.0))) for t in x])
    assert 1e-5 < np.abs(gelu_tanh(x) - exact).max() < 1e-3
    # softcap(x) = tanh(x / cap) * cap, for the released caps and this config's two
    caps = [30.0, 50.0] + [c for c in (cfg["attn_logit_softcapping"], cfg["final_logit_softcapping"]) if c is not None]
    for cap in caps:
        x = np.array([-1e4, -3 * cap, -cap, -1e-3, 0.0, 1e-3, cap, 3 * cap, 1e4])
        y = softcap(x, cap)
        assert np.all(np.abs(y) <= cap) and np.all(np.abs(y[1:-1]) < cap) and np.all(np.diff(y) > 0) and y[4] == 0.0
        assert np.array_equal(y, -y[::-1])                                         # odd
        assert abs(y[5] - 1e-3) < 1e-9                                            # slope 1 at 0
        assert abs(y[6] - cap * math.tanh(1.0)) < 1e-12 * cap and abs(y[7] - cap * math.tanh(3.0)) < 1e-12 * cap
        assert cap - y[-1] < 1e-12 * cap                                           # saturates at cap
    # attention logits: the cap after the scaling, before the mask; a masked key stays masked (tanh(-inf) * cap
    # would be -cap, i.e. a leak, if the cap came after the additive mask)
    q = np.array([[2.0, 1.0]])
    k = np.array([[3.0, 4.0], [1.0, 0.0]])                   # q.k = 10, 2
    m = np.array([[True, False]])
    got = attention_logits(q, k, 24 ** -0.5, 2.0, m)
    assert abs(got[0, 0] - 2.0 * math.tanh(10.0 / math.sqrt(24.0) / 2.0)) < 1e-15 and got[0, 1] == -np.inf
    assert abs(attention_logits(q, k, 24 ** -0.5, None, m)[0, 0] - 10.0 / math.sqrt(24.0)) < 1e-15


def check_rope(cfg):
    hd = cfg["head_dim"]
    half = hd // 2
    base = rope_base(cfg)
    f = inv_freq(cfg)
    assert f.shape == (half,)
    assert np.allclose(f, [base ** (-2.0 * i / hd) for i in range(half)], rtol=1e-15, atol=0)
    assert rope_base({"rope_parameters": {"rope_theta": 5.0, "rope_type": "default"}}) == 5.0
    assert rope_base({}) == 10000.0
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
    # known case: e_0 at position p -> (cos p f0, sin p f0) in dims (0, d/2); e_{d/2} -> (-sin, cos); here f0 = 1
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
        assert np.all(np.delete(ya[0, p], [0, half]) == 0.0)
    # the slowest pair: base ** (-(hd-2)/hd)
    assert abs(f[-1] - base ** (-(hd - 2) / hd)) < 1e-18


def check_softcapping(W, cfg):
    """Both caps are active on this model: the final cap bounds the logits and bends them (logits = cap tanh(raw /
    cap) of the uncapped ones); removing the attention cap changes the logits, and the scaled scores reach a size
    where tanh bends. A huge cap is the identity to ~x^3/(3 cap^2). Returns a few numbers for cases.json."""
    ids = np.random.default_rng(5).integers(3, cfg["vocab_size"], size=12)
    trace = []
    ref = forward(ids, W, cfg, trace)
    info = {"max_abs_scaled_attention_score": max(trace)}
    fcap, acap = cfg["final_logit_softcapping"], cfg["attn_logit_softcapping"]
    if fcap is not None:
        raw = forward(ids, W, dict(cfg, final_logit_softcapping=None))
        assert np.all(np.abs(ref) < fcap)
        assert np.allclose(ref, fcap * np.tanh(raw / fcap), rtol=0, atol=1e-12)
        assert np.abs(ref - raw).max() > 1e-2                      # the cap bends the logits
        info["max_abs_uncapped_logit"] = float(np.abs(raw).max())
    if acap is not None:
        assert max(trace) > 0.5 * acap                            # tanh(0.5) = 0.462: >= 7% compression somewhere
        no_acap = forward(ids, W, dict(cfg, attn_logit_softcapping=None))
        assert np.abs(no_acap - ref).max() > 1e-3
    huge = dict(cfg, attn_logit_softcapping=1e7, final_logit_softcapping=1e7)
    plain = dict(cfg, attn_logit_softcapping=None, final_logit_softcapping=None)
    assert np.allclose(forward(ids, W, huge), forward(ids, W, plain), rtol=0, atol=1e-6)
    return info


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
    if cfg["final_logit_softcapping"] is not None:
        assert np.all(np.abs(logits) < cfg["final_logit_softcapping"])
    return case_record(idx, ids, seed, draw + 1, logits, toks, margins, cfg), logits


def main():
    args, out, cfg = parse_args_and_config(__doc__, "Gemma2ForCausalLM")
    cfg = copy.deepcopy(cfg)
    for key, value in GEMMA2_DEFAULTS.items():
        cfg.setdefault(key, value)
    check_bf16_widening()
    check_config_semantics(cfg)
    check_rope(cfg)
    check_masks(cfg)

    header, tensors, sha = read_safetensors(args.weights)
    shapes = tensor_shapes(cfg)
    extra = check_tensor_shapes(tensors, shapes)
    assert not extra, extra                                      # the file holds nothing else (no q_norm / k_norm)
    for name in shapes:
        assert header[name]["dtype"] == "BF16", (name, header[name]["dtype"])
    W, used = structured(tensors, cfg, layer_params)
    assert used == set(tensors), sorted(set(tensors) - used)     # every tensor of the file is used
    W["layer_types"] = layer_types(cfg)
    W["embed_scale"] = embed_scale(cfg, "BF16")
    check_causality(W, cfg, forward)
    gemma3.check_sliding_window(W, cfg, forward)
    cap_info = check_softcapping(W, cfg)

    cases = make_and_write_cases(out, make_case, W, cfg)

    lt = W["layer_types"]
    doc = {
        "model": "gemma2-tiny",
        "set": "public",
        "architecture": "Gemma2ForCausalLM",
        "weights": weights_info(sha, "BF16"),
        "reference": reference_info(
            "scripts/reference/gemma2_reference.py: numpy float64 re-implementation of "
            "transformers' Gemma2ForCausalLM forward (weights = exact BF16 values widened "
            "to float64)",
            embedding="embed_tokens[ids] * %r (sqrt(hidden_size) as float32 -> bfloat16); lm_head = the raw "
                      "embed_tokens weight (tied, unscaled)" % W["embed_scale"],
            norm="Gemma2RMSNorm: x / sqrt(mean(x^2) + eps) * (1 + w)",
            layer="x += post_attention_layernorm(attn(input_layernorm(x))); "
                  "x += post_feedforward_layernorm(mlp(pre_feedforward_layernorm(x)))",
            mlp="down_proj(gelu_tanh(gate_proj(x)) * up_proj(x)), "
                "gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
            attention="no q/k norm; scores = q k^T * query_pre_attn_scalar^-0.5 = %r^-0.5, then "
                      "tanh(scores / %r) * %r (attn_logit_softcapping), then the mask; GQA %d q heads / %d kv "
                      "heads" % (cfg["query_pre_attn_scalar"], cfg["attn_logit_softcapping"],
                                 cfg["attn_logit_softcapping"], cfg["num_attention_heads"],
                                 cfg["num_key_value_heads"]),
            layer_types=lt,
            masks="full_attention: j <= i; sliding_attention: i - %d < j <= i" % cfg["sliding_window"],
            rope="rotate_half pairs (i, i + head_dim/2) over the full head_dim; theta %r, default, the same for "
                 "every layer" % rope_base(cfg),
            final_logit_softcapping=cfg["final_logit_softcapping"],
            softcap_check=cap_info,
        ),
        "cases": cases,
    }
    write_cases_json(out, doc)

    print("read %s (%d tensors, sha256 %s); wrote %s/reference" % (args.weights, len(tensors), sha, out))
    print("layer_types %s, embed_scale %r, rope_theta %r, softcap check %s" % (
        lt, W["embed_scale"], rope_base(cfg), cap_info))
    for c in cases:
        print(case_line(c))


if __name__ == "__main__":
    main()
