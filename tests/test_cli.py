"""The qa-kit command: real runs of the entry point, on the demo model where answers matter and the tiny one where they do not."""
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from conftest import REPO, TINY

CONTEXT = "The harbour bridge opened in 1932 after nine years of work."
BANK = "The bank was founded by Anna Novak in Lyon in 1901."


def qa_kit(*args, stdin=None, timeout=120, env=None):
    env = {**os.environ, "NM_DISABLE_ANALYTICS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "qa_kit.cli", *args], input=stdin, capture_output=True,
                          text=isinstance(stdin, (str, type(None))), env=env, timeout=timeout)


def kit_errors(stderr: str):
    return [line for line in stderr.splitlines() if line.startswith("qa-kit: error:")]


@pytest.mark.slow
def test_ask_prints_json_answers_that_match_the_library():
    done = qa_kit("ask", "--model", str(TINY), "-q", "When did it open?", "-c", CONTEXT, "--top-k", "3", "--json",
                  "-e", "deepsparse")
    assert done.returncode == 0, done.stderr
    assert "note: engine" not in done.stderr  # the user chose the engine: nothing to explain
    record = json.loads(done.stdout)
    answers = record["answers"]
    assert len(answers) == 3
    for a in answers:
        assert {"text", "start", "end", "score", "probability"} <= set(a)
        assert CONTEXT[a["start"]:a["end"]] == a["text"]
    assert "random weights" in record["warning"]
    import qa_kit as kit

    best = kit.load(str(TINY)).ask("When did it open?", CONTEXT)[0]
    assert (answers[0]["start"], answers[0]["end"]) == (best.start, best.end)


@pytest.mark.slow
def test_ask_without_a_model_answers_with_the_demo_model_on_the_engine_that_starts_sooner():
    from qa_kit.cli import build_parser
    from qa_kit.sources import default_model

    assert default_model() == "demo-minilm"
    assert build_parser().parse_args(["ask", "-q", "q?", "-c", "t"]).model == "demo-minilm"
    assert build_parser().parse_args(["eval", "-d", "x.json"]).model == "demo-minilm"
    done = qa_kit("ask", "-q", "Who founded the bank?", "-c", BANK, "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)  # one object
    assert record["answers"][0]["text"] == "Anna Novak" and record["answers"][0]["probability"] > 0.9
    assert (record["model"], record["engine"], record["question"]) == ("demo-minilm", "onnxruntime", "Who founded the bank?")
    assert record["window"] == {"sequence_length": 160, "doc_stride": 80} and record["windows"] == 1
    assert set(record["timings"]) == {"tokenize", "engine", "decode", "total"}
    assert record["load_seconds"] > record["timings"]["total"] > 0
    assert record["warning"] is None
    notes = [line for line in done.stderr.splitlines() if line.startswith("note: engine")]
    assert len(notes) == 1 and "onnxruntime for one question" in notes[0] and "-e deepsparse" in notes[0], done.stderr


def test_ask_reads_the_context_from_standard_input_and_prints_a_table():
    done = qa_kit("ask", "-m", "tiny-random-bert", "-q", "When?", "--context-file", "-", stdin=CONTEXT)
    assert done.returncode == 0, done.stderr
    assert "random weights" in done.stdout and "1. " in done.stdout and "engine" in done.stdout
    assert re.search(r"\(1 window of \d+/\d+ tokens, onnxruntime on \d of \d cores; model loaded in [\d.]+ s\)", done.stdout), done.stdout


@pytest.mark.slow
def test_questions_read_one_per_line_are_answered_on_one_load_of_deepsparse():
    done = qa_kit("ask", "-c", BANK, "--json", stdin="Who founded the bank?\n\n  \nWhere was it founded?\nWhen was it founded?")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]  # one object per line, blank lines skipped
    assert [r["answers"][0]["text"] for r in records] == ["Anna Novak", "Lyon", "1901"]
    assert {r["engine"] for r in records} == {"deepsparse"}
    assert len({r["load_seconds"] for r in records}) == 1  # loaded once for all three
    assert "note: engine deepsparse for the question loop" in done.stderr
    assert "question> " not in done.stderr + done.stdout  # no prompt when the questions are piped in


@pytest.mark.slow
def test_a_bad_line_in_the_question_loop_is_one_error_and_the_loop_goes_on():
    done = qa_kit("ask", "-c", BANK, "-e", "onnxruntime",
                  stdin=b"Who founded the bank?\n\xff where?\nWhen was it founded?\n")
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 2, err
    errors = kit_errors(err)
    assert len(errors) == 1 and "Line 2 of standard input is not UTF-8 text (byte 0xff" in errors[0], err
    assert "question: Who founded the bank?\n1. 'Anna Novak'" in out
    assert "question: When was it founded?\n1. '1901'" in out
    assert "note: engine" not in err


@pytest.mark.slow
def test_a_terminal_gets_a_prompt_history_and_ctrl_d_ends(tmp_path):
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, "NM_DISABLE_ANALYTICS": "1", "HOME": str(tmp_path), "TERM": "dumb"}
    proc = subprocess.Popen([sys.executable, "-m", "qa_kit.cli", "ask", "-c", BANK], stdin=slave, stdout=slave,
                            stderr=subprocess.PIPE, env=env)
    os.close(slave)
    seen = {"tty": b"", "err": b""}

    def collect(read, key):
        try:
            for chunk in iter(lambda: read(4096), b""):
                seen[key] += chunk
        except OSError:  # the terminal closed
            pass

    for read, key in ((lambda n: os.read(master, n), "tty"), (proc.stderr.read1, "err")):
        threading.Thread(target=collect, args=(read, key), daemon=True).start()

    def wait_for(text, count=1):
        deadline = time.monotonic() + 120
        while seen["tty"].count(text) < count:
            assert proc.poll() is None and time.monotonic() < deadline, seen
            time.sleep(0.05)

    try:
        wait_for(b"question> ")
        os.write(master, b"Who founded the bank?\r")
        wait_for(b"Anna Novak")
        wait_for(b"question> ", 2)
        os.write(master, b"\x04")  # Ctrl-D at the prompt
        assert proc.wait(timeout=60) == 0, seen
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
    err = seen["err"].decode()
    assert "demo-minilm is loaded" in err and "Ctrl-D" in err and "note: engine deepsparse" in err
    assert b"1. 'Anna Novak'" in seen["tty"] and b"question: " not in seen["tty"]  # no echo: the user typed it
    assert (tmp_path / ".qa_kit_history").read_text().splitlines()[-1] == "Who founded the bank?"


@pytest.mark.parametrize("args, stdin, message", [
    (["-f", "-"], "Who?\n", "so the questions cannot be: give one with -q"),
    (["-q", "Who?", "-c", "  "], None, "context is empty"),  # before the model, which does not exist
    (["-c", "\n"], None, "context is empty"),
    (["-q", "Who?", "-f", "-"], "", "context is empty"),
    (["-q", "Who?", "-c", BANK, "--top-k", "0"], None, "--top-k=0 must be a whole number"),
])
def test_unusable_input_is_refused_before_the_model_loads(args, stdin, message):
    began = time.monotonic()
    done = qa_kit("ask", "-m", "nowhere/model", *args, stdin=stdin)
    assert done.returncode == 2
    errors = kit_errors(done.stderr)
    assert len(errors) == 1 and message in errors[0], done.stderr
    assert "note: engine" not in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - began < 30


@pytest.mark.parametrize("args, message", [
    (["-m", "nowhere/model", "-q", "q?", "-c", "text"], "does not exist"),
    (["-m", "tiny-random-bert", "-q", " ", "-c", "text"], "question is empty"),
    (["-m", "tiny-random-bert", "-q", "q?", "-f", "/no/such/file.txt"], "does not exist"),
    (["-m", "tiny-random-bert", "-q", "q?", "-c", "text", "--doc-stride", "500"], "doc_stride"),
])
def test_errors_print_one_line_and_exit_non_zero(args, message):
    done = qa_kit("ask", *args)
    assert done.returncode == 2
    lines = kit_errors(done.stderr)
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_qa_kit_alone_prints_the_help_and_version_says_what_runs(capsys):
    from qa_kit import __version__
    from qa_kit.cli import main

    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out.startswith("usage: qa-kit") and all(name in out for name in ("ask", "eval", "bench", "serve", "lab"))
    assert "required" not in out + err
    assert main(["stub"]) == 2
    assert "explain" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0
    assert re.fullmatch(rf"qa-kit {re.escape(__version__)} \(deepsparse 1\.8\.\d+, onnxruntime [\d.]+, Python 3\.\d+\.\d+\)\n",
                        capsys.readouterr().out)


def test_help_names_every_default(capsys, monkeypatch):
    import argparse

    from qa_kit.cli import HelpFormatter, build_parser, main

    monkeypatch.setenv("COLUMNS", "1000")  # one line per option
    with pytest.raises(SystemExit):
        main(["ask", "--help"])
    help = capsys.readouterr().out
    for words in ("(default: demo-minilm)", "default: onnxruntime for one -q question", "deepsparse for questions read one per line",
                  "(default: the model's own, else 384)", "(default: the model's own, else 128)", "best first (default: 1)",
                  "window (sequence_length, doc_stride)", "timings", "Blank lines are skipped", "Ctrl-D"):
        assert words in help, words
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    formatter = HelpFormatter("qa-kit")
    for name, command in commands.items():
        for action in command._actions:
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS) and action.dest != "help":
                assert "default" in formatter._get_help_string(action), (name, action.dest)
            if action.dest in ("json", "top_k"):
                assert action.help, (name, action.dest)


@pytest.fixture
def exec_to(monkeypatch):
    """Run `qa-kit lab` up to the point it would become JupyterLab; return the command it would run."""
    calls = []
    monkeypatch.setattr(os, "execv", lambda path, argv: calls.append(argv))
    return calls


def test_lab_passes_its_options_and_unknown_ones_to_jupyterlab_and_adds_allow_root_as_root(exec_to, monkeypatch, capsys):
    from qa_kit.cli import main

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert main(["lab", "--no-browser", "--ip", "0.0.0.0", "--port", "9999", "--ServerApp.token=abc",
                 "notebooks/05_speed.ipynb"]) == 0
    command = exec_to.pop()
    assert command[1:4] == ["-m", "jupyter", "lab"] and command[5] == str(REPO / "notebooks" / "05_speed.ipynb")
    assert {"--port=9999", "--ip=0.0.0.0", "--no-browser", "--allow-root", "--ServerApp.token=abc"} <= set(command)
    err = capsys.readouterr().err
    assert "running as root, so qa-kit passes --allow-root" in err
    assert "http://127.0.0.1:9999/lab?token=..." in err and "another machine" in err

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["lab"]) == 0
    command = exec_to.pop()
    assert command[5] == str(REPO / "notebooks" / "01_ask.ipynb") and "--allow-root" not in command
    err = capsys.readouterr().err
    assert "root" not in err and "a line like http://127.0.0.1:8888/lab?token=..." in err


def test_lab_refuses_a_missing_notebook_and_other_commands_refuse_unknown_options(exec_to, capsys):
    from qa_kit.cli import main

    assert main(["lab", "notebooks/nope.ipynb"]) == 2
    errors = kit_errors(capsys.readouterr().err)
    assert len(errors) == 1 and "no notebook notebooks/nope.ipynb" in errors[0] and "notebooks/01_ask.ipynb" in errors[0]
    with pytest.raises(SystemExit) as exit:
        main(["ask", "-q", "q?", "-c", "t", "--no-browser"])
    assert exit.value.code == 2 and "unrecognized arguments: --no-browser" in capsys.readouterr().err
    assert exec_to == []


@pytest.mark.slow
def test_lab_starts_jupyterlab_as_root_and_it_prints_the_address(tmp_path):
    pytest.importorskip("jupyterlab")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "NM_DISABLE_ANALYTICS": "1", "JUPYTER_RUNTIME_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "qa_kit.cli", "lab", "--no-browser", "--port", str(port),
                             "--ServerApp.token=qa-kit-test"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=env)
    lines = []
    try:
        for line in proc.stderr:
            lines.append(line)
            if f":{port}/lab?token=" in line and not line.startswith("note:"):  # JupyterLab's own line
                break
        status = {}
        for _ in range(60):
            try:
                status = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token=qa-kit-test", timeout=30))
                break
            except OSError:
                assert proc.poll() is None, "".join(lines)
                time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert "started" in status, status
    said = "".join(lines)
    assert f"a line like http://127.0.0.1:{port}/lab?token=..." in said
    assert ("running as root" in said) == (os.geteuid() == 0)


@pytest.mark.slow
def test_the_readme_five_lines_run_as_written():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    code = re.search(r"## Five lines\n+```python\n(.*?)```", readme, re.S).group(1)
    assert len(code.strip().splitlines()) == 5 and "tiny-random-bert" not in code
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["answers"][0].text == "Josiah Pell" and scope["reader"].name == "demo-minilm"
    assert f"'Josiah Pell' (probability {scope['answers'][0].probability:.2f})" in code


@pytest.mark.slow
def test_the_readme_shell_examples_use_the_demo_model_and_print_what_it_says():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shell = re.search(r"From the shell .*?```bash\n(.*?)```", readme, re.S).group(1)
    assert "tiny-random-bert" not in shell
    line = next(line for line in shell.splitlines() if line.startswith('qa-kit ask -q "When did it open?"'))
    done = qa_kit("ask", "-q", "When did it open?", "-c", "The bridge opened in 1932.", "--top-k", "3")
    assert done.returncode == 0, done.stderr
    best = done.stdout.splitlines()[0]  # 1. '1932'  [21:25]  score 7.84  probability 99.5%
    text, probability = re.match(r"1\. ('.*?') .* probability ([\d.]+%)", best).groups()
    assert f"# 1. {text} ({probability})" in line, (line, best)


@pytest.mark.slow
def test_the_readme_eval_figure_is_what_eval_prints():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.splitlines() if line.startswith("qa-kit eval --data data/questions/harbour_town.json"))
    done = qa_kit("eval", "--data", str(REPO / "data" / "questions" / "harbour_town.json"), timeout=400)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = done.stdout.strip().splitlines()[-1]  # demo-minilm (deepsparse) on harbour_town, 12 questions: exact ...
    em, f1 = re.search(r"exact match ([\d.]+), F1 ([\d.]+)", summary).groups()
    assert f"# exact match {em}, F1 {f1} (12 questions)" in line, (line, summary)
    assert "12 questions" in summary and summary.startswith("demo-minilm (deepsparse)")


@pytest.mark.slow
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


@pytest.mark.slow
def test_cores_are_chosen_with_cores_and_reported_in_the_timing_line_and_json():
    done = qa_kit("ask", "--model", str(TINY), "-q", "When did it open?", "-c", CONTEXT, "-e", "deepsparse",
                  "--cores", "1", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cores"] == 1
    done = qa_kit("ask", "--model", str(TINY), "-q", "When did it open?", "-c", CONTEXT, "-e", "onnxruntime")
    assert done.returncode == 0, done.stderr
    assert re.search(r"onnxruntime on \d of \d cores;", done.stdout), done.stdout
    refused = qa_kit("ask", "--model", str(TINY), "-q", "Q?", "-c", CONTEXT, "--cores", "none")
    assert refused.returncode == 2 and "is not a number of cores" in refused.stderr
    too_many = qa_kit("eval", "--model", str(TINY), "-d", str(REPO / "data" / "questions" / "bank_run.json"),
                      "--cores", "4096")
    assert too_many.returncode != 0 and kit_errors(too_many.stderr) == [
        line for line in too_many.stderr.splitlines() if "more than the" in line]
