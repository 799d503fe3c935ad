"""A learned matcher: does this answer span state this key point? Read off token alignments.

Sentence embeddings say whether two texts are about the same thing; whether a span *states* a
point ("terminal 1 is not connected to the battery" vs "terminal 1 is connected") shows in which
words line up with which. This is a small decomposable-attention model (Parikh et al., 2016) on
the bundled encoder's token embeddings, which stay frozen:

1. project every token embedding to H dimensions (`project`, cached per text);
2. align: each point token attends over the span's tokens, and each span token over the point's;
3. compare each token with what it aligned to ([a, b, a*b, a-b] → ReLU layer);
4. pool (mean and max, both directions) → one logit.

About 41k numbers per model. Three models, fitted alike but for the seed, ship stacked in
`align.npz` and their probabilities are averaged: one seed's model on a small training set
learns some arbitrary things, and the mean of three steadies them. Fitted on the SemEval-2013
Beetle *train* split and the bank's own pairs by `mockloop eval grading --fit-match-model`
(evals/README.md). The probability is one feature of scoring.MatchFeatures; inference is numpy,
training needs torch.

>>> m = AlignModel.random(seed=0, dim=4, hidden=3, members=2)
>>> p = m.project(np.eye(4, dtype=np.float32)[:2])
>>> p.shape                                     # each member's 3 dimensions, side by side
(2, 6)
>>> m.logits(p, [p, p[:1]]).shape               # members × spans
(2, 2)
>>> bool(0.0 < m.probability(p, [p, p[:1]])[0] < 1.0)
True

Leaves out: which spans are compared with which points (offline.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).with_name("align.npz")
SCALE = 8.0  # attention logits are divided by this (≈ √H for H = 64)
HIDDEN = 64
MEMBERS = 3  # models in the shipped ensemble


@dataclass(frozen=True)
class AlignModel:
    """M models stacked on a leading axis (M = 1 for a single fit)."""

    proj_w: np.ndarray  # M × D × H
    proj_b: np.ndarray  # M × H
    cmp_w: np.ndarray  # M × 4H × H
    cmp_b: np.ndarray  # M × H
    out_w: np.ndarray  # M × 4H
    out_b: np.ndarray  # M

    @classmethod
    def random(
        cls, seed: int = 0, dim: int = 384, hidden: int = HIDDEN, members: int = 1
    ) -> AlignModel:
        rng = np.random.default_rng(seed)
        f, m = np.float32, members
        return cls(
            rng.normal(0, 0.1, (m, dim, hidden)).astype(f),
            np.zeros((m, hidden), f),
            rng.normal(0, 0.1, (m, 4 * hidden, hidden)).astype(f),
            np.zeros((m, hidden), f),
            rng.normal(0, 0.1, (m, 4 * hidden)).astype(f),
            np.zeros(m, f),
        )

    @classmethod
    def stack(cls, models: list[AlignModel]) -> AlignModel:
        """One model whose members are those of all the given ones."""
        return cls(*(np.concatenate([getattr(m, k) for m in models]) for k in _KEYS))

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> AlignModel:
        with np.load(path) as z:
            arrays = {k: np.asarray(z[k], np.float32) for k in _KEYS}
        if arrays["proj_w"].ndim == 2:  # a file from before models were stacked
            arrays = {k: v[None] for k, v in arrays.items()}
        return cls(*(arrays[k] for k in _KEYS))

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **{k: np.asarray(getattr(self, k)) for k in _KEYS})

    @property
    def members(self) -> int:
        return self.proj_w.shape[0]

    @cached_property
    def _parts(self) -> list[tuple[np.ndarray, ...]]:
        """Per member, cmp_w split so that [a, β, a·β, a−β] @ cmp_w = a @ (W1 + W4) +
        β @ (W2 − W4) + a·β @ W3: three products instead of four, and the point's a @ (W1 + W4)
        is computed once for all spans."""
        parts = []
        for w in self.cmp_w:
            w1, w2, w3, w4 = np.split(w, 4)
            parts.append((w1 + w4, w2 - w4, w3))
        return parts

    @cached_property
    def _projection(self) -> tuple[np.ndarray, np.ndarray]:
        """The members' projections side by side: (D × M·H, M·H)."""
        m, d, h = self.proj_w.shape
        return self.proj_w.transpose(1, 0, 2).reshape(d, m * h), self.proj_b.reshape(m * h)

    def project(self, tokens: np.ndarray) -> np.ndarray:
        """Token embeddings (n × D) → the members' token spaces side by side (n × M·H)."""
        w, b = self._projection
        return (tokens @ w + b).astype(np.float32)

    def _compare(self, i: int, a: np.ndarray, b: np.ndarray, b_mask: np.ndarray | None = None):
        """Member i compares each token of a with its soft alignment in b; a ([K ×] n × H) and
        b ([K ×] m × H), padded rows of b masked out."""
        e = a @ np.swapaxes(b, -1, -2) / SCALE
        if b_mask is not None:
            e = np.where(b_mask[:, None, :], e, -1e4)
        e = np.exp(e - e.max(-1, keepdims=True))
        beta = (e / e.sum(-1, keepdims=True)) @ b
        w_a, w_beta, w_prod = self._parts[i]
        pre = _dense(a, w_a) + _dense(beta, w_beta) + _dense(a * beta, w_prod)
        return np.maximum(pre + self.cmp_b[i], 0.0)

    def logits(self, point: np.ndarray, spans: list[np.ndarray]) -> np.ndarray:
        """Members × spans logits: how far each span states the point (inputs from `project`).

        Span tokens attend only over the point, so that side runs on all spans' tokens packed
        end to end (no padding) and is pooled per span; the point's side pads the spans.
        """
        m, h = self.members, self.proj_w.shape[2]
        out = np.full((m, len(spans)), -10.0, np.float32)
        real = [j for j, x in enumerate(spans) if len(x)]
        if not real or len(point) == 0:
            return out
        padded, mask = pad([spans[j] for j in real], point.shape[1])
        packed = np.concatenate([spans[j] for j in real])
        lengths = np.asarray([len(spans[j]) for j in real])
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        for i in range(m):
            part = slice(i * h, (i + 1) * h)
            a = point[:, part]
            vp = self._compare(i, a, padded[..., part], mask)  # point tokens against each span
            vs = self._compare(i, packed[:, part], a)  # every span token against the point
            pooled = [
                vp.mean(1),
                vp.max(1),
                np.add.reduceat(vs, starts) / lengths[:, None],
                np.maximum.reduceat(vs, starts),
            ]
            out[i, real] = np.concatenate(pooled, -1) @ self.out_w[i] + self.out_b[i]
        return out

    def probability(self, point: np.ndarray, spans: list[np.ndarray]) -> np.ndarray:
        """Per span, the members' mean probability that it states the point."""
        return (1.0 / (1.0 + np.exp(-self.logits(point, spans)))).mean(0)


_KEYS = ("proj_w", "proj_b", "cmp_w", "cmp_b", "out_w", "out_b")


def _dense(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x @ w over the last axis as one 2-D product (numpy's stacked 3-D matmul is slower)."""
    return (x.reshape(-1, x.shape[-1]) @ w).reshape(*x.shape[:-1], w.shape[1])


@lru_cache(maxsize=1)
def shipped() -> AlignModel:
    """The fitted models that ship with the grader."""
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
        arr(net.proj.weight.T)[None],
        arr(net.proj.bias)[None],
        arr(net.cmp.weight.T)[None],
        arr(net.cmp.bias)[None],
        arr(net.out.weight[0])[None],
        arr(net.out.bias),
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


def fit_ensemble(
    points: list[np.ndarray],
    spans: list[np.ndarray],
    labels: list[bool],
    *,
    members: int = MEMBERS,
    seed: int = 0,
    **kwargs,
) -> AlignModel:
    """`members` models fitted by `fit` with seeds seed, seed + 1, …, stacked."""
    return AlignModel.stack(
        [fit(points, spans, labels, seed=seed + i, **kwargs) for i in range(members)]
    )
