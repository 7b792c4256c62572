#!/usr/bin/env python3
"""Independent numpy (float64) reference of transformers' Qwen2MoeForCausalLM forward pass (Qwen1.5-MoE-A2.7B /
Qwen2-57B-A14B), run on given weights.

Usage: python3 scripts/reference/qwen2_moe_reference.py <fixture-dir> --weights <model.safetensors>

Reads <fixture-dir>/config.json and the weights (BF16, parsed by hand and widened exactly to float64; written by
model/src/test/java/org/redhare/model/FixtureWeights.java, whose `main` writes them under a directory of your choice),
and writes only <fixture-dir>/reference/{cases.json, logits_pN.f32}. Only python3 + numpy are needed (and the helpers
shared with the other reference scripts in reference_common.py, next to this file). Deterministic.

Semantics (from transformers src/transformers/models/qwen2_moe/modeling_qwen2_moe.py, modular_qwen2_moe.py and
configuration_qwen2_moe.py; default RoPE from src/transformers/modeling_rope_utils.py):
  * decoder layer, pre-norm only, plain residual adds (Qwen2MoeDecoderLayer = LlamaDecoderLayer):
        x = x + attn(input_layernorm(x))
        x = x + mlp(post_attention_layernorm(x))
  * RMSNorm(x) = w * x / sqrt(mean(x^2) + eps)
  * attention: q/k/v projections WITH biases (config qkv_bias, default True; Qwen2MoeConfig has no attention_bias),
    o_proj WITHOUT bias; head_dim = hidden_size // num_attention_heads (the config has no head_dim key; HF reads
    getattr(config, "head_dim", hidden_size // num_attention_heads)); GQA (q head h uses kv head h // (nh/nkv), as
    repeat_kv); scale head_dim**-0.5; causal mask; softmax over keys. No q/k norm.
  * every layer full attention: layer_types is derived as sliding only when use_sliding_window (false here), so
    sliding_window / max_window_layers play no part.
  * default RoPE over the WHOLE head (no partial_rotary_factor): inv_freq[i] = rope_theta**(-2i/head_dim),
    i < head_dim/2; gpt-neox / llama "rotate_half" layout: dim i pairs with dim i + head_dim/2, both rotated by
    pos*inv_freq[i]:
        y[i]        = x[i] cos - x[i + d/2] sin
        y[i + d/2]  = x[i + d/2] cos + x[i] sin
  * layer l is a sparse MoE block iff (l not in mlp_only_layers) and num_experts > 0 and
    (l + 1) % decoder_sparse_step == 0 (here: every layer); otherwise a dense SwiGLU MLP with intermediate_size.
    SwiGLU (Qwen2MoeMLP, no biases): down(silu(gate(x)) * up(x)).
  * MoE block (Qwen2MoeSparseMoeBlock / Qwen2MoeTopKRouter), per token x (the post_attention_layernorm output):
        logits  = x @ gate.weight^T                                   (HF: softmax in float32; here float64)
        p       = softmax(logits) over ALL num_experts experts
        chosen  = the num_experts_per_tok largest p (torch.topk)
        w       = p[chosen]; ONLY if norm_topk_prob: w /= sum(w)      (false for Qwen1.5-MoE / Qwen2-57B: the
                                                                       weights then sum to < 1)
        routed  = sum_k w_k * expert_{chosen_k}(x)                   (experts: SwiGLU with moe_intermediate_size)
        shared  = sigmoid(x @ shared_expert_gate.weight^T) * shared_expert(x)
                                                                      (shared_expert_gate: [1, hidden], no bias, a
                                                                       per-token scalar; shared_expert: SwiGLU with
                                                                       shared_expert_intermediate_size)
        out     = routed + shared
    no routed_scaling_factor, no grouping, no correction bias.
  * final model.norm, then an untied lm_head (no bias).
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
# Config interpretation
# ----------------------------------------------------------------------------------------------------------

def interpret_config(cfg):
    """config.json -> the dict the model functions read: Qwen2MoeConfig defaults for absent keys, head_dim derived,
    RoPE over the whole head (partial_rotary_factor 1 for reference_common.rope_inv_freq). Asserts the features this
    script does not implement are off."""
    c = dict(cfg)
    c.setdefault("qkv_bias", True)                                 # Qwen2MoeConfig default
    if c.get("mlp_only_layers") is None:
        c["mlp_only_layers"] = []                                  # __post_init__: None -> []
    c.setdefault("decoder_sparse_step", 1)
    c.setdefault("norm_topk_prob", False)
    c.setdefault("tie_word_embeddings", False)
    assert c["qkv_bias"], "q/k/v without bias not implemented"
    if c.get("head_dim") is None:
        c["head_dim"] = c["hidden_size"] // c["num_attention_heads"]
    assert c["head_dim"] * c["num_attention_heads"] == c["hidden_size"]
    c["partial_rotary_factor"] = 1.0                               # default RoPE: the whole head rotates
    assert c.get("rope_scaling") is None, "rope_scaling %r not implemented" % c.get("rope_scaling")
    rp = c.get("rope_parameters")
    if isinstance(rp, dict) and rp:
        assert rp.get("rope_type", rp.get("type", "default")) == "default", rp
        c["rope_theta"] = float(rp.get("rope_theta", c.get("rope_theta", 10000.0)))
    c.setdefault("rope_theta", 10000.0)
    assert not c.get("use_sliding_window", False), "sliding-window layers not implemented"
    assert c["hidden_act"] == "silu"
    eos = c.get("eos_token_id")
    c["eos_token_id"] = [] if eos is None else (list(eos) if isinstance(eos, list) else [eos])
    return c


def is_sparse(cfg, l):
    """Qwen2MoeDecoderLayer.__init__: MoE block or dense MLP."""
    return (l not in cfg["mlp_only_layers"]) and cfg["num_experts"] > 0 and (l + 1) % cfg["decoder_sparse_step"] == 0


# ----------------------------------------------------------------------------------------------------------
# The model (float64)
# ----------------------------------------------------------------------------------------------------------



def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)






def route(h, p, cfg):
    """Router of one MoE layer for all tokens. Returns (chosen [n, k] by descending probability, weights [n, k],
    info dict with the per-token gap between the k-th and (k+1)-th probability)."""
    k = cfg["num_experts_per_tok"]
    logits = h @ p["router_w"].T                                   # [n, E]
    probs = softmax(logits)                                        # over ALL experts
    order = np.argsort(-probs, axis=-1, kind="stable")
    chosen = order[:, :k]
    p_sorted = np.take_along_axis(probs, order, axis=-1)
    gap = (p_sorted[:, k - 1] - p_sorted[:, k]) if k < probs.shape[-1] else np.full(h.shape[0], np.inf)
    w = p_sorted[:, :k].copy()
    if cfg["norm_topk_prob"]:
        w = w / w.sum(axis=-1, keepdims=True)
    return chosen, w, {"expert_gap": gap, "probs": probs}


def moe(h, p, cfg, trace=None):
    chosen, w, info = route(h, p, cfg)
    out = routed_experts(h, chosen, w, p["experts"])
    sg = sigmoid(h @ p["shared_gate"].T)                           # [n, 1]
    out = out + sg * swiglu(h, p["shared"])
    if trace is not None:
        trace.append({"chosen": chosen, "weights": w, "shared_gate": sg[:, 0], **info})
    return out


def final_hidden(ids, W, cfg, trace=None):
    eps = cfg["rms_norm_eps"]
    ids = np.asarray(ids, dtype=np.int64)
    positions = np.arange(len(ids))
    x = W["embed"][ids]
    for l, p in enumerate(W["layers"]):
        x = x + attention(rms_norm(x, p["in_norm"], eps), p, cfg, positions, rope_half, False)
        h = rms_norm(x, p["post_attn_norm"], eps)
        if is_sparse(cfg, l):
            x = x + moe(h, p, cfg, trace)
        else:
            x = x + swiglu(h, p["dense"])
    return rms_norm(x, W["norm"], eps)


def forward(ids, W, cfg, trace=None):
    return final_hidden(ids, W, cfg, trace) @ W["lm_head"].T


# ----------------------------------------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------------------------------------

def layer_shapes(cfg, l):
    H, I, Im = cfg["hidden_size"], cfg["intermediate_size"], cfg["moe_intermediate_size"]
    E, Is = cfg["num_experts"], cfg["shared_expert_intermediate_size"]
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    pre = "model.layers.%d." % l
    shapes = {
        pre + "input_layernorm.weight": [H],
        pre + "post_attention_layernorm.weight": [H],
        **biased_attention_shapes(pre, H, nh, nkv, hd),
    }
    if is_sparse(cfg, l):
        shapes[pre + "mlp.gate.weight"] = [E, H]
        for e in range(E):
            shapes.update(swiglu_shapes(pre + "mlp.experts.%d." % e, Im, H))
        shapes.update(swiglu_shapes(pre + "mlp.shared_expert.", Is, H))
        shapes[pre + "mlp.shared_expert_gate.weight"] = [1, H]
    else:
        shapes.update(swiglu_shapes(pre + "mlp.", I, H))
    return shapes


def tensor_shapes(cfg):
    """Every tensor the forward pass reads, with its shape."""
    return model_tensor_shapes(cfg, layer_shapes)


def layer_params(f, cfg, l, pre):
    p = {
        "in_norm": f[pre + "input_layernorm.weight"],
        "post_attn_norm": f[pre + "post_attention_layernorm.weight"],
        **biased_attention_params(f, pre),
    }
    if is_sparse(cfg, l):
        p["router_w"] = f[pre + "mlp.gate.weight"]
        p["experts"] = [swiglu_params(f, pre + "mlp.experts.%d." % e)
                        for e in range(cfg["num_experts"])]
        p["shared"] = swiglu_params(f, pre + "mlp.shared_expert.")
        p["shared_gate"] = f[pre + "mlp.shared_expert_gate.weight"]
    else:
        p["dense"] = swiglu_params(f, pre + "mlp.")
    return p


# ----------------------------------------------------------------------------------------------------------
# Self-checks
# ----------------------------------------------------------------------------------------------------------

def check_config_interpretation():
    base = {"hidden_size": 64, "num_attention_heads": 4, "hidden_act": "silu"}
    c = interpret_config(base)
    assert c["head_dim"] == 16 and c["qkv_bias"] and c["mlp_only_layers"] == [] and not c["norm_topk_prob"]
    assert c["rope_theta"] == 10000.0 and c["partial_rotary_factor"] == 1.0
    assert interpret_config(dict(base, rope_parameters={"rope_type": "default", "rope_theta": 5.0}))["rope_theta"] == 5.0
    # sparse-layer rule
    c = dict(base, num_experts=8, decoder_sparse_step=2, mlp_only_layers=[3])
    assert [is_sparse(c, l) for l in range(6)] == [False, True, False, False, False, True]
    assert not is_sparse(dict(c, num_experts=0, decoder_sparse_step=1), 0)


def check_rope(cfg):
    hd = cfg["head_dim"]
    half = hd // 2
    rotary_dim, inv_freq = rope_inv_freq(cfg)
    assert rotary_dim == hd and inv_freq.shape == (half,)
    theta = cfg["rope_theta"]
    assert np.allclose(inv_freq, [theta ** (-2.0 * i / hd) for i in range(half)], rtol=1e-15, atol=0)
    # the layout checks of the common helper (which pins theta 10000 and a 16-dim rotary part): position 0,
    # norm of each pair (i, i + 8), relative position
    assert hd == 16
    x, pos, y = check_rope_common(dict(cfg, rope_theta=10000.0), rope_half, slice(0, half), slice(half, hd))
    # at the config's theta: the same thing written the way HF writes it, cos/sin = cat(freqs, freqs),
    # x*cos + rotate_half(x)*sin
    y = rope_half(x, pos, cfg)
    ang = pos[:, None] * inv_freq[None, :]
    emb = np.concatenate([ang, ang], axis=-1)
    rot = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    assert np.allclose(y, x * np.cos(emb) + rot * np.sin(emb), rtol=0, atol=1e-14)
    # known cases: e_0 at position p -> (cos p, sin p) in dims (0, 8) (inv_freq[0] = 1); e_8 -> (-sin p, cos p)
    e = np.zeros((1, 4, hd))
    e[0, :, 0] = 1.0
    e2 = np.zeros((1, 4, hd))
    e2[0, :, half] = 1.0
    ya = rope_half(e, np.arange(4), cfg)
    yb = rope_half(e2, np.arange(4), cfg)
    for p in range(4):
        assert abs(ya[0, p, 0] - math.cos(p)) < 1e-15 and abs(ya[0, p, half] - math.sin(p)) < 1e-15
        assert abs(yb[0, p, 0] + math.sin(p)) < 1e-15 and abs(yb[0, p, half] - math.cos(p)) < 1e-15
        assert np.all(np.delete(ya[0, p], [0, half]) == 0.0)
    # the slowest pair at theta 1e6: theta ** (-(hd-2)/hd)
    assert abs(inv_freq[-1] - theta ** (-(hd - 2) / hd)) < 1e-18


def check_router_semantics(cfg):
    """Hand-made router cases: softmax over ALL experts, top-k, weights not renormalized unless norm_topk_prob."""
    E, k = cfg["num_experts"], cfg["num_experts_per_tok"]
    assert (E, k) == (8, 2)
    p = {"router_w": np.eye(E)}                       # identity router: the "hidden state" is the router logits
    logits = np.log(np.array([0.05, 0.30, 0.02, 0.20, 0.13, 0.10, 0.15, 0.05]))
    c = dict(cfg, norm_topk_prob=False)
    ch, w, info = route(logits[None, :], p, c)
    assert ch[0].tolist() == [1, 3]
    assert np.allclose(w[0], [0.30, 0.20], rtol=0, atol=1e-14)            # probabilities over all 8, sum 0.5
    assert abs(info["expert_gap"][0] - (0.20 - 0.15)) < 1e-14
    ch, w, _ = route(logits[None, :], p, dict(cfg, norm_topk_prob=True))
    assert ch[0].tolist() == [1, 3] and np.allclose(w[0], [0.6, 0.4], rtol=0, atol=1e-14)
    # a softmax over only the chosen experts would give the renormalized weights: not what HF does here
    # shared expert gate: sigmoid of one scalar per token multiplies the shared expert's output
    H = cfg["hidden_size"]
    rng = np.random.default_rng(4)
    lay = {"router_w": rng.standard_normal((E, H)),
           "experts": [{"gate": np.zeros((2, H)), "up": np.zeros((2, H)), "down": np.zeros((H, 2))}] * E,
           "shared": {"gate": rng.standard_normal((3, H)), "up": rng.standard_normal((3, H)),
                      "down": rng.standard_normal((H, 3))},
           "shared_gate": rng.standard_normal((1, H))}
    h = rng.standard_normal((5, H))
    out = moe(h, lay, c)                               # zero routed experts: only the gated shared expert remains
    g = 1.0 / (1.0 + np.exp(-(h @ lay["shared_gate"][0])))
    assert np.allclose(out, g[:, None] * swiglu(h, lay["shared"]), rtol=0, atol=1e-12)


def check_moe_paths(W, cfg):
    """Check the gather/scatter expert loop against an all-experts dense formulation, and routing invariants."""
    rng = np.random.default_rng(3)
    for l, p in enumerate(W["layers"]):
        if not is_sparse(cfg, l):
            continue
        h = rng.standard_normal((13, cfg["hidden_size"]))
        trace = []
        out = moe(h, p, cfg, trace)
        ch, w = trace[0]["chosen"], trace[0]["weights"]
        assert ch.shape == (13, cfg["num_experts_per_tok"]) and w.shape == ch.shape
        for t in range(13):
            assert len(set(ch[t].tolist())) == cfg["num_experts_per_tok"]
        assert np.all(w > 0) and np.all(np.diff(w, axis=-1) <= 0)
        if cfg["norm_topk_prob"]:
            assert np.allclose(w.sum(-1), 1.0, rtol=0, atol=1e-12)
        else:
            assert np.all(w.sum(-1) < 1.0)
        if not cfg["norm_topk_prob"]:                # the weights are the router probabilities themselves
            assert np.array_equal(w, np.take_along_axis(softmax(h @ p["router_w"].T), ch, -1))
        combine = np.zeros((13, cfg["num_experts"]))
        np.put_along_axis(combine, ch, w, axis=-1)
        all_out = np.stack([swiglu(h, ex) for ex in p["experts"]], axis=1)   # [n, E, H]
        sg = 1.0 / (1.0 + np.exp(-(h @ p["shared_gate"][0])))
        ref = np.einsum("ne,neh->nh", combine, all_out) + sg[:, None] * swiglu(h, p["shared"])
        assert np.allclose(out, ref, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------------------------------------

def router_gap(seq, W, cfg):
    """min gap between the k-th and (k+1)-th router probability over every token of seq and every MoE layer."""
    trace = []
    forward(seq, W, cfg, trace)
    return min(float(np.min(t["expert_gap"])) for t in trace), trace


def make_case(idx, n, W, cfg):
    for attempt in range(MAX_DRAWS):
        seed, ids = draw_prompt(idx, attempt, n, cfg)
        # routing of the prompt first (cheap), then greedy, then routing of prompt + all generated tokens
        gap, _ = router_gap(ids, W, cfg)
        if gap < MIN_ROUTER_GAP:
            continue
        toks, margins = greedy(ids, W, cfg, forward)
        if min(margins) < MIN_MARGIN or any(t in cfg["eos_token_id"] for t in toks):
            continue
        gap, _ = router_gap(list(ids) + toks, W, cfg)
        if gap >= MIN_ROUTER_GAP:
            break
    else:
        raise RuntimeError("no prompt of length %d met the margins after %d draws" % (n, MAX_DRAWS))
    trace = []
    logits = forward(ids, W, cfg, trace)
    moe_layers = [l for l in range(cfg["num_hidden_layers"]) if is_sparse(cfg, l)]
    routing = []
    for l, t in zip(moe_layers, trace):
        routing.append({
            "layer": l,
            "experts": [[int(e) for e in row] for row in t["chosen"]],
            "weights": [[float(v) for v in row] for row in t["weights"]],
            "shared_expert_gate": [float(v) for v in t["shared_gate"]],
        })
    case = case_record(idx, ids, seed, attempt + 1, logits, toks, margins, cfg,
                       stats={"min_router_gap": gap},
                       extra={"prompt_routing": routing})
    return case, logits


def main():
    args, out, raw_cfg = parse_args_and_config(__doc__, "Qwen2MoeForCausalLM")
    cfg = interpret_config(raw_cfg)
    check_bf16_widening()
    check_config_interpretation()
    check_rope(cfg)
    check_router_semantics(cfg)

    header, tensors, sha = read_safetensors(args.weights)
    shapes = tensor_shapes(cfg)
    extra = check_tensor_shapes(tensors, shapes)
    assert not extra, extra
    assert all(header[n]["dtype"] == "BF16" for n in tensors), [(n, header[n]["dtype"]) for n in tensors
                                                                 if header[n]["dtype"] != "BF16"]
    W, used = structured(tensors, cfg, layer_params)
    assert used == set(tensors), sorted(set(tensors) - used)      # every tensor of the file is used
    check_causality(W, cfg, forward)
    check_moe_paths(W, cfg)

    cases = make_and_write_cases(out, make_case, W, cfg)

    # over prompt + greedy tokens of all cases: expert usage per MoE layer (every expert is exercised), the range of
    # the routed weights' sum (well below 1: not renormalized) and of the shared expert's sigmoid gate
    moe_layers = [l for l in range(cfg["num_hidden_layers"]) if is_sparse(cfg, l)]
    usage = np.zeros((len(moe_layers), cfg["num_experts"]), dtype=int)
    wsum, gates = [], []
    for c in cases:
        tr = []
        forward(c["prompt_ids"] + c["greedy"]["new_tokens"], W, cfg, tr)
        for li, t in enumerate(tr):
            usage[li] += np.bincount(t["chosen"].ravel(), minlength=cfg["num_experts"])
            wsum.append(t["weights"].sum(-1))
            gates.append(t["shared_gate"])
    wsum, gates = np.concatenate(wsum), np.concatenate(gates)
    # (a wrong expert index must be seen)
    assert np.all(usage > 0), usage
    stats = {"routed_weight_sum": {"min": float(wsum.min()), "max": float(wsum.max())},
             "shared_expert_gate": {"min": float(gates.min()), "max": float(gates.max())}}

    doc = {
        "model": "qwen2-moe-tiny",
        "set": "public",
        "architecture": "Qwen2MoeForCausalLM",
        "weights": weights_info(sha, "BF16"),
        "reference": reference_info(
            "scripts/reference/qwen2_moe_reference.py: numpy float64 re-implementation of "
            "transformers' Qwen2MoeForCausalLM forward (weights = exact BF16 values widened "
            "to float64)",
            rope="default, over the whole head: head_dim = hidden_size / num_attention_heads = %d; half-split "
                 "(gpt-neox / rotate_half) pairs (i, i+%d) rotate by pos * %r^(-2i/%d)"
                 % (cfg["head_dim"], cfg["head_dim"] // 2, cfg["rope_theta"], cfg["head_dim"]),
            attention="q/k/v with bias, o_proj without bias; no q/k norm; GQA %d q heads / %d kv heads; scale "
                      "head_dim^-0.5; full causal attention in every layer"
                      % (cfg["num_attention_heads"], cfg["num_key_value_heads"]),
            layer="x += attn(input_layernorm(x)); x += mlp(post_attention_layernorm(x)); MoE layers %s "
                  "((l not in mlp_only_layers) and (l + 1) %% decoder_sparse_step == 0)" % moe_layers,
            moe="p = softmax(x @ gate.weight^T) over all %d experts; choose the %d largest p; weights = those p "
                "(norm_topk_prob %s: %s); out = sum w_k expert_k(x) + sigmoid(x @ shared_expert_gate.weight^T) * "
                "shared_expert(x); experts SwiGLU down(silu(gate(x)) * up(x)) with moe_intermediate_size %d, "
                "shared_expert with shared_expert_intermediate_size %d"
                % (cfg["num_experts"], cfg["num_experts_per_tok"], str(cfg["norm_topk_prob"]).lower(),
                   "renormalized to sum 1" if cfg["norm_topk_prob"] else "NOT renormalized",
                   cfg["moe_intermediate_size"], cfg["shared_expert_intermediate_size"]),
            router_gap_rule="every routing decision of prompt + all 16 greedy tokens has k-th minus (k+1)-th "
                            "router probability >= %g" % MIN_ROUTER_GAP,
            prompt_routing="per case and MoE layer, chosen experts per prompt token (descending probability), "
                           "their final weights, and the shared expert's gate sigmoid(x @ shared_expert_gate^T)",
        ),
        "routing_stats_prompt_plus_greedy": stats,
        "expert_usage_prompt_plus_greedy": {"layers": moe_layers, "counts": usage.tolist()},
        "cases": cases,
    }
    write_cases_json(out, doc)

    print("self-checks passed: bf16 widening, config interpretation, RoPE (rotate_half over the whole head, norms, "
          "relative position, HF cos/sin form), router hand cases (softmax over all experts, no renormalization, "
          "gated shared expert), MoE gather vs dense combine, causality, tensor names/shapes/dtypes, every tensor "
          "used")
    print("read %s (%d tensors; sha256 %s); wrote %s/reference" % (args.weights, len(tensors), sha, out))
    print("expert usage %s; routed weight sum in [%.4f, %.4f]; shared expert gate in [%.4f, %.4f]"
          % (usage.tolist(), wsum.min(), wsum.max(), gates.min(), gates.max()))
    for c in cases:
        print(case_line(c, "min_router_gap=%.5f " % c["min_router_gap"]))


if __name__ == "__main__":
    main()
