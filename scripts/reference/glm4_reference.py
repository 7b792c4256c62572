#!/usr/bin/env python3
"""Independent numpy (float64) reference of transformers' Glm4ForCausalLM forward pass, run on given weights.

Usage: python3 scripts/reference/glm4_reference.py <fixture-dir> --weights <model.safetensors>

Reads <fixture-dir>/config.json and the weights (BF16, parsed by hand and widened exactly to float64; written by
model/src/test/java/org/redhare/model/GlmWeights.java, whose `main` writes them under a directory of your choice),
and writes only <fixture-dir>/reference/{cases.json, logits_pN.f32}. Only python3 + numpy are needed. Deterministic.

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

import argparse
import hashlib
import json
import math
import os
import struct

import numpy as np

PROMPT_LENGTHS = [7, 23, 61]
PROMPT_BASE_SEEDS = [7100, 8200, 9300]
MIN_TOKEN_ID = 3
N_GREEDY = 16
MIN_MARGIN = 0.1
MAX_DRAWS = 40


# ----------------------------------------------------------------------------------------------------------
# BF16 -> float64 (exact: a bf16 value is the upper half of a float32)
# ----------------------------------------------------------------------------------------------------------

def bf16_bits_to_f64(bits):
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32).astype(np.float64)


def check_bf16_widening():
    bits = np.array([0x3F80, 0xC000, 0x4049, 0x3F81, 0x0000, 0x8000, 0x7F7F, 0x0001], dtype=np.uint16)
    want = [1.0, -2.0, 3.140625, 1.0 + 2.0 ** -7, 0.0, -0.0, 3.3895313892515355e38, 2.0 ** -133]
    got = bf16_bits_to_f64(bits)
    assert got.dtype == np.float64 and list(got) == want, got
    assert math.copysign(1.0, got[5]) == -1.0


# ----------------------------------------------------------------------------------------------------------
# The model (float64)
# ----------------------------------------------------------------------------------------------------------

def rms_norm(x, w, eps):
    ms = np.mean(x * x, axis=-1, keepdims=True)
    return w * (x / np.sqrt(ms + eps))


def silu(x):
    return x / (1.0 + np.exp(-x))


def rope_inv_freq(cfg):
    head_dim = cfg["head_dim"]
    rotary_dim = int(head_dim * cfg["partial_rotary_factor"])
    i = np.arange(0, rotary_dim, 2, dtype=np.float64)  # 0, 2, 4, ... (rotary_dim/2 entries)
    return rotary_dim, 1.0 / (cfg["rope_theta"] ** (i / rotary_dim))


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


def attention(h, p, cfg, positions):
    n = h.shape[0]
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    q = h @ p["q_w"].T + p["q_b"]
    k = h @ p["k_w"].T + p["k_b"]
    v = h @ p["v_w"].T + p["v_b"]
    q = q.reshape(n, nh, hd).transpose(1, 0, 2)    # [nh, n, hd]
    k = k.reshape(n, nkv, hd).transpose(1, 0, 2)   # [nkv, n, hd]
    v = v.reshape(n, nkv, hd).transpose(1, 0, 2)
    q = apply_rope(q, positions, cfg)
    k = apply_rope(k, positions, cfg)
    group = nh // nkv
    scale = hd ** -0.5
    causal = np.tril(np.ones((n, n), dtype=bool))
    out = np.empty((nh, n, hd))
    for hq in range(nh):
        kv = hq // group                            # q heads [g*group, (g+1)*group) share kv head g
        sc = (q[hq] @ k[kv].T) * scale
        sc = np.where(causal, sc, -np.inf)
        sc = sc - sc.max(axis=-1, keepdims=True)
        pr = np.exp(sc)
        pr = pr / pr.sum(axis=-1, keepdims=True)
        out[hq] = pr @ v[kv]
    out = out.transpose(1, 0, 2).reshape(n, nh * hd)
    return out @ p["o_w"].T


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
        a = attention(rms_norm(x, p["in_norm"], eps), p, cfg, positions)
        x = x + rms_norm(a, p["post_attn_out_norm"], eps)          # post_self_attn_layernorm
        m = mlp(rms_norm(x, p["pre_mlp_norm"], eps), p, cfg)       # post_attention_layernorm
        x = x + rms_norm(m, p["post_mlp_out_norm"], eps)           # post_mlp_layernorm
    return rms_norm(x, W["norm"], eps)


def forward(ids, W, cfg):
    return final_hidden(ids, W, cfg) @ W["lm_head"].T


# ----------------------------------------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------------------------------------

def tensor_shapes(cfg):
    """Every tensor the file must hold (and nothing else), with its shape."""
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    shapes = {"model.embed_tokens.weight": [V, H]}
    for l in range(cfg["num_hidden_layers"]):
        pre = "model.layers.%d." % l
        shapes.update({
            pre + "input_layernorm.weight": [H],
            pre + "post_self_attn_layernorm.weight": [H],
            pre + "post_attention_layernorm.weight": [H],
            pre + "post_mlp_layernorm.weight": [H],
            pre + "self_attn.q_proj.weight": [nh * hd, H],
            pre + "self_attn.q_proj.bias": [nh * hd],
            pre + "self_attn.k_proj.weight": [nkv * hd, H],
            pre + "self_attn.k_proj.bias": [nkv * hd],
            pre + "self_attn.v_proj.weight": [nkv * hd, H],
            pre + "self_attn.v_proj.bias": [nkv * hd],
            pre + "self_attn.o_proj.weight": [H, nh * hd],
            pre + "mlp.gate_up_proj.weight": [2 * I, H],
            pre + "mlp.down_proj.weight": [H, I],
        })
    shapes["model.norm.weight"] = [H]
    if not cfg["tie_word_embeddings"]:
        shapes["lm_head.weight"] = [V, H]
    return shapes


class Tracking(dict):
    """dict that remembers which keys were read (to prove every tensor of the file is used)."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.used = set()

    def __getitem__(self, key):
        self.used.add(key)
        return super().__getitem__(key)


def structured(f, cfg):
    """float64 tensors (by HF name) -> model dict. Returns (W, set of tensor names read)."""
    f = Tracking(f)
    W = {"embed": f["model.embed_tokens.weight"], "norm": f["model.norm.weight"],
         "lm_head": f["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else f["lm_head.weight"],
         "layers": []}
    for l in range(cfg["num_hidden_layers"]):
        pre = "model.layers.%d." % l
        W["layers"].append({
            "in_norm": f[pre + "input_layernorm.weight"],
            "post_attn_out_norm": f[pre + "post_self_attn_layernorm.weight"],
            "pre_mlp_norm": f[pre + "post_attention_layernorm.weight"],
            "post_mlp_out_norm": f[pre + "post_mlp_layernorm.weight"],
            "q_w": f[pre + "self_attn.q_proj.weight"], "q_b": f[pre + "self_attn.q_proj.bias"],
            "k_w": f[pre + "self_attn.k_proj.weight"], "k_b": f[pre + "self_attn.k_proj.bias"],
            "v_w": f[pre + "self_attn.v_proj.weight"], "v_b": f[pre + "self_attn.v_proj.bias"],
            "o_w": f[pre + "self_attn.o_proj.weight"],
            "gate_up_w": f[pre + "mlp.gate_up_proj.weight"],
            "down_w": f[pre + "mlp.down_proj.weight"],
        })
    return W, set(f.used)


# ----------------------------------------------------------------------------------------------------------
# safetensors reader (by hand): 8-byte little-endian header length, JSON header, data
# ----------------------------------------------------------------------------------------------------------

def read_safetensors(path):
    """-> (header, {name: float64 array}, sha256 hex of the file). BF16 and F32 are widened exactly."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    out = {}
    end = 0
    for name, meta in sorted(((k, v) for k, v in header.items() if k != "__metadata__"),
                             key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = meta["data_offsets"]
        assert b == end, "gap or overlap in data_offsets at %s" % name
        end = e
        count = int(np.prod(meta["shape"], dtype=np.int64))
        if meta["dtype"] == "BF16":
            assert e - b == 2 * count, name
            out[name] = bf16_bits_to_f64(np.frombuffer(data[b:e], dtype="<u2")).reshape(meta["shape"])
        elif meta["dtype"] == "F32":
            assert e - b == 4 * count, name
            out[name] = np.frombuffer(data[b:e], dtype="<f4").astype(np.float64).reshape(meta["shape"])
        else:
            raise ValueError("%s: dtype %s" % (name, meta["dtype"]))
        assert np.all(np.isfinite(out[name])), name
    assert end == len(data), "trailing bytes after the last tensor"
    return header, out, hashlib.sha256(raw).hexdigest()


# ----------------------------------------------------------------------------------------------------------
# Self-checks
# ----------------------------------------------------------------------------------------------------------

def check_rope(cfg):
    rotary_dim, inv_freq = rope_inv_freq(cfg)
    hd = cfg["head_dim"]
    assert rotary_dim == 16 and inv_freq.shape == (8,)
    assert np.allclose(inv_freq, [10000.0 ** (-2.0 * i / 16) for i in range(8)], rtol=0, atol=1e-15)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5, hd))
    pos = np.arange(5)
    y = apply_rope(x, pos, cfg)
    # position 0: unchanged
    assert np.array_equal(y[:, 0], x[:, 0])
    # pass-through dims untouched
    assert np.array_equal(y[..., rotary_dim:], x[..., rotary_dim:])
    # each interleaved pair keeps its norm
    px = x[..., 0:rotary_dim:2] ** 2 + x[..., 1:rotary_dim:2] ** 2
    py = y[..., 0:rotary_dim:2] ** 2 + y[..., 1:rotary_dim:2] ** 2
    assert np.allclose(px, py, rtol=1e-13, atol=1e-13)
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
    # relative-position property: <R(p)q, R(s)k> depends only on p - s (rotated part)
    q = rng.standard_normal((1, 1, hd))
    k = rng.standard_normal((1, 1, hd))
    d1 = apply_rope(q, np.array([7]), cfg)[0, 0] @ apply_rope(k, np.array([3]), cfg)[0, 0]
    d2 = apply_rope(q, np.array([14]), cfg)[0, 0] @ apply_rope(k, np.array([10]), cfg)[0, 0]
    assert abs(d1 - d2) < 1e-12


def check_causality(W, cfg):
    rng = np.random.default_rng(2)
    ids = rng.integers(MIN_TOKEN_ID, cfg["vocab_size"], size=9)
    a = forward(ids, W, cfg)
    b = forward(ids[:5], W, cfg)
    assert np.allclose(a[:5], b, rtol=0, atol=1e-10)


# ----------------------------------------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------------------------------------

def top2_margin(row):
    s = np.sort(row)
    return float(s[-1] - s[-2])


def log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))


def greedy(ids, W, cfg):
    seq = list(int(t) for t in ids)
    toks, margins = [], []
    for _ in range(N_GREEDY):
        last = forward(seq, W, cfg)[-1]       # full recompute, no KV cache
        t = int(np.argmax(last))
        toks.append(t)
        margins.append(top2_margin(last))
        seq.append(t)
    return toks, margins


def make_case(idx, n, W, cfg):
    for draw in range(MAX_DRAWS):
        seed = PROMPT_BASE_SEEDS[idx] + draw
        ids = np.random.default_rng(seed).integers(MIN_TOKEN_ID, cfg["vocab_size"], size=n)
        toks, margins = greedy(ids, W, cfg)
        if min(margins) >= MIN_MARGIN:
            break
    else:
        raise RuntimeError("no prompt of length %d met the margin after %d draws" % (n, MAX_DRAWS))
    logits = forward(ids, W, cfg)
    assert logits.shape == (n, cfg["vocab_size"])
    # step 0 of greedy must agree with the prompt's last row
    assert int(np.argmax(logits[-1])) == toks[0]
    lsm = log_softmax(logits)
    nll = -lsm[np.arange(n - 1), ids[1:]]
    mean = float(np.mean(nll))
    top5 = []
    for row in logits:
        o = np.argsort(-row, kind="stable")[:5]
        top5.append({"ids": [int(i) for i in o], "logits": [float(row[i]) for i in o]})
    case = {
        "name": "p%d" % idx,
        "prompt_ids": [int(i) for i in ids],
        "n_tokens": n,
        "prompt_seed": seed,
        "prompt_draws": draw + 1,
        "logits_file": "logits_p%d.f32" % idx,
        "logits_shape": [n, cfg["vocab_size"]],
        "logits_std": float(np.std(logits)),
        "min_top1_top2_margin": float(min(top2_margin(r) for r in logits)),
        "top5": top5,
        "greedy": {
            "n_new_tokens": N_GREEDY,
            "new_tokens": toks,
            "step_top1_top2_margin": [round(m, 6) for m in margins],
        },
        "prompt_nll": {
            "mean": mean,
            "perplexity": math.exp(mean),
            "n_predictions": n - 1,
            "definition": "mean over j=0..n-2 of -log_softmax(logits[j])[ids[j+1]]",
        },
    }
    return case, logits


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fixture_dir", help="directory with config.json; reference/ is written into it")
    ap.add_argument("--weights", required=True, help="model.safetensors written by GlmWeights.java")
    args = ap.parse_args()
    out = args.fixture_dir
    with open(os.path.join(out, "config.json")) as f:
        cfg = json.load(f)
    assert cfg["architectures"] == ["Glm4ForCausalLM"], cfg["architectures"]
    check_bf16_widening()
    check_rope(cfg)

    header, tensors, sha = read_safetensors(args.weights)
    shapes = tensor_shapes(cfg)
    assert set(tensors) == set(shapes), (sorted(set(tensors) - set(shapes)), sorted(set(shapes) - set(tensors)))
    for name, shape in shapes.items():
        assert list(tensors[name].shape) == shape, (name, tensors[name].shape, shape)
        assert header[name]["dtype"] == "BF16", (name, header[name]["dtype"])
    W, used = structured(tensors, cfg)
    assert used == set(tensors), sorted(set(tensors) - used)     # every tensor of the file is used
    check_causality(W, cfg)

    os.makedirs(os.path.join(out, "reference"), exist_ok=True)
    cases = []
    for idx, n in enumerate(PROMPT_LENGTHS):
        case, logits = make_case(idx, n, W, cfg)
        logits.astype("<f4").tofile(os.path.join(out, "reference", case["logits_file"]))
        back = np.fromfile(os.path.join(out, "reference", case["logits_file"]), dtype="<f4")
        assert back.size == n * cfg["vocab_size"]
        cases.append(case)

    doc = {
        "model": "glm4-tiny",
        "set": "public",
        "architecture": "Glm4ForCausalLM",
        "weights": {
            "file": "written by model/src/test/java/org/redhare/model/GlmWeights.java at test time",
            "sha256": sha,
            "dtypes": "BF16",
        },
        "reference": {
            "implementation": "scripts/reference/glm4_reference.py: numpy float64 re-implementation of "
                              "transformers' Glm4ForCausalLM forward (weights = exact BF16 values widened "
                              "to float64)",
            "precision": "float64",
            "logits_files": "float32 little-endian, row-major [n_tokens, vocab_size]",
            "greedy": "argmax over the full recomputed sequence (no KV cache), 16 steps, no EOS stop",
            "rope": "partial: rotary_dim = head_dim * partial_rotary_factor = 16; interleaved pairs (2i, 2i+1) "
                    "of the first 16 dims of each q/k head rotate by pos * theta^(-2i/16); dims 16..31 pass "
                    "through",
            "layer": "x += post_self_attn_layernorm(attn(input_layernorm(x))); "
                     "x += post_mlp_layernorm(mlp(post_attention_layernorm(x)))",
        },
        "cases": cases,
    }
    with open(os.path.join(out, "reference", "cases.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")

    print("read %s (%d tensors, sha256 %s); wrote %s/reference" % (args.weights, len(tensors), sha, out))
    for c in cases:
        print("%s: n=%d seed=%d draws=%d logits_std=%.4f min_greedy_margin=%.4f min_prompt_margin=%.4f "
              "nll=%.4f ppl=%.2f greedy=%s" % (
                  c["name"], c["n_tokens"], c["prompt_seed"], c["prompt_draws"], c["logits_std"],
                  min(c["greedy"]["step_top1_top2_margin"]), c["min_top1_top2_margin"],
                  c["prompt_nll"]["mean"], c["prompt_nll"]["perplexity"], c["greedy"]["new_tokens"]))


if __name__ == "__main__":
    main()
