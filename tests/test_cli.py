"""The qa-kit command: real runs of the installed entry point on the tiny model."""
import json
import os
import subprocess
import sys

import pytest

from conftest import TINY

CONTEXT = "The harbour bridge opened in 1932 after nine years of work."


def qa_kit(*args, stdin=None, timeout=120):
    env = {**os.environ, "NM_DISABLE_ANALYTICS": "1"}
    return subprocess.run([sys.executable, "-m", "qa_kit.cli", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_ask_prints_json_answers_that_match_the_library():
    done = qa_kit("ask", "--model", str(TINY), "-q", "When did it open?", "-c", CONTEXT, "--top-k", "3", "--json")
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)
    assert len(answers) == 3
    for a in answers:
        assert {"text", "start", "end", "score", "probability"} <= set(a)
        assert CONTEXT[a["start"]:a["end"]] == a["text"]
    import qa_kit as kit

    best = kit.load(str(TINY)).ask("When did it open?", CONTEXT)[0]
    assert (answers[0]["start"], answers[0]["end"]) == (best.start, best.end)


def test_ask_reads_the_context_from_standard_input_and_prints_a_table():
    done = qa_kit("ask", "-m", "tiny-random-bert", "-q", "When?", "--context-file", "-", stdin=CONTEXT)
    assert done.returncode == 0, done.stderr
    assert "random weights" in done.stdout and "1. " in done.stdout and "engine" in done.stdout


@pytest.mark.parametrize("args, message", [
    (["-m", "nowhere/model", "-q", "q?", "-c", "text"], "does not exist"),
    (["-m", "tiny-random-bert", "-q", " ", "-c", "text"], "question is empty"),
    (["-m", "tiny-random-bert", "-q", "q?", "-f", "/no/such/file.txt"], "does not exist"),
    (["-m", "tiny-random-bert", "-q", "q?", "-c", "text", "--doc-stride", "500"], "doc_stride"),
])
def test_errors_print_one_line_and_exit_non_zero(args, message):
    done = qa_kit("ask", *args)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.startswith("qa-kit: error:")]
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_bench_prints_one_json_object_with_the_ratios(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("The harbour bridge opened in 1932 after nine years of work. " * 40, encoding="utf-8")
    done = qa_kit("bench", "--model", "tiny-random-bert", "--context-file", str(text), "--repeats", "1", "--json",
                  "--max-windows", "2", "--confident-score", "9.5", timeout=400)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    for key in ("kit_over_pipeline_one_window", "kit_over_pipeline_long_document", "deepsparse_over_onnxruntime",
                "first_over_second_ask", "full_over_fast_long_document"):
        assert key in report["ratios"]
        assert report["ratios"][key] > 0
    assert 0 <= report["fast_agreement"] <= 1
    assert (report["settings"]["max_windows"], report["settings"]["confident_score"]) == (2, 9.5)


def test_bench_takes_off_for_a_fast_reading_that_never_reads_on():
    from qa_kit.cli import build_parser

    assert build_parser().parse_args(["bench", "--confident-score", "off"]).confident_score == float("-inf")
    assert build_parser().parse_args(["bench", "--confident-score", "11.5"]).confident_score == 11.5
