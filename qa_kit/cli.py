"""The `qa-kit` command: ask, stub explain, eval, bench, serve, export, cache and lab, thin over the library.

Every error the kit raises on purpose prints as one line on stderr and exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import List, Optional

from .errors import InputError, QAKitError
from .paths import KIT_ROOT
from .reading import check_text
from .text import one_line

REPO_ROOT = KIT_ROOT  # the folder holding notebooks/ and data/: the repo, or the installed package


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


def cmd_ask(args: argparse.Namespace) -> int:
    from .reader import load

    context = _read_context(args)
    check_text(args.question, context)  # before the seconds a model takes to load
    reader = load(args.model, engine=args.engine, sequence_length=args.sequence_length, doc_stride=args.doc_stride)
    answers = reader.ask(args.question, context, top_k=args.top_k)
    if args.json:
        print(json.dumps(answers.to_dicts(), ensure_ascii=False, indent=2))
        return 0
    if answers.warning:
        print(f"note: {answers.warning}")
    if not answers:
        print("No answer: no span of the context qualified.")
    for a in answers:
        print(f"{a.rank}. {a.text!r}  [{a.start}:{a.end}]  score={a.score:.3f}  probability={a.probability:.3f}")
    t = answers.timings
    print(f"time: tokenize {t['tokenize'] * 1000:.1f} ms, engine {t['engine'] * 1000:.1f} ms, "
          f"decode {t['decode'] * 1000:.1f} ms, total {t['total'] * 1000:.1f} ms "
          f"({len(answers.windows)} window{'s' if len(answers.windows) != 1 else ''}, {answers.engine})")
    return 0


def cmd_stub(args: argparse.Namespace) -> int:
    from .stubs import cli_explain

    print(cli_explain(args.stub, as_json=args.json))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import cli_eval
    from .reader import load

    reader = load(args.model, engine=args.engine, sequence_length=args.sequence_length, doc_stride=args.doc_stride)
    print(cli_eval(reader, args.data, as_json=args.json))
    return 0


def _score_or_off(text: str) -> float:
    """A confident score from the command line: a number, or "off" (never read on)."""
    return float("-inf") if text.strip().lower() == "off" else float(text)


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import cli_bench

    print(cli_bench(args.model, args.context_file, as_json=args.json, repeats=args.repeats,
                    num_cores=args.num_cores, progress=not args.json, servers=args.servers,
                    max_windows=args.max_windows, confident_score=args.confident_score))
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    """List the cache's entries and sizes, or clear it."""
    from . import cache

    if args.cache_command == "clear":
        gone = cache.clear()
        freed = sum(size for _, size in gone)
        print(f"Removed {len(gone)} entr{'y' if len(gone) == 1 else 'ies'} ({_size(freed)}) from {cache.cache_dir()}.")
        return 0
    rows = cache.entries()
    print(f"{cache.cache_dir()}: {len(rows)} entr{'y' if len(rows) == 1 else 'ies'}, {_size(sum(s for _, s in rows))}")
    for name, size in rows:
        print(f"  {_size(size):>9}  {name}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write a source's ONNX model folder to OUT (a PyTorch checkpoint is exported), to carry offline."""
    import shutil

    from .cache import MANIFEST, temp_name
    from .sources import resolve

    out = Path(args.out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out} already exists: give a new folder to write the model into (nothing was changed).")
    resolved = resolve(args.source, timeout=args.timeout, revision=args.revision)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = temp_name(out)
    try:
        shutil.copytree(resolved.model_dir, staging, ignore=shutil.ignore_patterns(MANIFEST))
        if out.exists():
            out.rmdir()  # the empty folder the user made for it
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files = sorted(f.name for f in out.iterdir())
    size = sum((out / f).stat().st_size for f in files)
    print(f"Wrote {out} ({_size(size)}: {', '.join(files)}); load it with qa_kit.load({str(out)!r}).")
    return 0


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


def cmd_lab(args: argparse.Namespace) -> int:
    """Open JupyterLab on the kit's first notebook."""
    notebook = args.notebook or "notebooks/01_ask.ipynb"
    command = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={REPO_ROOT}", str(REPO_ROOT / notebook)]
    if args.port:
        command.append(f"--port={args.port}")
    os.execv(sys.executable, command)
    return 0  # not reached


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", "-m", default="tiny-random-bert",
                        help="folder, .onnx file, zoo: stub, hf: repo or catalog name")
    parser.add_argument("--engine", "-e", default="deepsparse", choices=["deepsparse", "onnxruntime"])
    parser.add_argument("--sequence-length", type=int, help="window size in tokens (default: the model's own, else 384)")
    parser.add_argument("--doc-stride", type=int, help="overlap of windows in tokens (default: the model's own, else 128)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa-kit", description="Explore extractive question answering on CPUs.")
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="answer a question from a context")
    _add_model_options(ask)
    ask.add_argument("--question", "-q", required=True)
    source = ask.add_mutually_exclusive_group(required=True)
    source.add_argument("--context", "-c", help="the text to read")
    source.add_argument("--context-file", "-f", help="a text file to read, or - for standard input")
    ask.add_argument("--top-k", "-k", type=int, default=1)
    ask.add_argument("--json", action="store_true", help="print a JSON list of answers")
    ask.set_defaults(run=cmd_ask)

    stub = sub.add_parser("stub", help="SparseZoo stubs")
    stub_sub = stub.add_subparsers(dest="stub_command", required=True)
    explain = stub_sub.add_parser("explain", help="explain every part of a stub or source")
    explain.add_argument("stub")
    explain.add_argument("--json", action="store_true")
    explain.set_defaults(run=cmd_stub)

    evaluate = sub.add_parser("eval", help="exact match and F1 on a SQuAD v1.1 file")
    _add_model_options(evaluate)
    evaluate.add_argument("--data", "-d", required=True, help="a SQuAD v1.1 JSON file")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(run=cmd_eval)

    bench = sub.add_parser("bench", help="where the time goes: stages, engines, kit vs pipeline, fast reading")
    bench.add_argument("--model", "-m", action="append", help="a model to measure (repeatable; default: demo-minilm and its sparse int8 twin)")
    bench.add_argument("--context-file", "-f", help="the long text to read (default: data/texts/bank_run.txt)")
    bench.add_argument("--repeats", type=int, default=3, help="timed repeats per measurement (medians are shown)")
    bench.add_argument("--num-cores", type=int, help="cores DeepSparse may use (default: all)")
    bench.add_argument("--max-windows", type=int, help="windows fast reading reads first (default: about 1,536 tokens)")
    bench.add_argument("--confident-score", type=_score_or_off, metavar="S|off",
                       help="fast reading reads on while the best answer scores below S (default: the model's own; off: never)")
    bench.add_argument("--servers", type=int, default=0,
                       help="instead: questions/s of one DeepSparse server against N of them (server extra)")
    bench.add_argument("--json", action="store_true", help="print one JSON object (ratios under 'ratios')")
    bench.set_defaults(run=cmd_bench)

    from .server import add_serve_arguments, cmd_serve

    serve = sub.add_parser("serve", help="start DeepSparse's own server for a model (needs the server extra)")
    add_serve_arguments(serve)
    serve.set_defaults(run=cmd_serve)

    export = sub.add_parser("export", help="write a model's ONNX folder (PyTorch checkpoints exported), to use offline")
    export.add_argument("source", help="hf: repo, zoo: stub, catalog name, or a local checkpoint folder")
    export.add_argument("out", help="a new folder to write model.onnx, config.json and the tokenizer into")
    export.add_argument("--revision", help="branch, tag or commit of an hf: repo")
    export.add_argument("--timeout", type=float, help="seconds to wait on the network before giving up (default 10)")
    export.set_defaults(run=cmd_export)

    cache = sub.add_parser("cache", help="list the model cache's entries and sizes, or clear it")
    cache.add_argument("cache_command", nargs="?", choices=["list", "clear"], default="list",
                       help="list (the default) or clear: delete every cached copy and download")
    cache.set_defaults(run=cmd_cache)

    lab = sub.add_parser("lab", help="open JupyterLab on the kit's notebooks")
    lab.add_argument("notebook", nargs="?", help="notebook to open, e.g. notebooks/05_speed.ipynb (relative to the repo, or the installed kit)")
    lab.add_argument("--port", type=int)
    lab.set_defaults(run=cmd_lab)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = args.run(args)
        sys.stdout.flush()  # inside the try: a closed pipe shows here, not as a warning at exit
        return status
    except (QAKitError, ValueError) as error:
        print(f"qa-kit: error: {one_line(error, 1000)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qa-kit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `qa-kit ... | head` closed our output: nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:  # a kit bug: one line, with the way to see more
        if os.environ.get("QA_KIT_DEBUG"):
            raise
        print(f"qa-kit: unexpected error ({type(error).__name__}: {one_line(error, 300)}); "
              "run again with QA_KIT_DEBUG=1 for the traceback, and please report it.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
