"""A plain (not editable) install works: the wheel ships the data and notebooks, and the kit finds them.

The wheel is built from a scratch copy of the sources (so the repo gets no build/ folder), installed
with `pip install --target` into a scratch folder, and used from a Python whose working directory
is outside the repo. The editable install's finder stays on sys.meta_path there, after the path
finder, so the PYTHONPATH copy must win: the test checks that it did.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from conftest import REPO

QUESTION, CONTEXT = "Who founded the bank?", "The bank was founded by Anna Novak in Lyon in 1901."
BUILD_FILES = ("pyproject.toml", "README.md", "MANIFEST.in", "setup.py", "setup.cfg", "LICENSE")

# Run by the installed copy, from outside the repo; prints one JSON line.
PROBE = r"""
import json, shutil, sys, tempfile
from pathlib import Path
import qa_kit
from qa_kit import cli, paths, sources, stubs

own = Path(tempfile.mkdtemp()) / "my-model"
shutil.copytree(paths.MODELS_DIR / "tiny-random-bert", own)
default = qa_kit.default_model()
best = qa_kit.load(default).ask(sys.argv[1], sys.argv[2])[0]
print("QA_KIT_PROBE " + json.dumps({
    "kit": qa_kit.__file__, "paths": paths.__file__, "data": str(paths.DATA_DIR), "catalog": str(stubs.CATALOG_PATH),
    "sources_data": str(sources.DATA_DIR), "notebook": str(cli.REPO_ROOT / "notebooks" / "01_ask.ipynb"),
    "notebook_exists": (cli.REPO_ROOT / "notebooks" / "01_ask.ipynb").is_file(),
    "names": list(stubs.catalog()["name"]), "default": default, "answer": best.text,
    "own_kind": sources.source_kind(str(own)),
    "own_answers": len(qa_kit.load(str(own), sequence_length=64, doc_stride=16).ask(sys.argv[1], sys.argv[2])),
    "by_name": len(qa_kit.load("tiny-random-bert", sequence_length=64, doc_stride=16).ask(sys.argv[1], sys.argv[2])),
    "sys_path": sys.path,
}))
"""


def _build_wheel(out: Path, source: Path) -> Path:
    """The wheel `pip install .` would build, made from a copy of the sources (data and notebooks linked)."""
    for name in BUILD_FILES:
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "qa_kit", source / "qa_kit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for folder in ("data", "notebooks"):  # linked, not copied: the build copies the files it ships
        (source / folder).symlink_to(REPO / folder, target_is_directory=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(out)], check=True, cwd=source, timeout=600)
    wheels = sorted(out.glob("qa_kit-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.mark.slow
def test_a_plain_install_from_the_wheel_answers_outside_the_repo(tmp_path):
    started = time.perf_counter()
    (tmp_path / "src").mkdir()
    wheel = _build_wheel(tmp_path / "dist", tmp_path / "src")
    built = time.perf_counter()

    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {"qa_kit/paths.py", "qa_kit/data/catalog.csv", "qa_kit/data/texts/bank_run.txt",
               "qa_kit/data/questions/bank_run.json", "qa_kit/data/models/demo-minilm/model.onnx",
               "qa_kit/data/models/demo-minilm/tokenizer.json", "qa_kit/data/models/tiny-random-bert/model.onnx",
               "qa_kit/notebooks/01_ask.ipynb"}
    assert shipped <= names, sorted(shipped - names)
    for path in (REPO / "data" / "texts").glob("*.txt"):
        assert f"qa_kit/data/texts/{path.name}" in names
    assert not [n for n in names if n.startswith(("tests/", "scripts/", ".venv", "artifacts/", "build/"))
                or "__pycache__" in n or ".ipynb_checkpoints" in n or n.startswith("qa_kit/tests")]
    assert {n.split("/")[0] for n in names} == {"qa_kit", wheel.name.split("-py")[0] + ".dist-info"}

    scratch, outside = tmp_path / "site", tmp_path / "elsewhere"
    outside.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(scratch),
                    str(wheel)], check=True, cwd=outside, timeout=600)
    installed = time.perf_counter()
    assert (scratch / "qa_kit" / "data" / "catalog.csv").is_file()

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(scratch), NM_DISABLE_ANALYTICS="1", TOKENIZERS_PARALLELISM="false")
    done = subprocess.run([sys.executable, "-c", PROBE, QUESTION, CONTEXT], cwd=outside, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("QA_KIT_PROBE ")]
    assert lines, (done.stdout[-2000:], done.stderr[-2000:])
    probe = json.loads(lines[-1][len("QA_KIT_PROBE "):])

    site = scratch.resolve()
    for key in ("kit", "paths", "data", "catalog", "sources_data", "notebook"):
        path = Path(probe[key]).resolve()
        assert site in path.parents, (key, path)  # the installed copy, not the repo's files
        assert REPO.resolve() not in path.parents, (key, path)
    assert probe["notebook_exists"]
    assert Path(probe["data"]) == site / "qa_kit" / "data"
    assert str(REPO.resolve()) not in [str(Path(p).resolve()) for p in probe["sys_path"] if p]
    assert {"demo-minilm", "tiny-random-bert"} <= set(probe["names"])
    assert probe["default"] == "demo-minilm" and probe["answer"] == "Anna Novak"
    assert probe["own_kind"] == "path" and probe["own_answers"] >= 1 and probe["by_name"] >= 1
    print(f"wheel {wheel.stat().st_size / 1e6:.1f} MB: built in {built - started:.1f} s, "
          f"installed in {installed - built:.1f} s, asked in {time.perf_counter() - installed:.1f} s")


def test_the_kit_reads_the_repos_data_when_run_from_the_repo():
    """A checkout or an editable install: the repo's data/ and notebooks/, so edits show at once."""
    from qa_kit import bench, cli, paths, sources, stubs

    assert Path(paths.__file__).resolve().parent == REPO / "qa_kit"
    assert paths.KIT_ROOT == REPO and paths.DATA_DIR == REPO / "data" and paths.NOTEBOOKS_DIR == REPO / "notebooks"
    assert sources.DATA_DIR == paths.DATA_DIR and cli.REPO_ROOT == paths.KIT_ROOT
    assert stubs.CATALOG_PATH == paths.CATALOG_PATH == REPO / "data" / "catalog.csv"
    assert bench.DEFAULT_CONTEXT == REPO / "data" / "texts" / "bank_run.txt"
    assert bench.DEFAULT_CONTEXT.is_file() and bench.DEFAULT_QUESTIONS.is_file()


def test_the_paths_module_imports_nothing_from_the_kit():
    import ast

    from qa_kit import paths

    tree = ast.parse(Path(paths.__file__).read_text(encoding="utf-8"))
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level]
    relative = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
    assert not relative and not [m for m in imported if m.split(".")[0] == "qa_kit"], imported


def test_a_missing_catalog_says_where_the_kit_looked_and_folders_still_load(tmp_path, monkeypatch):
    from conftest import TINY
    from qa_kit import QAKitError, stubs
    from qa_kit import catalog as catalog_module

    monkeypatch.setattr(catalog_module, "CATALOG_PATH", tmp_path / "data" / "catalog.csv")  # where catalog() reads it
    with pytest.raises(QAKitError, match="catalog.csv is missing") as raised:
        stubs.catalog()
    assert "pip install ." in str(raised.value)
    assert stubs.kind_of(str(TINY)) == "path"  # a local folder needs no catalog
    assert stubs.kind_of("tiny-random-bert") == "catalog"  # a bare name is still read as one, and fails clearly
    with pytest.raises(QAKitError, match="is missing"):
        stubs.catalog_source("tiny-random-bert")
