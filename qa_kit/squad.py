"""SQuAD v1.1 question sets read into a flat list of `Example`s (question, context, gold answers)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Union

from .errors import InputError


@dataclass(frozen=True)
class Example:
    """One question about one context, with its gold answers (texts and character offsets)."""

    id: str
    question: str
    context: str
    answers: List[str]
    answer_starts: List[int] = field(default_factory=list)
    title: str = ""



def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise InputError(f"No dataset file at {path}; give the path of a SQuAD v1.1 JSON file.")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); "
                         "give a SQuAD v1.1 JSON file.") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text; give a SQuAD v1.1 JSON file saved as UTF-8.") from None


def _bad_format(where: str, what: str) -> InputError:
    return InputError(f"{where} is not in SQuAD v1.1 format ({what}); expected "
                      '{"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question", "answers"}]}]}]}.')


def load_squad(path_or_dict: Union[str, "os.PathLike[str]", Dict[str, Any]]) -> List[Example]:
    """Read a SQuAD v1.1 file (or its parsed dict) into a flat list of Examples, in file order."""
    if isinstance(path_or_dict, dict):
        doc, where = path_or_dict, "The dataset"
    elif isinstance(path_or_dict, (str, os.PathLike)):
        path = Path(path_or_dict)
        doc, where = _read_json(path), str(path)
    else:
        raise InputError(f"Cannot read a dataset from a {type(path_or_dict).__name__}; "
                         "give a file path or a SQuAD dict.")
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise _bad_format(where, 'no "data" list at the top')
    examples: List[Example] = []
    for a, article in enumerate(doc["data"]):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise _bad_format(where, f'article {a} has no "paragraphs" list')
        title = str(article.get("title", ""))
        for p, para in enumerate(article["paragraphs"]):
            if not isinstance(para, dict) or not isinstance(para.get("context"), str):
                raise _bad_format(where, f'article {a} paragraph {p} has no "context" text')
            for q, qa in enumerate(para.get("qas", [])):
                if not isinstance(qa, dict) or not isinstance(qa.get("question"), str):
                    raise _bad_format(where, f'article {a} paragraph {p} question {q} has no "question" text')
                golds = qa.get("answers", [])
                if not isinstance(golds, list) or not all(isinstance(g, dict) and "text" in g for g in golds):
                    raise _bad_format(where, f'question {qa.get("id", q)!r} has answers without "text"')
                examples.append(Example(
                    id=str(qa.get("id", f"{a}-{p}-{q}")),
                    question=qa["question"],
                    context=para["context"],
                    answers=[str(g["text"]) for g in golds],
                    answer_starts=[int(g.get("answer_start", -1)) for g in golds],
                    title=title,
                ))
    return examples


__all__ = ["Example", "load_squad"]
