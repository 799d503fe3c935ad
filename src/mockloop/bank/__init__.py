"""The question bank: YAML files per round shipped as package data, loaded into Question models.

A file holds `round:` and `questions:`; a question's `rubric:` is either written out in full
(`version`, `criteria`) or names a shared template from `rubrics.yaml` (`template: star`), with
optional `extra_criteria` appended and `version` overriding the template's.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from mockloop.models import Question, Rubric

DATA = resources.files("mockloop.bank") / "data"
# libyaml's safe loader when available: the pure-Python one dominated the first question's latency
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Bank:
    """All questions, indexed by id and by round."""

    def __init__(self, questions: list[Question]):
        self.questions = questions
        self._by_id = {q.id: q for q in questions}
        if len(self._by_id) != len(questions):
            seen: set[str] = set()
            dupes = sorted({q.id for q in questions if q.id in seen or seen.add(q.id)})
            raise ValueError(f"duplicate question ids in the bank: {dupes}")

    def get(self, question_id: str) -> Question | None:
        return self._by_id.get(question_id)

    def for_round(self, round_name: str) -> list[Question]:
        return [q for q in self.questions if q.round == round_name]

    def __len__(self) -> int:
        return len(self.questions)


def _templates(data_dir: Path) -> dict[str, dict]:
    path = Path(data_dir) / "rubrics.yaml"
    if not path.exists():
        return {}
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}


def _resolve_rubric(raw: dict | None, templates: dict[str, dict], where: str) -> Rubric | None:
    if raw is None:
        return None
    if "template" in raw:
        name = raw["template"]
        if name not in templates:
            raise ValueError(f"{where}: unknown rubric template {name!r}")
        base = templates[name]
        criteria = list(base["criteria"]) + list(raw.get("extra_criteria", []))
        return Rubric(version=str(raw.get("version", base["version"])), criteria=criteria)
    return Rubric(version=str(raw["version"]), criteria=raw["criteria"])


def load_questions(data_dir: Path | None = None) -> list[Question]:
    """Parse every `*.yaml` question file in data_dir (the packaged bank by default)."""
    data_dir = Path(str(data_dir or DATA))
    templates = _templates(data_dir)
    questions: list[Question] = []
    for path in sorted(data_dir.glob("*.yaml")):
        if path.name == "rubrics.yaml":
            continue
        try:
            doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path.name}: not valid YAML: {exc}") from exc
        for i, raw in enumerate(doc.get("questions", [])):
            where = f"{path.name} question {i} ({raw.get('id', '?')})"
            try:
                raw = dict(raw)
                raw.setdefault("round", doc.get("round"))
                raw["rubric"] = _resolve_rubric(raw.get("rubric"), templates, where)
                questions.append(Question.model_validate(raw))
            except Exception as exc:  # name the file and question, keep pydantic's detail
                if str(exc).startswith(where):
                    raise
                raise ValueError(f"{where}: {exc}") from exc
    return questions


@lru_cache(maxsize=1)
def load_bank() -> Bank:
    """The packaged bank, loaded and validated once per process."""
    return Bank(load_questions())
