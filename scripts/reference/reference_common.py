"""Helpers shared by the numpy (float64) reference scripts glm4_reference.py and glm4_moe_reference.py.

Not a script of its own: the reference scripts put their own directory on sys.path and import it, so they run from
any working directory. Only python3 + numpy are needed. Everything architecture-specific (the RoPE layout, the
decoder layer, the MLP / MoE router, tensor names, the cases.json description) stays in the scripts; where the two
differ only slightly, a function here takes it as a parameter (the script's `apply_rope`, `forward`, ...).
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
# Weights: names, shapes, and the structured model dict
# ----------------------------------------------------------------------------------------------------------

def model_tensor_shapes(cfg, layer_shapes):
    """Embedding, the num_hidden_layers decoder layers (layer_shapes(cfg, l) -> {name: shape}), final norm and, unless
    tied, lm_head: every tensor the forward pass reads, with its shape."""
    H, V = cfg["hidden_size"], cfg["vocab_size"]
    shapes = {"model.embed_tokens.weight": [V, H]}
    for l in range(cfg["num_hidden_layers"]):
        shapes.update(layer_shapes(cfg, l))
    shapes["model.norm.weight"] = [H]
    if not cfg["tie_word_embeddings"]:
        shapes["lm_head.weight"] = [V, H]
    return shapes


def check_tensor_shapes(tensors, shapes):
    """Every tensor of `shapes` is in the file with that shape. Returns the sorted names of the file's other tensors."""
    missing = set(shapes) - set(tensors)
    assert not missing, sorted(missing)
    for name, shape in shapes.items():
        assert list(tensors[name].shape) == shape, (name, tensors[name].shape, shape)
    return sorted(set(tensors) - set(shapes))


class Tracking(dict):
    """dict that remembers which keys were read (to prove which tensors of the file are used, and which are not)."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.used = set()

    def __getitem__(self, key):
        self.used.add(key)
        return super().__getitem__(key)


def structured(f, cfg, layer_params):
    """float64 tensors (by HF name) -> model dict {embed, norm, lm_head, layers}; layer_params(f, cfg, l, prefix)
    builds the dict of one decoder layer. Returns (W, set of tensor names read)."""
    f = Tracking(f)
    W = {"embed": f["model.embed_tokens.weight"], "norm": f["model.norm.weight"],
         "lm_head": f["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else f["lm_head.weight"],
         "layers": []}
    for l in range(cfg["num_hidden_layers"]):
        W["layers"].append(layer_params(f, cfg, l, "model.layers.%d." % l))
    return W, set(f.used)


# ----------------------------------------------------------------------------------------------------------
# Model pieces (float64)
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


def attention(h, p, cfg, positions, apply_rope, qk_norm=False):
    """q/k/v with biases, o_proj without bias, GQA (kv head = q head // group), scale head_dim**-0.5, causal mask,
    softmax over keys. apply_rope(x [n_heads, n_tokens, head_dim], positions, cfg) is the architecture's RoPE; with
    qk_norm, an RMSNorm over head_dim (p["q_norm"] / p["k_norm"], shared by all heads) is applied per head to q and k
    after the projection (+bias) and before RoPE."""
    n = h.shape[0]
    eps = cfg["rms_norm_eps"]
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    q = h @ p["q_w"].T + p["q_b"]
    k = h @ p["k_w"].T + p["k_b"]
    v = h @ p["v_w"].T + p["v_b"]
    q = q.reshape(n, nh, hd).transpose(1, 0, 2)    # [nh, n, hd]
    k = k.reshape(n, nkv, hd).transpose(1, 0, 2)   # [nkv, n, hd]
    v = v.reshape(n, nkv, hd).transpose(1, 0, 2)
    if qk_norm:                                    # per head over head_dim, before RoPE
        q = rms_norm(q, p["q_norm"], eps)
        k = rms_norm(k, p["k_norm"], eps)
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


# ----------------------------------------------------------------------------------------------------------
# Self-checks
# ----------------------------------------------------------------------------------------------------------

def check_rope_common(cfg, apply_rope, first, second):
    """Layout-independent RoPE checks on a random input: inv_freq, position 0 unchanged, pass-through dims untouched,
    every rotated pair (dims first[j], second[j] of the head; index expressions, e.g. slices) keeps its norm, and the
    relative-position property <R(p)q, R(s)k> depends only on p - s. Returns (x, positions, apply_rope(x)) for the
    layout-specific checks of the caller."""
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
    # each rotated pair keeps its norm
    px = x[..., first] ** 2 + x[..., second] ** 2
    py = y[..., first] ** 2 + y[..., second] ** 2
    assert np.allclose(px, py, rtol=1e-13, atol=1e-13)
    # relative-position property: <R(p)q, R(s)k> depends only on p - s
    q = rng.standard_normal((1, 1, hd))
    k = rng.standard_normal((1, 1, hd))
    d1 = apply_rope(q, np.array([7]), cfg)[0, 0] @ apply_rope(k, np.array([3]), cfg)[0, 0]
    d2 = apply_rope(q, np.array([14]), cfg)[0, 0] @ apply_rope(k, np.array([10]), cfg)[0, 0]
    assert abs(d1 - d2) < 1e-12
    return x, pos, y


def check_causality(W, cfg, forward):
    rng = np.random.default_rng(2)
    ids = rng.integers(MIN_TOKEN_ID, cfg["vocab_size"], size=9)
    a = forward(ids, W, cfg)
    b = forward(ids[:5], W, cfg)
    assert a.shape == (9, cfg["vocab_size"]) and b.shape == (5, cfg["vocab_size"])
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


def draw_prompt(idx, draw, n, cfg):
    """The draw-th candidate prompt of case idx: n token ids in [MIN_TOKEN_ID, vocab_size). Returns (seed, ids)."""
    seed = PROMPT_BASE_SEEDS[idx] + draw
    return seed, np.random.default_rng(seed).integers(MIN_TOKEN_ID, cfg["vocab_size"], size=n)


def greedy(ids, W, cfg, forward):
    seq = list(int(t) for t in ids)
    toks, margins = [], []
    for _ in range(N_GREEDY):
        last = forward(seq, W, cfg)[-1]       # full recompute, no KV cache
        t = int(np.argmax(last))
        toks.append(t)
        margins.append(top2_margin(last))
        seq.append(t)
    return toks, margins


def case_record(idx, ids, seed, draws, logits, toks, margins, cfg, stats=None, extra=None):
    """The cases.json entry of case idx (prompt ids drawn with seed, after `draws` draws; its logits [n, vocab]; the
    greedy continuation toks with its step margins). stats go right after min_top1_top2_margin, extra at the end."""
    n = len(ids)
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
        "prompt_draws": draws,
        "logits_file": "logits_p%d.f32" % idx,
        "logits_shape": [n, cfg["vocab_size"]],
        "logits_std": float(np.std(logits)),
        "min_top1_top2_margin": float(min(top2_margin(r) for r in logits)),
    }
    case.update(stats or {})
    case.update({
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
    })
    case.update(extra or {})
    return case


def case_line(c, middle=""):
    """One summary line of a case for stdout; middle goes between the margins and the nll."""
    return ("%s: n=%d seed=%d draws=%d logits_std=%.4f min_greedy_margin=%.4f min_prompt_margin=%.4f " % (
        c["name"], c["n_tokens"], c["prompt_seed"], c["prompt_draws"], c["logits_std"],
        min(c["greedy"]["step_top1_top2_margin"]), c["min_top1_top2_margin"])
        + middle + "nll=%.4f ppl=%.2f greedy=%s" % (
            c["prompt_nll"]["mean"], c["prompt_nll"]["perplexity"], c["greedy"]["new_tokens"]))


# ----------------------------------------------------------------------------------------------------------
# Command line and output files
# ----------------------------------------------------------------------------------------------------------

def parse_args_and_config(doc, architecture):
    """Command line `<fixture-dir> --weights <model.safetensors>` -> (args, fixture dir, config of that dir), after
    checking config.json names the given architecture."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("fixture_dir", help="directory with config.json; reference/ is written into it")
    ap.add_argument("--weights", required=True, help="model.safetensors written by FixtureWeights.java")
    args = ap.parse_args()
    out = args.fixture_dir
    with open(os.path.join(out, "config.json")) as f:
        cfg = json.load(f)
    assert cfg["architectures"] == [architecture], cfg["architectures"]
    return args, out, cfg


def make_and_write_cases(out, make_case, W, cfg):
    """Case idx for every prompt length (make_case(idx, n, W, cfg) -> (case, logits)); writes each case's logits to
    <out>/reference/logits_pN.f32 (float32 little-endian, row-major). Returns the cases."""
    os.makedirs(os.path.join(out, "reference"), exist_ok=True)
    cases = []
    for idx, n in enumerate(PROMPT_LENGTHS):
        case, logits = make_case(idx, n, W, cfg)
        logits.astype("<f4").tofile(os.path.join(out, "reference", case["logits_file"]))
        back = np.fromfile(os.path.join(out, "reference", case["logits_file"]), dtype="<f4")
        assert back.size == n * cfg["vocab_size"]
        cases.append(case)
    return cases


def reference_info(implementation, **specific):
    """The "reference" entry of cases.json: implementation, the parts common to both scripts, then `specific`."""
    info = {
        "implementation": implementation,
        "precision": "float64",
        "logits_files": "float32 little-endian, row-major [n_tokens, vocab_size]",
        "greedy": "argmax over the full recomputed sequence (no KV cache), 16 steps, no EOS stop",
    }
    info.update(specific)
    return info


def weights_info(sha, dtypes, **specific):
    """The "weights" entry of cases.json."""
    info = {
        "file": "written by model/src/test/java/org/redhare/model/FixtureWeights.java at test time",
        "sha256": sha,
        "dtypes": dtypes,
    }
    info.update(specific)
    return info


def write_cases_json(out, doc):
    with open(os.path.join(out, "reference", "cases.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def biased_attention_shapes(pre, H, nh, nkv, hd):
    """The q/k/v projections with biases and the output projection without (GLM-4, GLM-4.5, Qwen2-MoE): name -> shape."""
    return {
        pre + "self_attn.q_proj.weight": [nh * hd, H],
        pre + "self_attn.q_proj.bias": [nh * hd],
        pre + "self_attn.k_proj.weight": [nkv * hd, H],
        pre + "self_attn.k_proj.bias": [nkv * hd],
        pre + "self_attn.v_proj.weight": [nkv * hd, H],
        pre + "self_attn.v_proj.bias": [nkv * hd],
        pre + "self_attn.o_proj.weight": [H, nh * hd],
    }


def biased_attention_params(f, pre):
    """Those tensors from the file f, under the names the layer functions read."""
    return {
        "q_w": f[pre + "self_attn.q_proj.weight"], "q_b": f[pre + "self_attn.q_proj.bias"],
        "k_w": f[pre + "self_attn.k_proj.weight"], "k_b": f[pre + "self_attn.k_proj.bias"],
        "v_w": f[pre + "self_attn.v_proj.weight"], "v_b": f[pre + "self_attn.v_proj.bias"],
        "o_w": f[pre + "self_attn.o_proj.weight"],
    }


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def swiglu(h, m):
    """m: dict with gate [I, H], up [I, H], down [H, I]: down(silu(gate h) * up h)."""
    return (silu(h @ m["gate"].T) * (h @ m["up"].T)) @ m["down"].T


def rope_half(x, positions, cfg):
    """x: [n_heads, n_tokens, head_dim]. Half-split (gpt-neox, rotate_half) layout on the first rotary_dim dims
    (rope_inv_freq): dim i and dim i + rotary_dim/2 form a pair rotated by positions * inv_freq[i]; the remaining head
    dims pass through (GLM-4.5's partial RoPE; Qwen2-MoE rotates the whole head)."""
    rotary_dim, inv_freq = rope_inv_freq(cfg)
    half = rotary_dim // 2
    ang = np.asarray(positions, dtype=np.float64)[:, None] * inv_freq[None, :]   # [n_tokens, half]
    c = np.cos(ang)[None, :, :]
    s = np.sin(ang)[None, :, :]
    out = x.copy()
    lo = x[..., 0:half]
    hi = x[..., half:rotary_dim]
    out[..., 0:half] = lo * c - hi * s
    out[..., half:rotary_dim] = hi * c + lo * s
    return out


def routed_experts(h, chosen, w, experts):
    """sum_k w[t, k] * experts[chosen[t, k]](h[t]) for every token t, each expert a SwiGLU dict, run on its tokens at once."""
    out = np.zeros_like(h)
    for e in range(len(experts)):
        tok, slot = np.nonzero(chosen == e)
        if tok.size == 0:
            continue
        y = swiglu(h[tok], experts[e]) * w[tok, slot][:, None]
        np.add.at(out, tok, y)
    return out


def swiglu_shapes(prefix, inter, H):
    """A SwiGLU MLP's three matrices at prefix ("...mlp.", "...mlp.experts.3.", ...): name -> shape."""
    return {prefix + "gate_proj.weight": [inter, H], prefix + "up_proj.weight": [inter, H], prefix + "down_proj.weight": [H, inter]}


def swiglu_params(f, prefix):
    """Those three matrices from the file f, as swiglu reads them."""
    return {"gate": f[prefix + "gate_proj.weight"], "up": f[prefix + "up_proj.weight"], "down": f[prefix + "down_proj.weight"]}
