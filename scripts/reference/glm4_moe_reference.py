#!/usr/bin/env python3
"""Independent numpy (float64) reference of transformers' Glm4MoeForCausalLM forward pass (GLM-4.5 / GLM-4.5-Air /
GLM-4.6), run on given weights.

Usage: python3 scripts/reference/glm4_moe_reference.py <fixture-dir> --weights <model.safetensors>

Reads <fixture-dir>/config.json and the weights (BF16, except the F32 router correction biases; parsed by hand and
widened exactly to float64; written by model/src/test/java/org/redhare/model/FixtureWeights.java, whose `main` writes
them under a directory of your choice), and writes only <fixture-dir>/reference/{cases.json, logits_pN.f32}. Only
python3 + numpy are needed (and the helpers shared with glm4_reference.py in reference_common.py, next to this
file). Deterministic.

Semantics (from transformers src/transformers/models/glm4_moe/modeling_glm4_moe.py and configuration_glm4_moe.py,
default RoPE from src/transformers/modeling_rope_utils.py):
  * decoder layer, pre-norm only, plain residual adds (NO post-block norms, unlike dense GLM-4):
        x = x + attn(input_layernorm(x))
        x = x + mlp(post_attention_layernorm(x))
  * RMSNorm(x) = w * x / sqrt(mean(x^2) + eps)
  * attention: q/k/v projections with biases (attention_bias), o_proj WITHOUT bias; head_dim from the config;
    when use_qk_norm, an RMSNorm over head_dim (q_norm / k_norm, one weight vector shared by all heads) is applied
    per head to q and k AFTER the projection (+bias) and BEFORE RoPE; GQA (q head h uses kv head h // (nh/nkv));
    scale head_dim**-0.5; causal mask; softmax over keys
  * partial RoPE: rotary_dim = int(head_dim * partial_rotary_factor), inv_freq[i] = theta**(-2i/rotary_dim) for
    i < rotary_dim/2; on the first rotary_dim dims of every q/k head, gpt-neox / llama "rotate_half" layout:
    dim i pairs with dim i + rotary_dim/2 (i < rotary_dim/2), both rotated by pos*inv_freq[i]:
        y[i]        = x[i] cos - x[i + r/2] sin
        y[i + r/2]  = x[i + r/2] cos + x[i] sin
    dims >= rotary_dim pass through unchanged.  (Dense GLM-4 uses INTERLEAVED pairs instead; GLM-4-MoE does not.)
  * layers l < first_k_dense_replace: dense SwiGLU MLP (gate_proj, up_proj, down_proj; intermediate_size):
        down(silu(gate(x)) * up(x))
  * layers l >= first_k_dense_replace: MoE
        logits  = x @ gate.weight^T                                   (HF: float32; here float64)
        s       = sigmoid(logits)
        b       = s + e_score_correction_bias                         (used ONLY to choose experts)
        group score g = sum of the 2 largest b in the group (n_group equal contiguous groups of experts)
        keep the topk_group groups with the largest group score; b of experts in other groups -> 0.0 (masked_fill 0)
        chosen  = the num_experts_per_tok largest masked b
        w       = s[chosen] (unbiased sigmoid scores); if norm_topk_prob: w /= (sum(w) + 1e-20)
        w      *= routed_scaling_factor
        out     = sum_k w_k * expert_{chosen_k}(x) + shared_experts(x)
    every expert and the shared expert are SwiGLU MLPs like the dense one, routed experts with
    moe_intermediate_size and shared_experts with moe_intermediate_size * n_shared_experts
  * final model.norm, then an untied lm_head (no bias)
  * layers with index >= num_hidden_layers (the multi-token-prediction layer shipped in GLM-4.5 checkpoints,
    model.layers.{num_hidden_layers}.*) are not part of the forward pass: HF only builds num_hidden_layers layers
    and lists model.layers.46.* / model.layers.92.* in _keys_to_ignore_on_load_unexpected.
"""

import math
import os
import sys

import numpy as np

sys.dont_write_bytecode = True     # leave no __pycache__ next to the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_common import (MIN_MARGIN, attention, biased_attention_params, biased_attention_shapes,  # noqa: E402
                              case_line, case_record, rope_half, routed_experts, sigmoid, swiglu, swiglu_params,
                              swiglu_shapes,
                              check_bf16_widening, check_causality, check_rope_common, check_tensor_shapes,
                              draw_prompt, greedy, make_and_write_cases, model_tensor_shapes,
                              parse_args_and_config, read_safetensors, reference_info, rms_norm, rope_inv_freq,
                              structured, weights_info, write_cases_json)

MIN_ROUTER_GAP = 1e-3
MAX_DRAWS = 400


# ----------------------------------------------------------------------------------------------------------
# The model (float64)
# ----------------------------------------------------------------------------------------------------------







def route(h, p, cfg):
    """Router of one MoE layer for all tokens. Returns (chosen [n, k] sorted by descending biased score,
    weights [n, k], info dict with per-token group / expert gaps)."""
    E, G = cfg["n_routed_experts"], cfg["n_group"]
    k, kg = cfg["num_experts_per_tok"], cfg["topk_group"]
    per = E // G
    logits = h @ p["router_w"].T                                   # [n, E]
    s = sigmoid(logits)
    b = s + p["router_bias"][None, :]                              # for choice only
    n = h.shape[0]
    grouped = np.sort(b.reshape(n, G, per), axis=-1)
    gscore = grouped[:, :, -1] + grouped[:, :, -2]                 # sum of the top-2 per group
    gorder = np.argsort(-gscore, axis=-1, kind="stable")
    keep = np.zeros((n, G), dtype=bool)
    np.put_along_axis(keep, gorder[:, :kg], True, axis=-1)
    gs_sorted = np.take_along_axis(gscore, gorder, axis=-1)
    group_gap = (gs_sorted[:, kg - 1] - gs_sorted[:, kg]) if kg < G else np.full(n, np.inf)
    allowed = np.repeat(keep, per, axis=-1)                        # [n, E]
    masked = np.where(allowed, b, 0.0)                             # HF masked_fill(~mask, 0.0)
    eorder = np.argsort(-masked, axis=-1, kind="stable")
    chosen = eorder[:, :k]
    m_sorted = np.take_along_axis(masked, eorder, axis=-1)
    expert_gap = m_sorted[:, k - 1] - m_sorted[:, k]
    w = np.take_along_axis(s, chosen, axis=-1)
    if cfg["norm_topk_prob"]:
        w = w / (w.sum(axis=-1, keepdims=True) + 1e-20)
    w = w * cfg["routed_scaling_factor"]
    info = {"group_gap": group_gap, "expert_gap": expert_gap, "chosen_allowed": np.take_along_axis(allowed, chosen, -1),
            "kept_groups": keep, "scores": s, "biased": b}
    return chosen, w, info


def moe(h, p, cfg, trace=None):
    chosen, w, info = route(h, p, cfg)
    out = routed_experts(h, chosen, w, p["experts"])
    out = out + swiglu(h, p["shared"])
    if trace is not None:
        trace.append({"chosen": chosen, "weights": w, **info})
    return out


def final_hidden(ids, W, cfg, trace=None):
    eps = cfg["rms_norm_eps"]
    ids = np.asarray(ids, dtype=np.int64)
    positions = np.arange(len(ids))
    x = W["embed"][ids]
    for l, p in enumerate(W["layers"]):
        x = x + attention(rms_norm(x, p["in_norm"], eps), p, cfg, positions, rope_half, cfg["use_qk_norm"])
        h = rms_norm(x, p["post_attn_norm"], eps)
        if l < cfg["first_k_dense_replace"]:
            x = x + swiglu(h, p["dense"])
        else:
            x = x + moe(h, p, cfg, trace)
    return rms_norm(x, W["norm"], eps)


def forward(ids, W, cfg, trace=None):
    return final_hidden(ids, W, cfg, trace) @ W["lm_head"].T


# ----------------------------------------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------------------------------------

def layer_shapes(cfg, l):
    H, I, Im = cfg["hidden_size"], cfg["intermediate_size"], cfg["moe_intermediate_size"]
    E, Is = cfg["n_routed_experts"], cfg["moe_intermediate_size"] * cfg["n_shared_experts"]
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    pre = "model.layers.%d." % l
    shapes = {
        pre + "input_layernorm.weight": [H],
        pre + "post_attention_layernorm.weight": [H],
        **biased_attention_shapes(pre, H, nh, nkv, hd),
    }
    if cfg["use_qk_norm"]:
        shapes[pre + "self_attn.q_norm.weight"] = [hd]
        shapes[pre + "self_attn.k_norm.weight"] = [hd]
    if l < cfg["first_k_dense_replace"]:
        shapes.update(swiglu_shapes(pre + "mlp.", I, H))
    else:
        shapes[pre + "mlp.gate.weight"] = [E, H]
        shapes[pre + "mlp.gate.e_score_correction_bias"] = [E]
        for e in range(E):
            shapes.update(swiglu_shapes(pre + "mlp.experts.%d." % e, Im, H))
        shapes.update(swiglu_shapes(pre + "mlp.shared_experts.", Is, H))
    return shapes


def tensor_shapes(cfg):
    """Every tensor the forward pass reads, with its shape (the file may add the MTP layer, which it must not read)."""
    return model_tensor_shapes(cfg, layer_shapes)


def layer_params(f, cfg, l, pre):
    p = {
        "in_norm": f[pre + "input_layernorm.weight"],
        "post_attn_norm": f[pre + "post_attention_layernorm.weight"],
        **biased_attention_params(f, pre),
    }
    if cfg["use_qk_norm"]:
        p["q_norm"] = f[pre + "self_attn.q_norm.weight"]
        p["k_norm"] = f[pre + "self_attn.k_norm.weight"]
    if l < cfg["first_k_dense_replace"]:
        p["dense"] = swiglu_params(f, pre + "mlp.")
    else:
        p["router_w"] = f[pre + "mlp.gate.weight"]
        p["router_bias"] = f[pre + "mlp.gate.e_score_correction_bias"]
        p["experts"] = [swiglu_params(f, pre + "mlp.experts.%d." % e)
                        for e in range(cfg["n_routed_experts"])]
        p["shared"] = swiglu_params(f, pre + "mlp.shared_experts.")
    return p


# ----------------------------------------------------------------------------------------------------------
# Self-checks
# ----------------------------------------------------------------------------------------------------------

def check_rope(cfg):
    rotary_dim, inv_freq = rope_inv_freq(cfg)
    hd = cfg["head_dim"]
    half = rotary_dim // 2
    assert half == 8
    # inv_freq, position 0, pass-through dims, norm of each half-split pair (i, i+8), relative position
    x, pos, y = check_rope_common(cfg, rope_half, slice(0, half), slice(half, rotary_dim))
    # the same thing written the way HF writes it: cos/sin = cat(freqs, freqs), x*cos + rotate_half(x)*sin
    ang = pos[:, None] * inv_freq[None, :]
    emb = np.concatenate([ang, ang], axis=-1)
    xr = x[..., :rotary_dim]
    rot = np.concatenate([-xr[..., half:], xr[..., :half]], axis=-1)
    y2 = np.concatenate([xr * np.cos(emb) + rot * np.sin(emb), x[..., rotary_dim:]], axis=-1)
    assert np.allclose(y, y2, rtol=0, atol=1e-14)
    # known cases: e_0 at position p -> cos p in dim 0, sin p in dim 8 (inv_freq[0] = 1), nothing in dim 1;
    # e_1 -> (cos p*f1, sin p*f1) in dims (1, 9)
    e = np.zeros((1, 4, hd))
    e[0, :, 0] = 1.0
    e[0, :, 1] = 1.0
    y = rope_half(e, np.arange(4), cfg)
    for p in range(4):
        a = p * inv_freq[1]
        assert abs(y[0, p, 0] - math.cos(p)) < 1e-15 and abs(y[0, p, 8] - math.sin(p)) < 1e-15
        assert abs(y[0, p, 1] - math.cos(a)) < 1e-15 and abs(y[0, p, 9] - math.sin(a)) < 1e-15
        others = [d for d in range(hd) if d not in (0, 1, 8, 9)]
        assert np.all(y[0, p, others] == 0.0)
    # e_8 (second member of pair 0) at position p -> (-sin p, cos p) in dims (0, 8)
    e = np.zeros((1, 4, hd))
    e[0, :, 8] = 1.0
    y = rope_half(e, np.arange(4), cfg)
    for p in range(4):
        assert abs(y[0, p, 0] + math.sin(p)) < 1e-15 and abs(y[0, p, 8] - math.cos(p)) < 1e-15


def check_router_semantics(cfg):
    """Hand-made router cases: bias only chooses, group limitation, weights from unbiased scores, sum = scale."""
    E = cfg["n_routed_experts"]
    # identity router (E x E) so that the "hidden state" passed in is the router logits itself
    c = dict(cfg)
    p = {"router_w": np.eye(E), "router_bias": np.zeros(E)}
    sig_inv = lambda s: np.log(s / (1 - s))
    # 1) without bias: top-2 of group 0 = experts 0 and 1 win (group 0 sum 0.9+0.8 > group 1 sum 0.85+0.1)
    s = np.array([0.9, 0.8, 0.2, 0.1, 0.85, 0.1, 0.1, 0.1])
    ch, w, info = route(sig_inv(s)[None, :], p, c)
    assert sorted(ch[0].tolist()) == [0, 1]
    assert np.allclose(w[0], np.array([0.9, 0.8]) / 1.7 * cfg["routed_scaling_factor"], atol=1e-12)
    # 2) group limitation: expert 4 is globally 2nd best but its group loses -> expert 1 chosen instead
    s = np.array([0.95, 0.5, 0.45, 0.1, 0.9, 0.1, 0.1, 0.1])
    ch, w, info = route(sig_inv(s)[None, :], p, c)
    assert sorted(ch[0].tolist()) == [0, 1], ch
    # 3) bias changes the choice (expert 2 instead of 1) but the weights use the UNBIASED scores
    p["router_bias"] = np.array([0.0, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0])
    s = np.array([0.9, 0.8, 0.6, 0.1, 0.5, 0.5, 0.1, 0.1])
    ch, w, info = route(sig_inv(s)[None, :], p, c)
    order = ch[0].tolist()
    assert sorted(order) == [0, 2], order
    ws = dict(zip(order, w[0]))
    assert abs(ws[0] - 0.9 / 1.5 * 2.5) < 1e-12 and abs(ws[2] - 0.6 / 1.5 * 2.5) < 1e-12
    # 4) bias moves a whole group: group 1 wins only because of the bias
    p["router_bias"] = np.array([0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0])
    s = np.array([0.9, 0.8, 0.6, 0.1, 0.5, 0.45, 0.1, 0.1])
    ch, w, info = route(sig_inv(s)[None, :], p, c)
    assert sorted(ch[0].tolist()) == [4, 5]
    assert np.allclose(sorted(w[0]), sorted(np.array([0.5, 0.45]) / 0.95 * 2.5), atol=1e-12)
    # 5) masked experts count as 0.0 in HF; a negative allowed biased score loses to them (gap then is 0 -> such
    #    decisions are rejected by the fixture's gap rule)
    p["router_bias"] = np.array([0.0, -0.9, -0.9, -0.9, -0.9, -0.9, -0.9, -0.9])
    s = np.array([0.9, 0.8, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5])
    ch, w, info = route(sig_inv(s)[None, :], p, c)
    assert ch[0, 0] == 0 and info["expert_gap"][0] == 0.0


def check_moe_paths(W, cfg):
    """Check the gather/scatter expert loop against an all-experts dense formulation, and routing invariants."""
    rng = np.random.default_rng(3)
    for p in W["layers"][cfg["first_k_dense_replace"]:]:
        h = rng.standard_normal((13, cfg["hidden_size"]))
        trace = []
        out = moe(h, p, cfg, trace)
        ch, w = trace[0]["chosen"], trace[0]["weights"]
        assert ch.shape == (13, cfg["num_experts_per_tok"]) and w.shape == ch.shape
        assert np.all(trace[0]["chosen_allowed"])
        for t in range(13):
            assert len(set(ch[t].tolist())) == cfg["num_experts_per_tok"]
        if cfg["norm_topk_prob"]:
            assert np.allclose(w.sum(-1), cfg["routed_scaling_factor"], rtol=0, atol=1e-12)
        assert np.all(w > 0)
        combine = np.zeros((13, cfg["n_routed_experts"]))
        np.put_along_axis(combine, ch, w, axis=-1)
        all_out = np.stack([swiglu(h, ex) for ex in p["experts"]], axis=1)   # [n, E, H]
        ref = np.einsum("ne,neh->nh", combine, all_out) + swiglu(h, p["shared"])
        assert np.allclose(out, ref, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------------------------------------

def router_gaps(seq, W, cfg):
    """min group gap and min expert gap over every token of seq and every MoE layer."""
    trace = []
    forward(seq, W, cfg, trace)
    gg = min(float(np.min(t["group_gap"])) for t in trace)
    eg = min(float(np.min(t["expert_gap"])) for t in trace)
    return gg, eg, trace


def make_case(idx, n, W, cfg):
    for attempt in range(MAX_DRAWS):
        seed, ids = draw_prompt(idx, attempt, n, cfg)
        # routing of the prompt first (cheap), then greedy, then routing of prompt + all generated tokens
        gg, eg, _ = router_gaps(ids, W, cfg)
        if min(gg, eg) < MIN_ROUTER_GAP:
            continue
        toks, margins = greedy(ids, W, cfg, forward)
        if min(margins) < MIN_MARGIN or any(t in cfg["eos_token_id"] for t in toks):
            continue
        gg, eg, _ = router_gaps(list(ids) + toks, W, cfg)
        if min(gg, eg) >= MIN_ROUTER_GAP:
            break
    else:
        raise RuntimeError("no prompt of length %d met the margins after %d draws" % (n, MAX_DRAWS))
    trace = []
    logits = forward(ids, W, cfg, trace)
    moe_layers = list(range(cfg["first_k_dense_replace"], cfg["num_hidden_layers"]))
    routing = []
    for l, t in zip(moe_layers, trace):
        routing.append({
            "layer": l,
            "experts": [[int(e) for e in row] for row in t["chosen"]],
            "weights": [[float(v) for v in row] for row in t["weights"]],
        })
    case = case_record(idx, ids, seed, attempt + 1, logits, toks, margins, cfg,
                       stats={"min_router_gap": min(gg, eg), "min_router_group_gap": gg,
                              "min_router_expert_gap": eg},
                       extra={"prompt_routing": routing})
    return case, logits


def main():
    args, out, cfg = parse_args_and_config(__doc__, "Glm4MoeForCausalLM")
    check_bf16_widening()
    check_rope(cfg)
    check_router_semantics(cfg)

    header, tensors, sha = read_safetensors(args.weights)
    shapes = tensor_shapes(cfg)
    mtp_names = check_tensor_shapes(tensors, shapes)
    # the extra tensors are the multi-token-prediction layer(s), model.layers.{N..N+num_nextn_predict_layers-1}.*
    N = cfg["num_hidden_layers"]
    mtp_prefixes = tuple("model.layers.%d." % (N + j) for j in range(cfg["num_nextn_predict_layers"]))
    assert all(n.startswith(mtp_prefixes) for n in mtp_names), [n for n in mtp_names if not n.startswith(mtp_prefixes)]
    bias_names = [n for n in tensors if n.endswith("e_score_correction_bias")]
    assert all(header[n]["dtype"] == "F32" for n in bias_names), [(n, header[n]["dtype"]) for n in bias_names]
    assert all(header[n]["dtype"] == "BF16" for n in tensors if n not in bias_names)
    W, used = structured(tensors, cfg, layer_params)
    # every tensor except the MTP layer is used; none of the MTP layer is
    assert used == set(shapes), (sorted(set(shapes) - used), sorted(used - set(shapes)))
    check_causality(W, cfg, forward)
    check_moe_paths(W, cfg)

    cases = make_and_write_cases(out, make_case, W, cfg)

    # how much the correction bias matters: fraction of prompt routing decisions it changes
    changed, total = 0, 0
    for c in cases:
        W_nb = {**W, "layers": [dict(p) for p in W["layers"]]}
        for p in W_nb["layers"][cfg["first_k_dense_replace"]:]:
            p["router_bias"] = np.zeros_like(p["router_bias"])
        tr_b, tr_nb = [], []
        forward(c["prompt_ids"], W, cfg, tr_b)
        forward(c["prompt_ids"], W_nb, cfg, tr_nb)
        for a, b in zip(tr_b, tr_nb):
            for ra, rb in zip(a["chosen"], b["chosen"]):
                total += 1
                changed += int(set(ra.tolist()) != set(rb.tolist()))
    # (an engine that ignores the bias must fail)
    assert changed >= 0.3 * total, (changed, total)
    # expert usage per MoE layer over prompt + greedy tokens of all cases: every expert is exercised
    n_moe = cfg["num_hidden_layers"] - cfg["first_k_dense_replace"]
    usage = np.zeros((n_moe, cfg["n_routed_experts"]), dtype=int)
    for c in cases:
        tr = []
        forward(c["prompt_ids"] + c["greedy"]["new_tokens"], W, cfg, tr)
        for li, t in enumerate(tr):
            usage[li] += np.bincount(t["chosen"].ravel(), minlength=cfg["n_routed_experts"])
    # (a wrong expert index must be seen)
    assert np.all(usage > 0), usage

    doc = {
        "model": "glm4-moe-tiny",
        "set": "public",
        "architecture": "Glm4MoeForCausalLM",
        "weights": weights_info(
            sha, "BF16 everywhere except model.layers.L.mlp.gate.e_score_correction_bias (F32)",
            unused_tensors="model.layers.%d.* (multi-token-prediction layer, must be ignored)"
                           % cfg["num_hidden_layers"]),
        "reference": reference_info(
            "scripts/reference/glm4_moe_reference.py: numpy float64 re-implementation of "
            "transformers' Glm4MoeForCausalLM forward (weights = exact BF16/F32 values widened "
            "to float64)",
            rope="partial: rotary_dim = head_dim * partial_rotary_factor = 16; half-split (gpt-neox / "
                 "rotate_half) pairs (i, i+8), i < 8, of the first 16 dims of each q/k head rotate by "
                 "pos * theta^(-2i/16); dims 16..31 pass through (NOT the interleaved layout of dense GLM-4)",
            attention="q/k/v with bias, o_proj without bias; q_norm/k_norm RMSNorm over head_dim per head "
                      "after the projections and BEFORE RoPE; GQA; scale head_dim^-0.5",
            layer="x += attn(input_layernorm(x)); x += mlp(post_attention_layernorm(x)) (no post-block norms); "
                  "layer 0 dense SwiGLU (intermediate_size), layers 1..2 MoE",
            moe="s = sigmoid(x @ gate.weight^T); b = s + e_score_correction_bias; groups of 4 experts scored "
                "by the sum of their 2 largest b; keep topk_group=1 group, other experts' b -> 0; choose the "
                "2 largest b; weights = s of the chosen / sum * routed_scaling_factor (2.5); "
                "out = sum w_k expert_k(x) + shared_experts(x)",
            router_gap_rule="every routing decision of prompt + all 16 greedy tokens has "
                            "kept-minus-dropped group score >= %g and k-th minus (k+1)-th masked biased score "
                            ">= %g (so the k chosen biased scores are > 0 and a -inf mask chooses the same)"
                            % (MIN_ROUTER_GAP, MIN_ROUTER_GAP),
            prompt_routing="per case and MoE layer, chosen experts per prompt token (descending biased score) "
                           "and their final weights",
        ),
        "bias_changes_prompt_routing": {"changed": changed, "total": total},
        "expert_usage_prompt_plus_greedy": {"layers": list(range(cfg["first_k_dense_replace"],
                                                                 cfg["num_hidden_layers"])),
                                            "counts": usage.tolist()},
        "cases": cases,
    }
    write_cases_json(out, doc)

    print("self-checks passed: bf16 widening, RoPE (half-split layout, pass-through, norms, relative position, "
          "HF cos/sin form), router hand cases, MoE gather vs dense combine, routing weights sum = %g, causality, "
          "tensor names/shapes/dtypes, MTP tensors unused" % cfg["routed_scaling_factor"])
    print("read %s (%d tensors, %d of them the unused MTP layer; sha256 %s); wrote %s/reference"
          % (args.weights, len(tensors), len(mtp_names), sha, out))
    print("e_score_correction_bias changes %d of %d prompt routing decisions; expert usage %s"
          % (changed, total, usage.tolist()))
    for c in cases:
        print(case_line(c, "min_router_gap=%.5f (group %.5f, expert %.5f) " % (
            c["min_router_gap"], c["min_router_group_gap"], c["min_router_expert_gap"])))


if __name__ == "__main__":
    main()
