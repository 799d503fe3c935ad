"""The score map's fit: each mode's form, and each source weighing the same."""

import numpy as np

from mockloop.evaluation.grading_fit import MapRow, fit_map, linear_fit


def test_a_big_source_does_not_set_the_line_alone():
    # source a: grade = whole (1,000 rows); source b: grade = whole − 0.2 (10 rows)
    x = np.linspace(0.3, 0.9, 1000)
    xb = np.linspace(0.3, 0.9, 10)
    X = np.r_[x, xb][:, None]
    y = np.r_[x, xb - 0.2]
    bias, slope = linear_fit(X, y, ["a"] * 1000 + ["b"] * 10)
    assert abs(slope - 1.0) < 0.01
    assert abs(bias - (-0.1)) < 0.01  # halfway: b counts as much as a, not 1 % of it


def test_reference_mode_is_fitted_as_a_line_and_the_rubric_modes_as_logistics():
    rng = np.random.default_rng(0)
    rows = []
    for mode in ("reference", "rubric"):
        for _ in range(200):
            whole = rng.uniform(0.5, 1.0)
            cover = rng.uniform(0, 1)
            human = float(np.clip(2 * whole - 1 + 0.2 * cover + rng.normal(0, 0.1), 0, 1))
            rows.append(MapRow(mode, (whole, whole, cover), human, 0, False, False, "saf"))
    fitted = fit_map(rows)
    assert fitted["linear"] == ["reference"]
    bias, w_whole, _, w_cover = fitted["reference"]
    assert abs(w_whole - 2.0) < 0.5 and w_cover >= 0
    assert all(w >= 0 for w in fitted["rubric"][1:])


def _fake_saf(folder, n: int) -> None:
    import csv

    with open(folder / "saf_en_dev.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, ["question_id", "reference", "answer", "score", "split"])
        w.writeheader()
        for i in range(n):
            w.writerow(
                {"question_id": f"q{i % 7}", "reference": f"reference {i % 7}",
                 "answer": f"answer {i}", "score": "0.5", "split": "training"}
            )  # fmt: skip


def test_every_fold_fits_on_the_same_bank_anchors(tmp_path):
    # The anchors (bank references and another question's) must not depend on how many outside
    # rows a fold samples: with a shared random generator, leaving a set out moved the anchors.
    from mockloop.evaluation.grading_fit import score_rows

    def anchors(rows):
        return [(q.id, a) for q, a, _ in rows if not q.id.startswith("saf:")]

    small, big = tmp_path / "small", tmp_path / "big"
    small.mkdir()
    big.mkdir()
    _fake_saf(small, 5)
    _fake_saf(big, 40)
    a = anchors(score_rows(("saf", "bank"), evaldata=small))
    assert len(a) == 120
    assert a == anchors(score_rows(("saf", "bank"), evaldata=big))
