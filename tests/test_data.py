"""The sample texts and their SQuAD question sets agree with each other, character for character."""
from __future__ import annotations

import csv
import functools
import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
TEXTS = sorted((DATA / "texts").glob("*.txt"))
QUESTION_FILES = sorted((DATA / "questions").glob("*.json"))


def _read_text(path: Path) -> str:
    # newline="" keeps the file's exact characters, so offsets match what is on disk
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read()


def _load(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _qas(doc: dict) -> list:
    return [qa for article in doc["data"] for para in article["paragraphs"] for qa in para["qas"]]


def test_every_text_has_a_question_set_and_back():
    assert {p.stem for p in TEXTS} == {p.stem for p in QUESTION_FILES}
    assert "bank_run" in {p.stem for p in TEXTS}
    assert len(TEXTS) >= 4


@pytest.mark.parametrize("path", QUESTION_FILES, ids=lambda p: p.stem)
def test_question_file_is_squad_v11_over_its_text(path: Path):
    doc = _load(path)
    assert doc["version"] == "1.1"
    assert len(doc["data"]) == 1
    article = doc["data"][0]
    assert isinstance(article["title"], str) and article["title"]
    assert len(article["paragraphs"]) == 1
    context = article["paragraphs"][0]["context"]
    assert context == _read_text(DATA / "texts" / f"{path.stem}.txt")
    # the title is the text's first line
    assert context.splitlines()[0] == article["title"]


@pytest.mark.parametrize("path", QUESTION_FILES, ids=lambda p: p.stem)
def test_every_gold_answer_sits_at_its_offset(path: Path):
    doc = _load(path)
    context = doc["data"][0]["paragraphs"][0]["context"]
    for qa in _qas(doc):
        assert qa["question"].strip().endswith("?"), qa["id"]
        assert 1 <= len(qa["answers"]) <= 3, qa["id"]
        for gold in qa["answers"]:
            text, start = gold["text"], gold["answer_start"]
            assert isinstance(start, int) and start >= 0
            assert context[start:start + len(text)] == text, (qa["id"], text, start)
            assert 1 <= len(text.split()) <= 6, (qa["id"], text)
            assert text == text.strip(), (qa["id"], text)


@pytest.mark.parametrize("path", QUESTION_FILES, ids=lambda p: p.stem)
def test_ids_are_unique_and_named_after_the_text(path: Path):
    ids = [qa["id"] for qa in _qas(_load(path))]
    assert len(ids) == len(set(ids))
    assert all(i.startswith(path.stem + "-") for i in ids)


def test_ids_are_unique_across_all_sets():
    ids = [qa["id"] for p in QUESTION_FILES for qa in _qas(_load(p))]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", QUESTION_FILES, ids=lambda p: p.stem)
def test_question_counts(path: Path):
    n = len(_qas(_load(path)))
    if path.stem == "bank_run":
        assert 12 <= n <= 20
    else:
        assert 8 <= n <= 12


def test_bank_run_is_one_long_article():
    text = _read_text(DATA / "texts" / "bank_run.txt")
    assert 15_000 <= len(text) <= 25_000
    assert text.count("\n\n") >= 20  # paragraphs separated by blank lines


@pytest.mark.parametrize("path", [p for p in TEXTS if p.stem != "bank_run"], ids=lambda p: p.stem)
def test_short_texts_are_short(path: Path):
    assert 1_500 <= len(_read_text(path)) <= 4_000


def test_some_text_goes_beyond_ascii():
    # the kit must cope with accents and CJK; one sample text carries both, with golds on them
    texts = [_read_text(p) for p in TEXTS]
    assert any("é" in t and "港" in t for t in texts)
    golds = [a["text"] for p in QUESTION_FILES for qa in _qas(_load(p)) for a in qa["answers"]]
    assert any("港" in g for g in golds)
    assert any(not g.isascii() and " " in g for g in golds)  # an accented full name, e.g. Amélie Duroc


# ---- the held-out real-prose set (data/eval) --------------------------------------------------

REAL_PROSE = DATA / "eval" / "real_prose.json"


def test_the_real_prose_set_is_squad_with_every_gold_at_its_offset():
    doc = _load(REAL_PROSE)
    assert doc["version"] == "1.1"
    qas = []
    for article in doc["data"]:
        key, source = article["title"].split(": ", 1)
        assert source and ("Python standard library" in source or "package description" in source), article["title"]
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                assert qa["id"].startswith(key + "-") and qa["question"].strip().endswith("?")
                for gold in qa["answers"]:
                    start, text = gold["answer_start"], gold["text"]
                    assert context[start:start + len(text)] == text, (qa["id"], text)
                qas.append(qa)
    assert len(qas) >= 40
    assert len({qa["id"] for qa in qas}) == len(qas)


def test_no_training_script_reads_the_held_out_set():
    scripts = (DATA.parent / "scripts").glob("train_*.py")
    for script in scripts:
        text = script.read_text(encoding="utf-8")
        assert "data/eval" not in text and "real_prose" not in text, script.name


def test_the_real_prose_generator_reads_no_python_documentation():
    doc_qa = _script("make_doc_qa")
    for path in ("man1/python3.11.1.gz", "man1/pydoc3.1.gz", "man1/pip.1.gz", "doc/python3-tqdm/README",
                 "lib/python3/dist-packages/jinja2/README.rst", "doc/libsqlite3-0/README", "doc/pandas"):
        assert doc_qa.HELD_OUT.search(path), path
    for path in ("man1/cp.1.gz", "info/coreutils.info.gz", "doc/gnupg/README", "man7/regex.7.gz"):
        assert not doc_qa.HELD_OUT.search(path), path
    text = (DATA.parent / "scripts" / "make_doc_qa.py").read_text(encoding="utf-8")
    assert "data/eval" not in text and "real_prose" not in text


@pytest.mark.parametrize("sentence, question, answer", [
    ("The Free Software Foundation (FSF) publishes the GNU licenses.", "What does FSF stand for?",
     "Free Software Foundation"),
    ("Nettle is a cryptographic library that is designed to fit easily in many contexts; it is small.",
     "What is Nettle?", "a cryptographic library that is designed to fit easily in many contexts"),
    ("The rsync utility copies files between hosts, which saves time.", "What does the rsync utility copy?",
     "files between hosts"),
    ("The -v option prints the version number.", "Which option prints the version number?", "-v"),
    ("Texinfo is also known as the GNU documentation format.", "What is Texinfo also known as?",
     "the GNU documentation format"),
    ("The manual was written by Richard Stallman and Roland McGrath.", "Who wrote the manual?",
     "Richard Stallman and Roland McGrath"),
    ("The cache is stored in the home directory of the user.", "Where is the cache stored?",
     "the home directory of the user"),
    ("The default block size is 512 bytes.", "What is the default block size?", "512 bytes"),
    ("Bzip2 is a freely available compressor.", "What kind of compressor is Bzip2?", "freely available"),
])
def test_the_real_prose_rules_ask_and_answer_from_the_sentence(sentence: str, question: str, answer: str):
    found = {q: a for q, a, _start, _rule in _script("make_doc_qa").questions(sentence)}
    assert found.get(question) == answer, found


def test_the_real_prose_rules_skip_pronoun_subjects_and_keep_offsets():
    doc_qa = _script("make_doc_qa")
    assert doc_qa.questions("It is a program that copies files. This creates a backup of the file.") == []
    paragraph = "Some opening words here. The gzip program reduces the size of the named files. Done."
    for question, answer, start, _rule in doc_qa.questions(paragraph):
        assert paragraph[start:start + len(answer)] == answer, question


def test_the_demo_models_training_sources_are_recorded_and_none_is_held_out():
    path = DATA / "models" / "demo-minilm" / "training_sources.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    held_out = _script("make_doc_qa").HELD_OUT
    kinds = {"doc:html", "doc:text", "info", "man:man1", "man:man3", "man:man5", "man:man7", "man:man8"}
    for row in rows:
        assert row["source"] in kinds and row["title"] and int(row["examples"]) > 0, row
        assert not held_out.search(row["title"]), row
    assert len({(r["source"], r["title"]) for r in rows}) == len(rows) == 2381
    assert sum(int(r["examples"]) for r in rows) == 7155  # the counts the model card gives


def test_write_sources_counts_examples_per_document(tmp_path: Path):
    examples = [{"source": "man:man1", "title": "cp"}, {"source": "info", "title": "sed"},
                {"source": "man:man1", "title": "cp"}]
    out = tmp_path / "sources.csv"
    _script("make_doc_qa").write_sources(examples, out)
    with open(out, encoding="utf-8", newline="") as fh:
        assert list(csv.reader(fh)) == [["source", "title", "examples"], ["info", "sed", "1"], ["man:man1", "cp", "2"]]
    assert [p.name for p in tmp_path.iterdir()] == ["sources.csv"]


@functools.lru_cache(maxsize=None)
def _script(name: str):
    """A script of scripts/ as a module, loaded once for all the tests that use it."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, DATA.parent / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
