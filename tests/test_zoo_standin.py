"""zoo: stubs against a loopback stand-in of the SparseZoo API (tests/zoo_standin.py), and the
catalog's network rows when nothing answers.

sparsezoo reads SPARSEZOO_API_URL once, when it is imported, so each case runs the kit in a fresh
interpreter pointed at the stand-in, with a private cache. Every case that talks to the stand-in
also checks that the GraphQL query really reached it, so none can pass by failing early.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DEMO, REPO
from zoo_standin import ZooStandIn, stub_of_query

STUB = "zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none"  # bert-base-dense
HUB = "hf:neuralmagic/oBERT-teacher-squadv1"  # the catalog's (related) Hub counterpart for it
MADE_UP = "zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/pruned85-none"  # grammatical, in no catalog
TEXT = "The bank was founded by Anna Novak in Lyon in 1901."
QUESTION = "Who founded the bank?"

# Runs in the child: resolves (and, for "ask", loads, asks and resolves again) one source, and
# prints one JSON line: the answer or the error, and the seconds the kit call took.
CHILD = r"""
import json, sys, time
import qa_kit
from qa_kit.sources import resolve

source, mode, question, text = sys.argv[1:5]
out = {}
began = time.monotonic()
try:
    if mode == "ask":
        reader = qa_kit.load(source)
        out["answer"] = reader.ask(question, text)[0].text
        out["model_dir"] = str(reader.model_dir)
        out["again"] = str(resolve(source).model_dir)
    else:
        out["model_dir"] = str(resolve(source).model_dir)
except qa_kit.QAKitError as error:
    out["error"], out["type"] = str(error), type(error).__name__
out["seconds"] = time.monotonic() - began
print(json.dumps(out))
"""


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def child_env(tmp_path: Path, api_url: str, timeout: str) -> dict:
    return {**os.environ, "SPARSEZOO_API_URL": api_url, "NM_DISABLE_ANALYTICS": "1",
            "QA_KIT_CACHE": str(tmp_path / "cache"), "SPARSEZOO_MODELS_PATH": str(tmp_path / "sparsezoo"),
            "QA_KIT_TIMEOUT": timeout, "TOKENIZERS_PARALLELISM": "false"}


def run_kit(tmp_path: Path, api_url: str, source: str, mode: str = "resolve", timeout: str = "60") -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, source, mode, QUESTION, TEXT], capture_output=True,
                          text=True, env=child_env(tmp_path, api_url, timeout), cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def assert_zoo_error(out: dict, stub: str, *parts: str) -> str:
    """The kit's one-line zoo error: it names the stub, the retirement and a way on."""
    assert out.get("type") == "SourceError", out
    message = out["error"]
    assert "\n" not in message and stub in message, message
    assert "retired by Neural Magic in June 2025" in message and "Hugging Face Hub" in message, message
    assert "local folder" in message, message
    for part in parts:
        assert part in message, message
    return message


def test_the_stand_in_reads_stubs_back_from_the_query():
    # the query the client builds from a path-style stub (sparsezoo's api/query_parser.py)
    query = ('{ models (domain: "nlp",task: "question_answering",architecture: "bert",subArchitecture: "base",'
             'framework: "pytorch",repo: "huggingface",sourceDataset: "squad",sparseTag: "base-none",) { modelId } }')
    assert stub_of_query(query) == STUB
    assert stub_of_query('{ models (repoName: "zoo:bert-squad-base",) { modelId } }') == "zoo:bert-squad-base"
    assert stub_of_query("{ models () { modelId } }") is None


@pytest.mark.slow
def test_a_zoo_stub_is_resolved_downloaded_and_answered_end_to_end(tmp_path):
    with ZooStandIn({STUB: DEMO}) as zoo:
        out = run_kit(tmp_path, zoo.url, STUB, mode="ask")
    assert "error" not in out, out
    assert out["answer"] == "Anna Novak"  # what demo-minilm answers from its own folder
    copy = Path(out["model_dir"])
    assert sha256(copy / "model.onnx") == sha256(DEMO / "model.onnx")  # the model came through the stand-in
    assert out["again"] == out["model_dir"]
    # sparsezoo asks the API on every load, even with the files cached; it downloads them once
    assert zoo.seen("POST", "/v2/graphql") == 2
    assert all('sparseTag: "base-none"' in q and 'task: "question_answering"' in q for q in zoo.queries)
    assert zoo.seen("HEAD", "/deployment.tar.gz") >= 1 and zoo.seen("GET", "/deployment.tar.gz") == 1
    assert zoo.seen("GET", "/model.onnx") == 0  # the deployment tarball carries it


def test_a_model_listed_without_a_deployment_tarball_still_loads(tmp_path):
    with ZooStandIn({STUB: DEMO}, tarball=False) as zoo:
        out = run_kit(tmp_path, zoo.url, STUB)
    assert "error" not in out, out
    assert sha256(Path(out["model_dir"]) / "model.onnx") == sha256(DEMO / "model.onnx")
    assert zoo.seen("POST", "/v2/graphql") == 1 and zoo.seen("GET", "/model.onnx") == 1


@pytest.mark.parametrize("stub, served, way", [
    (MADE_UP, {STUB: DEMO}, "hf:OWNER/NAME"),  # no Hub counterpart known: the generic way on
    (STUB, {}, f"Try {HUB} (a related model)"),  # a catalog stub the zoo no longer has
], ids=["made-up-stub", "catalog-stub"])
def test_a_stub_the_zoo_does_not_hold_is_named_in_one_line(tmp_path, stub, served, way):
    with ZooStandIn(served) as zoo:
        out = run_kit(tmp_path, zoo.url, stub)
    assert_zoo_error(out, stub, f"SparseZoo has no model '{stub}'", way)
    assert zoo.seen("POST", "/v2/graphql") == 1 and zoo.seen("GET") == 0


def test_a_zoo_that_refuses_everything_gives_one_line(tmp_path):
    with ZooStandIn({STUB: DEMO}, mode="forbidden") as zoo:
        out = run_kit(tmp_path, zoo.url, STUB)
    assert_zoo_error(out, STUB, "refused", "HTTP 403", HUB)
    assert zoo.seen("POST", "/v2/graphql") == 1


def test_a_graphql_error_reply_gives_one_line(tmp_path):
    with ZooStandIn({STUB: DEMO}, mode="errors") as zoo:
        out = run_kit(tmp_path, zoo.url, STUB)
    assert_zoo_error(out, STUB, "rejected the query", HUB)
    assert zoo.seen("POST", "/v2/graphql") == 1


@pytest.mark.slow
def test_a_stalled_zoo_fails_within_the_time_limit(tmp_path):
    with ZooStandIn({STUB: DEMO}, mode="stall", stall_s=60) as zoo:
        out = run_kit(tmp_path, zoo.url, STUB, timeout="2")
        assert zoo.seen("POST", "/v2/graphql") == 1  # it reached the zoo, which never answered
    assert_zoo_error(out, STUB, "gave no answer", "within 2 s", HUB)
    assert 1.5 < out["seconds"] < 5, out["seconds"]


def test_a_zoo_that_cannot_be_reached_gives_one_line(tmp_path):
    out = run_kit(tmp_path, closed_port_url(), STUB, timeout="5")
    assert_zoo_error(out, STUB, "Cannot reach SparseZoo", "ConnectionError", HUB)
    assert out["seconds"] < 5


CATALOG_CHILD = r"""
import json, time
from qa_kit.errors import QAKitError
from qa_kit.sources import resolve
from qa_kit.stubs import catalog

rows = []
for row in catalog().itertuples(index=False):
    if not row.network:
        continue
    began, error = time.monotonic(), None
    try:
        resolve(row.name)
    except QAKitError as raised:
        error = type(raised).__name__ + ": " + str(raised)
    rows.append({"name": row.name, "source": row.source, "hub": row.hub, "error": error,
                 "seconds": time.monotonic() - began})
print(json.dumps(rows))
"""


@pytest.mark.slow
def test_every_network_row_of_the_catalog_fails_fast_and_clearly_when_nothing_answers(tmp_path):
    nothing = closed_port_url()
    env = {**child_env(tmp_path, nothing, "3"), "HF_ENDPOINT": nothing}
    done = subprocess.run([sys.executable, "-c", CATALOG_CHILD], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(rows) >= 50 and {r["source"][:3] for r in rows} == {"zoo", "hf:"}
    for row in rows:
        error = row["error"]
        assert error and error.startswith("SourceError: ") and "\n" not in error, row
        assert row["seconds"] < 4, row
        if row["source"].startswith("zoo:"):
            assert row["source"] in error and "June 2025" in error, row
            assert (row["hub"] or "hf:OWNER/NAME") in error, row
        else:
            assert row["source"] in error and "local folder" in error, row


@pytest.mark.slow
def test_a_stub_downloaded_before_loads_when_the_zoo_is_gone(tmp_path):
    with ZooStandIn({STUB: DEMO}) as zoo:
        first = run_kit(tmp_path, zoo.url, STUB)
    assert "error" not in first, first
    later = run_kit(tmp_path, closed_port_url(), STUB, timeout="5")  # same cache, no zoo
    assert "error" not in later, later
    assert sha256(Path(later["model_dir"]) / "model.onnx") == sha256(DEMO / "model.onnx")
    # a stub never downloaded still fails in one line
    assert_zoo_error(run_kit(tmp_path, closed_port_url(), MADE_UP, timeout="5"), MADE_UP)
