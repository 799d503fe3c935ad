"""Fitting the grader's matcher: the bundled MiniLM fine-tuned on "does this text state that one?".

Covers: building labelled text pairs from the training sources (SemEval Beetle and SciEntsBank
train splits, the SAF English training split, the question bank's own rubrics), fine-tuning the
encoder's transformer layers on them with the CoSENT ranking loss (word embeddings frozen, so
the shipped file holds only the layers), and writing the weights the grader loads
(`grading/matcher.safetensors`). Leaves out: inference (grading/match.py) and the score map
fitted on top (fit_score_map in evaluation/grading_fit.py).

Nothing here runs at grading time; the grader never imports this module.
"""

from __future__ import annotations

import csv
import math
import random
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

SOURCES = ("beetle", "scientsbank", "saf", "bank", "grading", "paraphrase")
EVALS = Path(__file__).resolve().parents[3] / "evals"
OWN_REPEATS = 4  # our labelled answers are few beside SemEval's thousands: each counts four times
EVALDATA = Path(__file__).resolve().parents[4] / "shared" / "evaldata"
BEETLE_LABELS = {"correct": 1.0, "partially_correct_incomplete": 0.5}


@dataclass(frozen=True)
class Pair:
    """Two texts and how far the second states what the first says (0–1)."""

    a: str
    b: str
    label: float
    source: str
    group: str  # question id: folds and hard negatives never split a question


def _rows(path: Path, split: str) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["split"] == split]


def semeval_pairs(name: str, evaldata: Path = EVALDATA, split: str = "train") -> list[Pair]:
    """(reference, student answer, label) from a SemEval file's split; 2-way or 5-way labels."""
    fname = {"beetle": "beetle_5way.csv", "scientsbank": "scientsbank_2way.csv"}[name]
    out = []
    for r in _rows(evaldata / fname, split):
        if "label_5way" in r:
            label = BEETLE_LABELS.get(r["label_5way"], 0.0)
        else:
            label = 1.0 if r["label_2way"] == "correct" else 0.0
        answer = r["student_answer"].strip()
        if answer:
            out.append(Pair(r["reference_answer"], answer, label, name, r["question_id"]))
    return out


def saf_pairs(evaldata: Path = EVALDATA, split: str = "training") -> list[Pair]:
    """(reference, answer, score 0–1) from the SAF English file."""
    out = []
    for r in _rows(evaldata / "saf_en_dev.csv", split):
        answer = r["answer"].strip()
        if answer and answer.lower() != "no submission.":
            out.append(Pair(r["reference"], answer, float(r["score"]), "saf", r["question_id"]))
    return out


@lru_cache(maxsize=2)
def bank_pairs(seed: int = 0) -> list[Pair]:
    """Pairs from the bank's own rubrics: a key point against sentences that do or don't state it.

    Positive: the sentence of the question's own reference answer nearest to the point (a
    rubric's key points summarise its reference). Negatives: the point's own criterion's red
    flags (they claim the opposite), the nearest sentence in the reference of the most similar
    other question of the round (a near miss, e.g. L1 for an L2 point) and a random one.
    """
    from mockloop.bank import load_bank
    from mockloop.embeddings import encode
    from mockloop.grading.spans import sentences

    rng = random.Random(seed)
    questions = [q for q in load_bank().questions if q.rubric is not None and q.reference_answer]
    sents = {q.id: [s.quote for s in sentences(q.reference_answer)] for q in questions}
    all_texts = sorted({t for q in questions for t in sents[q.id]})
    vec = dict(zip(all_texts, encode(all_texts), strict=True))
    prompts = dict(
        zip([q.id for q in questions], encode([q.prompt for q in questions]), strict=True)
    )
    out: list[Pair] = []
    for q in questions:
        pool = [o for o in questions if o.id != q.id and o.round == q.round and sents[o.id]]
        if not pool or not sents[q.id]:
            continue
        near = max(pool, key=lambda o: float(prompts[o.id] @ prompts[q.id]))
        other = rng.choice([o for o in pool if o is not near])
        points = [(c, p) for c in q.rubric.criteria for p in c.key_points]
        pvecs = encode([p for _, p in points])
        for (criterion, point), pv in zip(points, pvecs, strict=True):

            def nearest(texts: list[str], pv=pv) -> str:
                return max(texts, key=lambda t: float(vec[t] @ pv))

            out.append(Pair(point, nearest(sents[q.id]), 1.0, "bank", q.id))
            out.append(Pair(point, nearest(sents[near.id]), 0.0, "bank", q.id))
            out.append(Pair(point, nearest(sents[other.id]), 0.0, "bank", q.id))
            out += [Pair(point, flag, 0.0, "bank", q.id) for flag in criterion.red_flags]
    return out


def own_pairs(name: str, evals: Path = EVALS) -> list[Pair]:
    """(bank reference answer, labelled answer, label / 5) from one of our eval sets."""
    import json

    from mockloop.bank import load_bank

    bank = load_bank()
    out = []
    with open(evals / f"{name}.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            q = bank.get(row["question_id"])
            if q is not None and q.reference_answer and row["answer"].strip():
                pair = Pair(q.reference_answer, row["answer"], row["label"] / 5, name, q.id)
                out += [pair] * OWN_REPEATS
    return out


def training_pairs(sources: tuple[str, ...] = SOURCES, evaldata: Path = EVALDATA) -> list[Pair]:
    """Every training pair from the named sources (train splits only)."""
    out: list[Pair] = []
    for s in sources:
        if s in ("beetle", "scientsbank"):
            out += semeval_pairs(s, evaldata)
        elif s == "saf":
            out += saf_pairs(evaldata)
        elif s == "bank":
            out += list(bank_pairs())
        elif s in ("grading", "paraphrase"):
            out += own_pairs(s)
        else:
            raise ValueError(f"unknown training source {s!r}; known: {', '.join(SOURCES)}")
    return out


def _batches(pairs: list[Pair], states: dict, size: int, rng: random.Random):
    """Batches of pairs of similar length (little padding), in random order.

    Pairs are sorted by token count with a random jitter, cut into batches, and the batches
    shuffled: the top layers then cost about what the real tokens cost.
    """
    length = [
        max(states[p.a].shape[0], states[p.b].shape[0]) * rng.uniform(0.8, 1.25) for p in pairs
    ]
    order = sorted(range(len(pairs)), key=length.__getitem__)
    batches = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(batches)
    for b in batches:
        yield [pairs[j] for j in b]


def cosent_loss(cos, labels, scale: float = 20.0):
    """CoSENT: for every pair of pairs with label_i > label_j, penalise cos_j ≥ cos_i."""
    import torch

    diff = scale * (cos[None, :] - cos[:, None])  # [i, j] = cos_j - cos_i
    mask = labels[:, None] > labels[None, :]
    diff = diff[mask]
    if diff.numel() == 0:
        return cos.sum() * 0.0
    return torch.logsumexp(torch.cat([torch.zeros(1), diff]), dim=0)


FROZEN = 4  # the bottom four of MiniLM's six layers stay as shipped; the top two are fitted


def bottom_states(texts: list[str], max_len: int = 128, batch_size: int = 64) -> dict[str, object]:
    """Each text's hidden states after the frozen layers (fp16, padding dropped), computed once.

    Fitting the top layers on these costs a third of fitting the whole encoder, and the same
    cache serves every fold of the leave-one-dataset-out table.
    """
    import torch

    model = _base(max_len)
    bert = model[0].auto_model
    out: dict[str, object] = {}
    todo = sorted(set(texts), key=len)
    with torch.no_grad():
        for i in range(0, len(todo), batch_size):
            chunk = todo[i : i + batch_size]
            f = model.tokenize(chunk)
            keep = {
                k: v for k, v in f.items() if k in ("input_ids", "attention_mask", "token_type_ids")
            }
            states = bert(**keep, output_hidden_states=True).hidden_states[FROZEN]
            for text, h, m in zip(chunk, states, f["attention_mask"], strict=True):
                out[text] = h[: int(m.sum())].to(torch.float16).clone()
    return out


def _base(max_len: int = 128):
    from sentence_transformers import SentenceTransformer

    from mockloop.embeddings import model_path

    model = SentenceTransformer(model_path(), device="cpu")
    model.max_seq_length = max_len
    return model


def top_embed(layers, states: list) -> object:
    """Run the fitted top layers over cached states, then MiniLM's mean pooling and normalising."""
    import torch

    n = max(int(s.shape[0]) for s in states)
    h = torch.zeros(len(states), n, states[0].shape[1])
    mask = torch.zeros(len(states), n)
    for i, s in enumerate(states):
        h[i, : s.shape[0]] = s.float()
        mask[i, : s.shape[0]] = 1.0
    ext = (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min
    for layer in layers:
        h = layer(h, attention_mask=ext)
        h = h[0] if isinstance(h, tuple) else h
    pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    return torch.nn.functional.normalize(pooled, dim=-1)


def fine_tune(
    pairs: list[Pair],
    out: Path,
    *,
    states: dict | None = None,
    epochs: int = 1,
    batch_size: int = 32,
    lr: float = 5e-5,
    seed: int = 0,
    log=print,
) -> Path:
    """Fit the encoder's top layers on the pairs (CoSENT loss) and save them to `out`."""
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    rng = random.Random(seed)
    states = states if states is not None else bottom_states([t for p in pairs for t in (p.a, p.b)])
    bert = _base()[0].auto_model
    layers = bert.encoder.layer[FROZEN:]
    layers.train()
    params = [p for p in layers.parameters()]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(len(pairs) / batch_size)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    step, started, running = 0, time.perf_counter(), 0.0
    for _ in range(epochs):
        for batch in _batches(pairs, states, batch_size, rng):
            emb = top_embed(layers, [states[p.a] for p in batch] + [states[p.b] for p in batch])
            cos = (emb[: len(batch)] * emb[len(batch) :]).sum(-1)
            loss = cosent_loss(cos, torch.tensor([p.label for p in batch]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            running = 0.95 * running + 0.05 * loss.item() if step > 1 else loss.item()
            if step % 100 == 0 or step == steps:
                rate = step / (time.perf_counter() - started)
                log(f"step {step}/{steps} loss {running:.3f} ({rate:.2f} steps/s)")
    prefix = "encoder.layer."
    state = {
        f"{prefix}{FROZEN + i}.{n}": p.detach().to(torch.float16).contiguous()
        for i, layer in enumerate(layers)
        for n, p in layer.named_parameters()
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out), metadata={"base": "all-MiniLM-L6-v2", "pairs": str(len(pairs))})
    return out


def label_balance(pairs: list[Pair]) -> dict[str, tuple[int, float]]:
    """Per source: number of pairs and mean label (a quick sanity check printed by the fit)."""
    out = {}
    for s in sorted({p.source for p in pairs}):
        labels = np.array([p.label for p in pairs if p.source == s])
        out[s] = (len(labels), round(float(labels.mean()), 3))
    return out
