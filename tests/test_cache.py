"""The model cache: whole entries after a kill, shared safely by processes and threads, keyed by content."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SHORT, TINY

CONTEXT = "The harbour bridge opened in 1932 after nine years of work."
QUESTION = "When did the bridge open?"


def run_python(code: str, cache: Path, timeout: float = 120, **popen):
    env = {**os.environ, "NM_DISABLE_ANALYTICS": "1", "QA_KIT_CACHE": str(cache), "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)


ASK = f"""
import qa_kit
reader = qa_kit.load({str(TINY)!r}, engine="deepsparse", sequence_length=64, doc_stride=16)
a = reader.ask({QUESTION!r}, {CONTEXT!r}, top_k=3)
print([(x.text, round(x.score, 4)) for x in a])
"""


def answers_of(process: subprocess.Popen, timeout: float = 120) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-2000:]
    return out.strip().splitlines()[-1]


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("QA_KIT_CACHE", str(cache))
    return cache


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """What the tiny model answers when nothing goes wrong."""
    return answers_of(run_python(ASK, tmp_path_factory.mktemp("reference-cache")))


# A load killed while it copies model.onnx into the cache, half-way through the file.
KILLED_MID_COPY = f"""
import os, shutil, signal
real = shutil.copyfile
def half_then_die(src, dst, *a, **k):
    if str(src).endswith("model.onnx"):
        data = open(src, "rb").read()
        open(dst, "wb").write(data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst, *a, **k)
shutil.copyfile = half_then_die
{ASK}
"""


@pytest.mark.slow
def test_a_load_killed_mid_copy_leaves_nothing_that_is_taken_for_whole(fresh_cache, reference):
    killed = run_python(KILLED_MID_COPY, fresh_cache)
    killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL
    leftovers = [p for p in fresh_cache.rglob("model.onnx")]
    assert leftovers, "the killed process should have left a half file somewhere"
    assert answers_of(run_python(ASK, fresh_cache)) == reference


@pytest.mark.slow
@pytest.mark.parametrize("seconds", [0.3, 1.0, 2.0, 3.0])
def test_a_load_killed_at_any_moment_then_loads(fresh_cache, reference, seconds):
    process = run_python(ASK, fresh_cache)
    time.sleep(seconds)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert answers_of(run_python(ASK, fresh_cache)) == reference


@pytest.mark.slow
def test_a_truncated_file_in_the_cache_is_rebuilt(fresh_cache, reference):
    assert answers_of(run_python(ASK, fresh_cache)) == reference
    # what an older kit (or a full disk) left: every copy of the graph cut in half
    for onnx_file in fresh_cache.rglob("model.onnx"):
        data = onnx_file.read_bytes()
        onnx_file.write_bytes(data[: len(data) // 2])
    assert answers_of(run_python(ASK, fresh_cache)) == reference


@pytest.mark.slow
def test_two_processes_fill_one_fresh_cache(tmp_path, reference):
    for round_ in range(3):
        cache = tmp_path / f"cache-{round_}"
        both = [run_python(ASK, cache) for _ in range(2)]
        assert [answers_of(p) for p in both] == [reference, reference]


EIGHT_THREADS = f"""
import threading, qa_kit
got, errors = [], []
def go():
    try:
        reader = qa_kit.load({str(TINY)!r}, sequence_length=64, doc_stride=16)
        got.append(reader.ask({QUESTION!r}, {CONTEXT!r}).best.text)
    except Exception as error:
        errors.append(repr(error))
threads = [threading.Thread(target=go) for _ in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
print(len(got), len(set(got)), errors)
"""


@pytest.mark.slow
def test_eight_threads_load_at_once_in_a_fresh_process(fresh_cache):
    # transformers' lazy imports raised "cannot import name 'AutoTokenizer'" in 7 of 8 threads
    assert answers_of(run_python(EIGHT_THREADS, fresh_cache)) == "8 1 []"


def flip_weights(onnx_file: Path) -> None:
    """Rewrite a model with other weights of exactly the same byte size (every float negated)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_file))
    for init in model.graph.initializer:
        values = numpy_helper.to_array(init)
        if values.dtype == np.float32 and values.size > 1:
            init.CopyFrom(numpy_helper.from_array(-values, init.name))
    onnx.save(model, str(onnx_file))


@pytest.mark.slow
def test_same_size_same_time_new_weights_are_not_the_old_copy(tmp_path, fresh_cache):
    import qa_kit

    folder = tmp_path / "model"
    shutil.copytree(TINY, folder)
    first = qa_kit.load(str(folder), **SHORT)
    before = first.ask(QUESTION, CONTEXT).best.score

    other = tmp_path / "other.onnx"
    shutil.copyfile(folder / "model.onnx", other)
    flip_weights(other)
    target = folder / "model.onnx"
    stat = target.stat()
    assert other.stat().st_size == stat.st_size
    with open(other, "rb") as src, open(target, "r+b") as dst:  # what cp -p does: same inode, bytes over it
        dst.write(src.read())
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (target.stat().st_size, target.stat().st_mtime_ns, target.stat().st_ino) == \
        (stat.st_size, stat.st_mtime_ns, stat.st_ino)

    second = qa_kit.load(str(folder), **SHORT)
    assert second.model_dir != first.model_dir
    assert second.ask(QUESTION, CONTEXT).best.score != pytest.approx(before)


def test_a_warm_load_does_not_hash_again(tmp_path, fresh_cache, monkeypatch):
    import qa_kit
    from qa_kit import cache

    cache._hash_memo.clear()  # as in a new process, whose first load hashes and remembers on disk
    qa_kit.load(str(TINY), **SHORT)
    hashed = []  # files the cache opens to hash them
    monkeypatch.setattr(cache, "open", lambda path, mode="r", *a, **k: (mode == "rb" and hashed.append(path)) or open(path, mode, *a, **k),
                        raising=False)
    qa_kit.load(str(TINY), **SHORT)
    assert hashed == []
    cache._hash_memo.clear()  # a new process: the hashes remembered on disk serve
    qa_kit.load(str(TINY), **SHORT)
    assert hashed == []


def test_repos_and_stubs_with_one_name_get_separate_folders():
    from qa_kit.network import folder_for as _folder_for
    from qa_kit.stubs import catalog

    assert _folder_for("alice/x") != _folder_for("bob/x")
    stubs = [s for s in catalog()["source"].dropna() if str(s).startswith("zoo:")]
    same_tail = [s for s in stubs if s.endswith("/base-none")]
    assert len(same_tail) >= 2
    assert len({_folder_for(s) for s in stubs}) == len(stubs)


@pytest.mark.slow
def test_cache_list_and_clear_from_the_command_line(tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "NM_DISABLE_ANALYTICS": "1", "QA_KIT_CACHE": str(cache)}
    answers_of(run_python(ASK, cache))

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "qa_kit.cli", "cache", *args], capture_output=True, text=True,
                              env=env, timeout=60)

    listed = cli()
    assert listed.returncode == 0 and "models/tiny-random-bert-" in listed.stdout and " kB" in listed.stdout
    cleared = cli("clear")
    assert cleared.returncode == 0 and cleared.stdout.startswith("Removed ")
    assert list(cache.iterdir()) == []
    assert "0 entries" in cli("list").stdout


def test_a_manifest_records_every_file_of_an_entry(fresh_cache):
    import qa_kit
    from qa_kit.cache import MANIFEST, is_whole

    reader = qa_kit.load(str(TINY), **SHORT)
    manifest = json.loads((reader.model_dir / MANIFEST).read_text())
    assert {"model.onnx", "config.json", "tokenizer.json"} <= set(manifest["files"])
    assert is_whole(reader.model_dir)
    (reader.model_dir / "config.json").write_text("{}")
    assert not is_whole(reader.model_dir)
