"""The align model: numpy inference equals the torch model it was fitted as; padding is inert."""

from __future__ import annotations

import numpy as np
import pytest

from mockloop.grading import align


def _tokens(rng, n, dim=384):
    return rng.normal(0, 1, (n, dim)).astype(np.float32)


def test_numpy_inference_matches_the_torch_model():
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    net = align.torch_net(384).eval()
    model = align.from_torch(net)
    rng = np.random.default_rng(0)
    point, spans = _tokens(rng, 7), [_tokens(rng, 3), _tokens(rng, 11), _tokens(rng, 1)]
    p, pm = align.pad([point] * 3, 384)
    s, sm = align.pad(spans, 384)
    with torch.no_grad():
        expected = net(*(torch.from_numpy(t) for t in (p, pm, s, sm))).numpy()
    got = model.logits(model.project(point), [model.project(x) for x in spans])[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_a_span_scores_the_same_alone_or_padded_beside_longer_ones():
    model = align.shipped()
    rng = np.random.default_rng(2)
    point = model.project(_tokens(rng, 5))
    short, long_ = model.project(_tokens(rng, 2)), model.project(_tokens(rng, 30))
    alone = model.probability(point, [short])[0]
    batched = model.probability(point, [long_, short])[1]
    assert alone == pytest.approx(batched, abs=1e-6)


def test_no_spans_and_empty_spans_get_a_very_low_probability():
    model = align.shipped()
    point = model.project(_tokens(np.random.default_rng(3), 4))
    assert model.probability(point, []).shape == (0,)
    empty = np.zeros((0, point.shape[1]), np.float32)
    assert model.probability(point, [empty])[0] < 1e-4
    span = model.project(_tokens(np.random.default_rng(4), 3))
    mixed = model.probability(point, [span, empty, span])
    assert mixed[1] < 1e-4
    assert mixed[0] == pytest.approx(model.probability(point, [span])[0], abs=1e-6) == mixed[2]


def _member(model, i):
    return align.AlignModel(*(getattr(model, k)[i : i + 1] for k in align._KEYS))


def test_the_shipped_models_probabilities_are_averaged(tmp_path):
    model = align.shipped()
    assert model.members == align.MEMBERS
    rng = np.random.default_rng(5)
    raw_point, raw_spans = _tokens(rng, 6), [_tokens(rng, 4), _tokens(rng, 9)]
    got = model.probability(model.project(raw_point), [model.project(s) for s in raw_spans])
    each = []
    for i in range(model.members):
        m = _member(model, i)
        each.append(m.probability(m.project(raw_point), [m.project(s) for s in raw_spans]))
    np.testing.assert_allclose(got, np.mean(each, axis=0), rtol=1e-5)
    assert not np.allclose(each[0], each[1])  # the seeds did learn different models

    model.save(tmp_path / "three.npz")
    again = align.AlignModel.load(tmp_path / "three.npz")
    np.testing.assert_array_equal(again.project(raw_point), model.project(raw_point))


def test_a_file_of_one_unstacked_model_still_loads(tmp_path):
    single = align.AlignModel.random(seed=0, dim=8, hidden=4)
    np.savez(tmp_path / "old.npz", **{k: getattr(single, k)[0] for k in align._KEYS})
    loaded = align.AlignModel.load(tmp_path / "old.npz")
    assert loaded.members == 1
    rng = np.random.default_rng(6)
    p, s = single.project(_tokens(rng, 3, dim=8)), single.project(_tokens(rng, 5, dim=8))
    np.testing.assert_allclose(loaded.probability(p, [s]), single.probability(p, [s]), rtol=1e-6)


def test_fitting_learns_a_toy_rule():
    """Label: the span repeats the point's first two tokens. A fitted model ranks those higher."""
    pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    points, spans, labels = [], [], []
    for i in range(240):
        p = _tokens(rng, 4, dim=16)
        s = _tokens(rng, 4, dim=16)
        if i % 2:
            s[:2] = p[:2]
        points.append(p)
        spans.append(s)
        labels.append(bool(i % 2))
    model = align.fit(points[:200], spans[:200], labels[:200], epochs=60, hidden=8)
    probs = [
        model.probability(model.project(p), [model.project(s)])[0]
        for p, s in zip(points[200:], spans[200:], strict=True)
    ]
    pos = np.mean([p for p, y in zip(probs, labels[200:], strict=True) if y])
    neg = np.mean([p for p, y in zip(probs, labels[200:], strict=True) if not y])
    assert pos > neg + 0.2
