"""Scale-out: the thread fan-out over servers or readers, and evaluate/compare on a Dask LocalCluster
of two single-threaded worker processes, with the repo's real demo model."""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

import qa_kit
from qa_kit import EngineError, InputError, scale
from conftest import DEMO, REPO, TINY

HARBOUR = REPO / "data" / "questions" / "harbour_town.json"


# ---------------------------------------------------------------------------------------------
# threads: fan_out over readers or servers


def test_fan_out_keeps_question_order_and_raises_the_first_error():
    class Echo:
        """A reader whose answer is the question's number, slower for low numbers."""

        def __init__(self):
            self.asked = 0

        def ask(self, question, context, top_k=1):
            self.asked += 1
            time.sleep(0.02 if int(question) % 3 == 0 else 0)
            if question == "13":
                raise EngineError("question 13 broke")
            return question

    readers = [Echo(), Echo()]
    questions = [str(i) for i in range(12)]
    assert scale.fan_out(readers, questions, "context", max_workers=4) == questions
    assert readers[0].asked + readers[1].asked == 12 and min(r.asked for r in readers) > 0
    with pytest.raises(EngineError, match="13"):
        scale.fan_out(readers, [str(i) for i in range(20)], "context")
    with pytest.raises(InputError):
        scale.fan_out(readers, ["1", "2"], ["one context"])
    with pytest.raises(InputError):
        scale.fan_out([42], ["1"], "context")
    with pytest.raises(InputError):
        scale.fan_out([], ["1"], "context")


def test_fan_out_each_keeps_every_answer_every_error_and_who_answered():
    class Picky:
        def __init__(self, name):
            self.name = name

        def ask(self, question, context, top_k=1):
            if int(question) % 5 == 0:
                raise EngineError(f"no answer to {question}")
            return question

    done = []
    results = scale.fan_out_each([Picky("a"), Picky("b")], [str(i) for i in range(12)], "context", on_done=done.append)
    assert sorted(done) == list(range(12))
    assert [o.answers for o in results] == [None if i % 5 == 0 else str(i) for i in range(12)]
    assert [o.error for o in results] == [f"EngineError: no answer to {i}" if i % 5 == 0 else None for i in range(12)]
    assert {o.worker for o in results} <= {"a", "b"} and all(o.seconds >= 0 for o in results)
    same = scale.fan_out_each([Picky("m"), Picky("m")], ["1", "2", "3", "4"], "context")
    assert {o.worker for o in same} <= {"m #1", "m #2"}  # two readers of one model stay apart


# ---------------------------------------------------------------------------------------------
# what travels to a worker, and the refusals (no cluster needed)


def test_a_reader_travels_as_its_source_and_options(tiny_reader, monkeypatch, tmp_path):
    spec = scale.spec_for(tiny_reader)
    assert spec.source == str(TINY.resolve()) and spec.engine == "deepsparse"
    assert (spec.sequence_length, spec.doc_stride) == (tiny_reader.sequence_length, tiny_reader.doc_stride)
    assert spec.num_cores is None  # its cores were chosen for this machine, not the workers'
    assert hash(spec) == hash(scale.spec_for(tiny_reader))  # the worker cache's key
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-model").mkdir()
    assert scale.spec_for("my-model").source == str(tmp_path / "my-model")  # made absolute for the workers
    assert scale.spec_for("demo-minilm", num_cores=1) == scale.ReadSpec("demo-minilm", num_cores=1)

    class Fake:
        def ask(self, question, context, top_k=1):
            return []

    with pytest.raises(InputError, match="cannot travel to Dask workers"):
        scale.spec_for(Fake())


def test_client_without_dask_installed_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now raises ImportError
    for call in (lambda: qa_kit.evaluate("demo-minilm", str(HARBOUR), client=object(), progress=False),
                 lambda: qa_kit.compare(["Who?"], "Ada ran.", ["demo-minilm"], client=object(), progress=False)):
        with pytest.raises(InputError) as caught:
            call()
        assert "pip install 'qa-kit[dask]'" in str(caught.value) and "\n" not in str(caught.value)


def test_bad_clients_and_addresses_are_refused_in_one_line():
    with pytest.raises(InputError, match="not a dask.distributed Client"):
        qa_kit.evaluate("demo-minilm", str(HARBOUR), client="tcp://127.0.0.1:8786", progress=False)
    with pytest.raises(InputError, match="local:N"):
        scale.connect("local:two")
    with pytest.raises(InputError, match="one model with client="):
        qa_kit.evaluate(["http://127.0.0.1:1"], str(HARBOUR), client=object(), progress=False)


def test_worker_spread_counts_each_workers_share():
    import pandas as pd

    frame = pd.DataFrame({"worker": ["a", "b", "a", "a"], "seconds": [1.0, 2.0, 1.0, 2.0]})
    spread = scale.worker_spread(frame, 3.0).set_index("worker")
    assert spread.loc["a", "questions"] == 3 and spread.loc["b", "questions"] == 1
    assert spread.loc["a", "share"] == pytest.approx(0.75) and spread.loc["a", "busy_seconds"] == pytest.approx(4.0)
    assert spread.loc["b", "questions_per_second"] == pytest.approx(0.5)


# ---------------------------------------------------------------------------------------------
# on a LocalCluster of two worker processes


def _cluster(**config):
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set(config):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=50)
    client = Client(cluster)
    client.wait_for_workers(2, timeout=120)
    return cluster, client


@pytest.fixture(scope="module")
def cluster():
    cluster, client = _cluster()
    yield cluster, client
    client.close()
    cluster.close()


def _same_answers(a, b):
    assert [(x.text, x.start, x.end) for x in a] == [(x.text, x.start, x.end) for x in b]
    assert [x.score for x in a] == pytest.approx([x.score for x in b], abs=1e-3)


@pytest.mark.slow
def test_evaluate_on_two_workers_matches_one_process_and_loads_once_per_worker(cluster, demo_reader, capsys):
    _, client = cluster
    here = qa_kit.evaluate(demo_reader, str(HARBOUR), top_k=2, progress=False)
    there = qa_kit.evaluate("demo-minilm", str(HARBOUR), top_k=2, client=client, batch_size=2)
    assert "12/12" in capsys.readouterr().err  # the progress bar counted every question
    assert list(there.frame["id"]) == list(here.frame["id"])  # question order kept
    assert list(there.frame["prediction"]) == list(here.frame["prediction"])
    assert list(there.frame["top_k_predictions"]) == list(here.frame["top_k_predictions"])
    assert (there.exact_match, there.f1) == (here.exact_match, here.f1) and there.exact_match > 80
    assert there.frame["error"].isna().all() and (there.frame["seconds"] > 0).all()
    workers = set(client.scheduler_info()["workers"])
    assert set(there.frame["worker"]) == workers  # both workers answered
    assert set(there.load_seconds) == workers and all(s > 0 for s in there.load_seconds.values())
    spread = there.workers()
    assert len(spread) == 2 and spread["questions"].sum() == 12 and spread["share"].sum() == pytest.approx(1.0)
    assert there.throughput == pytest.approx(12 / there.wall_seconds)
    assert "questions/s on 2 workers" in there.summary() and "Per worker" in there._repr_html_()
    record = json.loads(json.dumps(there.to_dict()))
    assert record["questions_per_second"] > 0 and len(record["workers"]) == 2
    again = qa_kit.evaluate("demo-minilm", str(HARBOUR), client=client, progress=False)
    assert again.load_seconds == {}  # nothing loaded again: each worker kept its compiled model
    travelled = qa_kit.evaluate(demo_reader, str(HARBOUR), client=client, progress=False)  # as its source + options
    assert list(travelled.frame["prediction"]) == list(here.frame["prediction"])


@pytest.mark.slow
def test_compare_on_two_workers_matches_one_process(cluster, demo_reader, tiny_reader):
    _, client = cluster
    squad = json.loads(HARBOUR.read_text(encoding="utf-8"))["data"][0]["paragraphs"][0]
    questions, text = [qa["question"] for qa in squad["qas"]][:6], squad["context"]
    models = {"demo": demo_reader, "tiny": tiny_reader}
    here = qa_kit.compare(questions, text, models, top_k=2, progress=False)
    there = qa_kit.compare(questions, text, models, top_k=2, client=client, progress=False)
    for label in models:
        for a, b in zip(there.answers[label], here.answers[label]):
            _same_answers(a, b)
            assert a.context == text and a.question == b.question
    assert there.frame["error"].isna().all() and set(there.frame["worker"]) == set(client.scheduler_info()["workers"])
    assert set(here.frame["worker"]) == {"local"}
    assert "random weights" in there.warnings["tiny"]
    assert there.workers()["questions"].sum() == 12 and there.throughput > 0
    assert "questions/s on 2 workers" in there._repr_html_() and "questions/s" not in here._repr_html_()


@pytest.mark.slow
def test_a_model_that_fails_to_load_on_the_workers_is_reported_once(cluster, tmp_path):
    _, client = cluster
    broken = tmp_path / "broken-model"
    shutil.copytree(TINY, broken)
    (broken / "model.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(EngineError) as caught:
        qa_kit.evaluate(str(broken), str(HARBOUR), client=client, progress=False)
    message = str(caught.value)
    assert "\n" not in message and message.count("could not load on worker tcp://") == 1
    assert "broken-model" in message
    comparison = qa_kit.compare(["Who designed the lighthouse?"] * 4, json.loads(HARBOUR.read_text())["data"][0]
                                ["paragraphs"][0]["context"], {"broken": str(broken), "demo": str(DEMO)},
                                client=client, batch_size=1, progress=False)
    assert list(comparison.errors) == ["broken"] and "could not load on worker" in comparison.errors["broken"]
    rows = comparison.frame.set_index("model")
    assert (rows.loc["broken", "error"] == comparison.errors["broken"]).all()
    assert rows.loc["demo", "error"].isna().all() and set(rows.loc["demo", "answer"]) == {"Amélie Duroc"}
    shutil.copy(TINY / "model.onnx", broken / "model.onnx")  # fixed: the next run loads it on the workers
    fixed = qa_kit.compare(["Who designed the lighthouse?"] * 2, "Amélie Duroc designed it.", [str(broken)],
                           client=client, batch_size=1, progress=False)
    assert fixed.errors == {} and fixed.frame["error"].isna().all()


def _kill_a_busy_worker(cluster, after_done: int):
    """Wait until `after_done` tasks have finished, then SIGKILL the process of a worker that is running one:
    its address, and the first question of each batch it held (from the task keys, ...-START-TOKEN)."""
    scheduler = cluster.scheduler
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        done = sum(ts.state == "memory" for ts in list(scheduler.tasks.values()))
        busy = [ws for ws in list(scheduler.workers.values()) if ws.processing]
        if done >= after_done and busy:
            held = {int(ts.key.rsplit("-", 2)[-2]) for ts in list(busy[0].processing)}
            nanny = next(n for n in cluster.workers.values() if n.worker_address == busy[0].address)
            os.kill(nanny.process.process.pid, signal.SIGKILL)
            return busy[0].address, held
        time.sleep(0.05)
    raise AssertionError("no worker was busy in time")


def _evaluate_while_killing(cluster, client, batch_size=1):
    result = {}
    run = threading.Thread(target=lambda: result.update(
        report=qa_kit.evaluate("demo-minilm", str(HARBOUR), client=client, batch_size=batch_size, progress=False)))
    run.start()
    killed, held = _kill_a_busy_worker(cluster, after_done=2)
    run.join(600)
    return result["report"], killed, held


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_no_question(demo_reader):
    here = qa_kit.evaluate(demo_reader, str(HARBOUR), progress=False)
    cluster, client = _cluster()
    try:
        report, killed, held = _evaluate_while_killing(cluster, client)
        # the scheduler ran the dead worker's batch again elsewhere: every question answered, as in one process
        assert report.frame["error"].isna().all()
        assert list(report.frame["prediction"]) == list(here.frame["prediction"])
        assert held and all(report.frame.loc[i, "worker"] != killed for i in held)
        # with no failures allowed, the batch the dead worker held comes back as errors in its own rows
        cluster.scheduler.allowed_failures = 0
        client.wait_for_workers(2, timeout=120)
        report, killed, held = _evaluate_while_killing(cluster, client)
        lost = report.frame[report.frame["error"].notna()]
        assert 1 <= len(lost) < 12 and set(lost.index) <= held  # only the dead worker's batches
        assert lost["error"].str.contains("not answered: the batch was lost on the cluster").all()
        assert lost["error"].str.contains("KilledWorker").all()
        kept = report.frame[report.frame["error"].isna()]
        assert list(kept["prediction"]) == list(here.frame.loc[kept.index, "prediction"])
        assert f"{len(lost)} failed" in report.summary()
    finally:
        client.close()
        cluster.close()


@pytest.mark.slow
def test_eval_command_on_a_local_cluster():
    env = {**os.environ, "NM_DISABLE_ANALYTICS": "1"}
    done = subprocess.run([sys.executable, "-m", "qa_kit.cli", "eval", "--dask", "local:2", "--data", str(HARBOUR)],
                          capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[-1].startswith("demo-minilm (deepsparse) on harbour_town, 12 questions: exact match 91.7, F1 91.7")
    assert "questions/s on 2 workers" in lines[-1] and "per worker:" in lines
    assert sum(line.startswith("tcp://") for line in lines) == 2
    assert "note: Dask dashboard at http://" in done.stderr and "Copyright" not in done.stderr
