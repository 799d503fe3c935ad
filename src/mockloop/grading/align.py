"""A learned matcher: does this answer span state this key point? Read off token alignments.

Sentence embeddings say whether two texts are about the same thing; whether a span *states* a
point ("terminal 1 is not connected to the battery" vs "terminal 1 is connected") shows in which
words line up with which. This is a small decomposable-attention model (Parikh et al., 2016) on
the bundled encoder's token embeddings, which stay frozen:

1. project every token embedding to H dimensions (`project`, cached per text);
2. align: each point token attends over the span's tokens, and each span token over the point's;
3. compare each token with what it aligned to ([a, b, a*b, a-b] → ReLU layer);
4. pool (mean and max, both directions) → one logit.

About 41k numbers, shipped as `align.npz`, fitted on the SemEval-2013 Beetle *train* split by
`mockloop eval grading --fit-match-model` (evals/README.md). Its probability is one feature of
scoring.MatchFeatures; inference is numpy, training needs torch.

>>> m = AlignModel.random(seed=0, dim=4, hidden=3)
>>> p = m.project(np.eye(4, dtype=np.float32)[:2])
>>> p.shape
(2, 3)
>>> bool(0.0 < m.probability(p, [p, p[:1]])[0] < 1.0)
True

Leaves out: which spans are compared with which points (offline.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).with_name("align.npz")
SCALE = 8.0  # attention logits are divided by this (≈ √H for H = 64)
HIDDEN = 64


@dataclass(frozen=True)
class AlignModel:
    proj_w: np.ndarray  # D × H
    proj_b: np.ndarray  # H
    cmp_w: np.ndarray  # 4H × H
    cmp_b: np.ndarray  # H
    out_w: np.ndarray  # 4H
    out_b: float

    @classmethod
    def random(cls, seed: int = 0, dim: int = 384, hidden: int = HIDDEN) -> AlignModel:
        rng = np.random.default_rng(seed)
        f = np.float32
        return cls(
            rng.normal(0, 0.1, (dim, hidden)).astype(f),
            np.zeros(hidden, f),
            rng.normal(0, 0.1, (4 * hidden, hidden)).astype(f),
            np.zeros(hidden, f),
            rng.normal(0, 0.1, 4 * hidden).astype(f),
            0.0,
        )

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> AlignModel:
        with np.load(path) as z:
            return cls(*(z[k].astype(np.float32) for k in _KEYS[:-1]), float(z["out_b"]))

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **{k: np.asarray(getattr(self, k)) for k in _KEYS})

    def project(self, tokens: np.ndarray) -> np.ndarray:
        """Token embeddings (n × D) → the model's token space (n × H)."""
        return (tokens @ self.proj_w + self.proj_b).astype(np.float32)

    def _compare(self, a: np.ndarray, b: np.ndarray, b_mask: np.ndarray) -> np.ndarray:
        """For each row of a (K × n × H), compare it with its soft alignment in b (K × m × H)."""
        e = a @ b.transpose(0, 2, 1) / SCALE
        e = np.where(b_mask[:, None, :], e, -1e4)
        e = np.exp(e - e.max(-1, keepdims=True))
        beta = (e / e.sum(-1, keepdims=True)) @ b
        feats = np.concatenate([a, beta, a * beta, a - beta], -1)
        return np.maximum(feats @ self.cmp_w + self.cmp_b, 0.0)

    def logits(self, point: np.ndarray, spans: list[np.ndarray]) -> np.ndarray:
        """One logit per span: how far it states the point (all inputs already projected)."""
        if not spans or len(point) == 0:
            return np.full(len(spans), -10.0, np.float32)
        k = len(spans)
        b, b_mask = pad(spans, point.shape[1])
        a = np.broadcast_to(point, (k, *point.shape))
        a_mask = np.ones((k, len(point)), bool)
        vp = self._compare(a, b, b_mask)  # point tokens against the span
        vs = self._compare(b, a, a_mask)  # span tokens against the point
        pooled = [vp.mean(1), vp.max(1), _masked_mean(vs, b_mask), _masked_max(vs, b_mask)]
        out = np.concatenate(pooled, -1) @ self.out_w + self.out_b
        return np.where(b_mask.any(1), out, -10.0).astype(np.float32)

    def probability(self, point: np.ndarray, spans: list[np.ndarray]) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(point, spans)))


_KEYS = ("proj_w", "proj_b", "cmp_w", "cmp_b", "out_w", "out_b")


def _masked_mean(v: np.ndarray, mask: np.ndarray) -> np.ndarray:
    w = mask[..., None].astype(np.float32)
    return (v * w).sum(1) / np.maximum(w.sum(1), 1.0)


def _masked_max(v: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask[..., None], v, -1e4).max(1)


@lru_cache(maxsize=1)
def shipped() -> AlignModel:
    """The fitted model that ships with the grader."""
    return AlignModel.load()


def torch_net(dim: int, hidden: int = HIDDEN):
    """The same model in torch, for fitting: forward(p, p_mask, s, s_mask) → logits."""
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(dim, hidden)
            self.cmp = nn.Linear(4 * hidden, hidden)
            self.drop = nn.Dropout(0.2)
            self.out = nn.Linear(4 * hidden, 1)

        def compare(self, a, b, b_mask):
            e = (a @ b.transpose(1, 2) / SCALE).masked_fill(~b_mask[:, None, :], -1e4)
            beta = torch.softmax(e, -1) @ b
            return self.drop(torch.relu(self.cmp(torch.cat([a, beta, a * beta, a - beta], -1))))

        def forward(self, p, p_mask, s, s_mask):
            a, b = self.proj(p), self.proj(s)
            vp, vs = self.compare(a, b, s_mask), self.compare(b, a, p_mask)

            def pool(v, m):
                w = m[..., None].float()
                mean = (v * w).sum(1) / w.sum(1).clamp(min=1)
                return mean, v.masked_fill(~m[..., None], -1e4).max(1).values

            return self.out(torch.cat([*pool(vp, p_mask), *pool(vs, s_mask)], -1)).squeeze(-1)

    return Net()


def from_torch(net) -> AlignModel:
    def arr(t):
        return t.detach().numpy().astype(np.float32)

    return AlignModel(
        arr(net.proj.weight.T),
        arr(net.proj.bias),
        arr(net.cmp.weight.T),
        arr(net.cmp.bias),
        arr(net.out.weight[0]),
        float(net.out.bias.item()),
    )


def pad(arrays: list[np.ndarray], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack (n_i, dim) arrays into (k, max n, dim) zeros-padded, with the mask of real rows."""
    n = max(1, max(len(x) for x in arrays))
    out = np.zeros((len(arrays), n, dim), np.float32)
    mask = np.zeros((len(arrays), n), bool)
    for i, x in enumerate(arrays):
        out[i, : len(x)] = x
        mask[i, : len(x)] = True
    return out, mask


def fit(
    points: list[np.ndarray],
    spans: list[np.ndarray],
    labels: list[bool],
    *,
    epochs: int = 8,
    hidden: int = HIDDEN,
    seed: int = 0,
) -> AlignModel:
    """Fit on (point tokens, span tokens, states-the-point?) triples of raw token embeddings.

    AdamW (lr 1e-3, weight decay 1e-2), batches of 32, dropout 0.2 after the compare layer;
    about a minute for 4k pairs on two CPU cores. Deterministic for a given seed.
    """
    import torch
    from torch import nn

    torch.manual_seed(seed)
    dim = points[0].shape[1]
    net = torch_net(dim, hidden)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2)
    loss_fn = nn.BCEWithLogitsLoss()
    y = np.asarray(labels, np.float32)
    rng = np.random.default_rng(seed)
    net.train()
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(order), 32):
            idx = order[start : start + 32]
            p, pm = pad([points[i] for i in idx], dim)
            s, sm = pad([spans[i] for i in idx], dim)
            tensors = [torch.from_numpy(t) for t in (p, pm, s, sm)]
            loss = loss_fn(net(*tensors), torch.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return from_torch(net)
