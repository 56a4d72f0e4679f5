"""Shared fixtures: a private cache for every test run, the repo's tiny model, readers, pipelines."""
import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "data" / "models" / "tiny-random-bert"
DEMO = REPO / "data" / "models" / "demo-minilm"
# Short windows make long-text code paths cheap to reach with the tiny model.
SHORT = {"sequence_length": 64, "doc_stride": 16}

os.environ["NM_DISABLE_ANALYTICS"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Every test run gets its own cache, so nothing leaks in from ~/.cache or earlier runs."""
    cache = tmp_path_factory.mktemp("qa-kit-cache")
    os.environ["QA_KIT_CACHE"] = str(cache)
    yield cache


@pytest.fixture(scope="session")
def tiny_reader():
    import qa_kit

    return qa_kit.load(str(TINY), **SHORT)


@pytest.fixture(scope="session")
def demo_reader():
    """The repo's trained demo model (real weights) at its own 160/80 window."""
    import qa_kit

    return qa_kit.load(str(DEMO))


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory):
    """DeepSparse's own QA pipeline on a throwaway copy of the tiny model (it rewrites model.onnx)."""
    return make_pipeline(tmp_path_factory, **SHORT)


def make_pipeline(tmp_path_factory, sequence_length, doc_stride):
    import qa_kit  # noqa: F401  (sets NM_DISABLE_ANALYTICS before deepsparse is imported)
    from deepsparse import Pipeline

    folder = tmp_path_factory.mktemp("pipeline") / "model"
    shutil.copytree(TINY, folder)
    return Pipeline.create(task="question-answering", model_path=str(folder),
                           sequence_length=sequence_length, doc_stride=doc_stride)


sys.path.insert(0, str(REPO))
