"""`qa-kit ask`: one question, or questions typed one per line answered on one load of the model.

Errors a user can cause are one-line kit errors (qa_kit.errors); qa_kit.cli prints them.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Optional

from .errors import InputError, QAKitError, whole_number
from .reading import check_string, check_text
from .text import one_line, percent, score_text


def _read_context(args: argparse.Namespace) -> str:
    if args.context is not None:
        return args.context
    if args.context_file == "-":
        return _utf8(sys.stdin.buffer.read(), "standard input")
    path = Path(args.context_file)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise InputError(f"Context file {path} is a folder: give a text file, or - to read standard input.") from None
    except FileNotFoundError:
        raise InputError(f"Context file {path} does not exist: give a text file, or - to read standard input.") from None
    except OSError as error:
        raise InputError(f"Context file {path} cannot be read ({error.strerror}): give a readable text file.") from None
    return _utf8(data, str(path))


def _utf8(data: bytes, where: str) -> str:
    """Text read as UTF-8, or a one-line error naming the first bad byte (never a guess that shifts offsets)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{where} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}): "
                         "convert it first, e.g. iconv -f latin1 -t utf-8.") from None


# Measured on a 2-vCPU EPYC with demo-minilm, a one-window question in a fresh process: about 4 s
# on ONNX Runtime against 7 s on DeepSparse, which compiles the model first (2.6 s) and then reads
# a window about as fast or a little faster. So one question goes to ONNX Runtime and a loop of
# questions to DeepSparse, unless the user chooses.
ONE_QUESTION_ENGINE = "onnxruntime"
LOOP_ENGINE = "deepsparse"
PROMPT = "question> "
HISTORY_FILE = "~/.qa_kit_history"


def _choose_engine(args: argparse.Namespace, loop: bool) -> str:
    """The engine to load: the user's, else the one that suits one question or a loop (said on stderr)."""
    if args.engine:
        return args.engine
    if loop:
        why = (f"engine {LOOP_ENGINE} for the question loop: it compiles once (a few seconds more to start), "
               "then answers each question at least as fast as ONNX Runtime; -e onnxruntime to choose that")
        engine = LOOP_ENGINE
    else:
        why = (f"engine {ONE_QUESTION_ENGINE} for one question: it starts about 3 s sooner than DeepSparse, "
               "which compiles the model first; -e deepsparse to choose that, or leave out -q to ask many questions on one load")
        engine = ONE_QUESTION_ENGINE
    if not args.model.startswith(("http://", "https://")):  # a server answers with its own engine
        print(f"note: {why}.", file=sys.stderr)
    return engine


def cmd_ask(args: argparse.Namespace) -> int:
    """One question (-q), or, without -q, questions read one per line from standard input on one load."""
    from .reader import load

    loop = args.question is None
    if loop and args.context_file == "-":
        raise InputError("The context is read from standard input (-f -), so the questions cannot be: "
                         "give one with -q, or the context with -c or a file, to type questions one per line.")
    whole_number(args.top_k, "--top-k")
    context = _read_context(args)
    if loop:  # both before the seconds a model takes to load
        check_string("context", context)
    else:
        check_text(args.question, context)
    engine = _choose_engine(args, loop)
    began = time.perf_counter()
    reader = load(args.model, engine=engine, sequence_length=args.sequence_length, doc_stride=args.doc_stride,
                  num_cores=args.cores)
    load_seconds = time.perf_counter() - began
    if loop:
        return _ask_loop(reader, context, args, load_seconds)
    _print_answers(reader, reader.ask(args.question, context, top_k=args.top_k), args.json, load_seconds)
    return 0


def answers_record(reader, answers, load_seconds: float) -> dict:
    """What `ask --json` prints for one question: who answered, at what window, how fast, and the answers."""
    window = {"sequence_length": getattr(reader, "sequence_length", None), "doc_stride": getattr(reader, "doc_stride", None)}
    return {"question": answers.question, "model": answers.model, "engine": answers.engine, "window": window,
            "windows": len(answers.windows), "cores": getattr(getattr(reader, "cores", None), "count", None),
            "load_seconds": load_seconds, "timings": answers.timings,
            "warning": answers.warning, "note": answers.note, "answers": answers.to_dicts()}


def _print_answers(reader, answers, as_json: bool, load_seconds: float, *, indent: Optional[int] = 2,
                   warn: bool = True) -> None:
    if as_json:
        print(json.dumps(answers_record(reader, answers, load_seconds), ensure_ascii=False, indent=indent))
        return
    if answers.warning and warn:
        print(f"note: {answers.warning}")
    if answers.note:
        print(f"note: {answers.note}")
    if not answers:
        print("No answer: no span of the context qualified.")
    for a in answers:
        print(f"{a.rank}. {a.text!r}  [{a.start}:{a.end}]  score {score_text(a.score)}  probability {percent(a.probability)}")
    t, n = answers.timings, len(answers.windows)
    window = f" of {reader.sequence_length}/{reader.doc_stride} tokens" if hasattr(reader, "doc_stride") else ""
    cores = getattr(reader, "cores", None)
    if cores is not None and warn and cores.reason == "auto" and not cores.reused and cores.count < cores.available:
        print(f"note: running on {cores.count} of {cores.available} cores: other work is using {cores.busy:.1f} of them, "
              "and DeepSparse slows down sharing a core (--cores N to choose).", file=sys.stderr)
    cores = f" on {cores.count} of {cores.available} cores" if cores is not None else ""
    print(f"time: tokenize {t['tokenize'] * 1000:.1f} ms, engine {t['engine'] * 1000:.1f} ms, "
          f"decode {t['decode'] * 1000:.1f} ms, total {t['total'] * 1000:.1f} ms "
          f"({n} window{'s' if n != 1 else ''}{window}, {answers.engine}{cores}; model loaded in {load_seconds:.1f} s)")


def _ask_loop(reader, context: str, args: argparse.Namespace, load_seconds: float) -> int:
    """Answer questions one per line until end of input; blank lines are skipped. A bad question
    prints its one-line error and the loop goes on; the status is then 2."""
    tty = sys.stdin.isatty()
    if tty:
        print(f"{args.model} is loaded ({load_seconds:.1f} s). Type a question and press Enter; "
              "Ctrl-D or Ctrl-C ends.", file=sys.stderr)
    failed, asked = 0, 0
    for number, line in enumerate(_question_lines(tty), start=1):
        try:
            question = _utf8(line, f"Line {number} of standard input") if isinstance(line, bytes) else line
            if not question.strip():
                continue
            answers = reader.ask(question.strip(), context, top_k=args.top_k)
        except QAKitError as error:
            print(f"qa-kit: error: {one_line(error, 1000)}", file=sys.stderr)
            failed += 1
            continue
        except KeyboardInterrupt:
            if not tty:
                raise
            print("(stopped: ask another question, or Ctrl-D to end)", file=sys.stderr)
            continue
        if not tty and not args.json:  # piped in: say which question these answers are for
            print(f"question: {answers.question}")
        _print_answers(reader, answers, args.json, load_seconds, indent=None, warn=asked == 0)
        sys.stdout.flush()
        asked += 1
    return 2 if failed else 0


def _question_lines(tty: bool):
    """Lines of standard input: typed at a prompt with line editing and history on a terminal, else
    read as bytes (decoded by the caller, so a line that is not UTF-8 is named)."""
    if not tty:
        yield from iter(sys.stdin.buffer.readline, b"")
        return
    history = _start_history()
    try:
        while True:
            try:
                if sys.stdout.isatty():
                    yield input(PROMPT)
                else:  # keep the prompt out of redirected answers
                    print(PROMPT, end="", file=sys.stderr, flush=True)
                    yield input()
            except (EOFError, KeyboardInterrupt):
                print(file=sys.stderr)
                return
    finally:
        history()


def _start_history() -> Callable[[], None]:
    """Turn on readline (arrow keys, earlier questions) when Python has it; return what saves the history."""
    try:
        import readline
    except ImportError:  # no readline on this Python: plain input()
        return lambda: None
    path = os.path.expanduser(HISTORY_FILE)
    try:
        readline.read_history_file(path)
    except OSError:  # none yet, or unreadable
        pass

    def save() -> None:
        readline.set_history_length(500)
        try:
            readline.write_history_file(path)
        except OSError:  # a read-only home: history is only lost
            pass
    return save
