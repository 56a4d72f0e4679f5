"""The `qa-kit` command: ask (in cli_ask), stub explain, eval, bench, serve, export, cache and lab, thin over the library.

Every error the kit raises on purpose prints as one line on stderr and exits with status 2.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from . import __version__
from .cli_ask import LOOP_ENGINE, ONE_QUESTION_ENGINE, cmd_ask
from .errors import InputError, QAKitError
from .paths import KIT_ROOT, NOTEBOOKS_DIR
from .text import file_size, one_line

REPO_ROOT = KIT_ROOT  # the folder holding notebooks/ and data/: the repo, or the installed package


def cmd_stub(args: argparse.Namespace) -> int:
    from .cli_stub import cli_explain

    print(cli_explain(args.stub, as_json=args.json))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .cli_eval import cli_eval
    from .reader import load
    from .reader_protocol import ReadOptions

    options = ReadOptions(args.engine, args.sequence_length, args.doc_stride, args.cores).as_kwargs()
    if args.dask:  # the workers load the model, once each
        from .scale import connect

        client, close = connect(args.dask)
        try:
            print(f"note: Dask dashboard at {client.dashboard_link}", file=sys.stderr)
            print(cli_eval(args.model, args.data, as_json=args.json, client=client, **options))
        finally:
            close()
        return 0
    print(cli_eval(load(args.model, **options), args.data, as_json=args.json))
    return 0


def _cores(text: str):
    """--cores: a whole number, "auto" or "all" (checked against this machine when the model loads)."""
    text = text.strip().lower()
    if text in ("auto", "all"):
        return text
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is not a number of cores: give a whole number, auto or all")


def _score_or_off(text: str) -> float:
    """A confident score from the command line: a number, or "off" (never read on)."""
    return float("-inf") if text.strip().lower() == "off" else float(text)


def cmd_bench(args: argparse.Namespace) -> int:
    from .cli_bench import cli_bench

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
        print(f"Removed {len(gone)} entr{'y' if len(gone) == 1 else 'ies'} ({file_size(freed)}) from {cache.cache_dir()}.")
        return 0
    rows = cache.entries()
    print(f"{cache.cache_dir()}: {len(rows)} entr{'y' if len(rows) == 1 else 'ies'}, {file_size(sum(s for _, s in rows))}")
    for name, size in rows:
        print(f"  {file_size(size):>9}  {name}")
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
    print(f"Wrote {out} ({file_size(size)}: {', '.join(files)}); load it with qa_kit.load({str(out)!r}).")
    return 0


def lab_command(args: argparse.Namespace) -> Tuple[List[str], List[str]]:
    """The JupyterLab command line `qa-kit lab` runs, and the lines to say first (on stderr)."""
    import importlib.util

    notebook = args.notebook or "notebooks/01_ask.ipynb"
    path = REPO_ROOT / notebook
    if not path.is_file():
        names = ", ".join(f"notebooks/{p.name}" for p in sorted(NOTEBOOKS_DIR.glob("*.ipynb")))
        raise InputError(f"There is no notebook {notebook} in {REPO_ROOT}: give one of {names or 'the kit notebooks'}.")
    if importlib.util.find_spec("jupyterlab") is None:
        raise InputError("JupyterLab is not installed in this Python: pip install 'qa-kit[notebooks]' (make setup does).")
    command = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={REPO_ROOT}", str(path)]
    notes = []
    if args.port:
        command.append(f"--port={args.port}")
    if args.ip:
        command.append(f"--ip={args.ip}")
    if args.no_browser:
        command.append("--no-browser")
    if not args.allow_root and hasattr(os, "geteuid") and os.geteuid() == 0:
        args.allow_root = True
        notes.append("note: running as root, so qa-kit passes --allow-root to JupyterLab (it refuses to start as root without it).")
    if args.allow_root:
        command.append("--allow-root")
    command += args.jupyter_options
    wildcard = args.ip in ("0.0.0.0", "::", "*")
    where = f"http://{'127.0.0.1' if wildcard or not args.ip else args.ip}:{args.port or 8888}/lab?token=..."
    elsewhere = "; from another machine, put this machine's address for 127.0.0.1" if wildcard else ""
    notes.append(f"note: JupyterLab prints the address to open below, a line like {where} (the next port if that one "
                 f"is taken{elsewhere}): open it in a browser. Ctrl-C twice stops JupyterLab.")
    return command, notes


def cmd_lab(args: argparse.Namespace) -> int:
    """Open JupyterLab on the kit's first notebook (or the one named), replacing this process."""
    command, notes = lab_command(args)
    for note in notes:
        print(note, file=sys.stderr)
    sys.stderr.flush()
    os.execv(sys.executable, command)
    return 0  # not reached


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help, naming each option's default unless its help already says it (or it has none)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"


def _show_help(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """What a command run without its subcommand does: print that command's help (status 2)."""
    def run(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2
    return run


def _versions() -> str:
    from importlib import metadata

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"
    python = ".".join(map(str, sys.version_info[:3]))
    return (f"qa-kit {__version__} (deepsparse {version('deepsparse')}, onnxruntime {version('onnxruntime')}, "
            f"Python {python})")


def _add_model_options(parser: argparse.ArgumentParser, engine_help: str, engine_default: Optional[str]) -> None:
    from .sources import default_model

    parser.add_argument("--model", "-m", default=default_model(),
                        help="folder, .onnx file, zoo: stub, hf: repo, catalog name or server URL")
    parser.add_argument("--engine", "-e", default=engine_default, choices=["deepsparse", "onnxruntime"], help=engine_help)
    parser.add_argument("--sequence-length", type=int, help="window size in tokens (default: the model's own, else 384)")
    parser.add_argument("--doc-stride", type=int, help="overlap of windows in tokens (default: the model's own, else 128)")
    parser.add_argument("--cores", type=_cores, default=None, metavar="N|auto|all",
                        help="cores the engine runs on (default: auto, those no other work is using at load; "
                        "or $QA_KIT_CORES)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa-kit", description="Explore extractive question answering on CPUs.",
                                     epilog="Run qa-kit COMMAND --help for a command's options and their defaults.",
                                     formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=_versions())
    parser.set_defaults(run=_show_help(parser), jupyter_options=None)
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")

    def command(name: str, **kwargs) -> argparse.ArgumentParser:
        return sub.add_parser(name, formatter_class=HelpFormatter, **kwargs)

    ask = command("ask", help="answer a question from a context, or questions typed one per line",
                  description="Answer a question (-q) from a context (-c TEXT or -f FILE). Without -q, the model is "
                  "loaded once and questions are read from standard input, one per line, each answered as it "
                  "comes: at a terminal after a prompt (with line editing and history, kept in ~/.qa_kit_history), "
                  "or piped in (printf 'Q1?\\nQ2?\\n' | qa-kit ask -f text.txt). Blank lines are skipped; end of "
                  "input (Ctrl-D) or Ctrl-C at the prompt ends. A question that cannot be asked prints one error "
                  "line and the loop goes on (the status is then 2).")
    _add_model_options(ask, engine_default=None, engine_help=(
        f"default: {ONE_QUESTION_ENGINE} for one -q question (it starts sooner), "
        f"{LOOP_ENGINE} for questions read one per line (compiled once, then fast); a note on stderr says which"))
    ask.add_argument("--question", "-q", help="the question (leave out to read questions one per line, see above)")
    source = ask.add_mutually_exclusive_group(required=True)
    source.add_argument("--context", "-c", help="the text to read")
    source.add_argument("--context-file", "-f", help="a UTF-8 text file to read, or - for standard input (then give -q)")
    ask.add_argument("--top-k", "-k", type=int, default=1, help="how many answers to show, best first")
    ask.add_argument("--json", action="store_true",
                     help="print one JSON object per question: question, model, engine, window (sequence_length, "
                     "doc_stride), windows read, load_seconds, timings (seconds), warning, note and answers "
                     "(text, start, end, score, probability, rank, window); one object per line without -q")
    ask.set_defaults(run=cmd_ask)

    stub = command("stub", help="SparseZoo stubs")
    stub.set_defaults(run=_show_help(stub))
    stub_sub = stub.add_subparsers(dest="stub_command", title="commands", metavar="COMMAND")
    explain = stub_sub.add_parser("explain", help="explain every part of a stub or source", formatter_class=HelpFormatter)
    explain.add_argument("stub", help="a zoo: stub, or any model source")
    explain.add_argument("--json", action="store_true", help="print one JSON object")
    explain.set_defaults(run=cmd_stub)

    evaluate = command("eval", help="exact match and F1 on a SQuAD v1.1 file",
                       description="Ask the model every question of a SQuAD v1.1 file and score its best answer "
                       "against the gold answers, as the official SQuAD scorer does: a table per question, then "
                       "exact match and F1 in percent. Sets: data/questions/*.json (the kit's texts), "
                       "data/eval/real_prose.json (real documentation, held out from training).")
    _add_model_options(evaluate, engine_default="deepsparse", engine_help="the engine to run the model on")
    evaluate.add_argument("--data", "-d", required=True, help="a SQuAD v1.1 JSON file, e.g. data/questions/bank_run.json")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object: model, engine, exact match and F1, seconds, and each question's row")
    evaluate.add_argument("--dask", metavar="ADDRESS|local[:N]", default=None,
                          help="run on a Dask scheduler (tcp://HOST:8786) or a local cluster of N one-core worker "
                          "processes (default N: the cores here); needs qa-kit[dask]")
    evaluate.set_defaults(run=cmd_eval)

    bench = command("bench", help="where the time goes: stages, engines, kit vs pipeline, fast reading")
    bench.add_argument("--model", "-m", action="append", help="a model to measure (repeatable; default: demo-minilm and its sparse int8 twin)")
    bench.add_argument("--context-file", "-f", help="the long text to read (default: data/texts/bank_run.txt)")
    bench.add_argument("--repeats", type=int, default=3, help="timed repeats per measurement (medians are shown)")
    bench.add_argument("--num-cores", type=int, help="cores DeepSparse may use (default: all)")
    bench.add_argument("--max-windows", type=int, help="windows fast reading reads first (default: about 1,536 tokens)")
    bench.add_argument("--confident-score", type=_score_or_off, metavar="S|off",
                       help="fast reading reads on while the best answer scores below S (default: the model's own; off: never)")
    bench.add_argument("--servers", type=int, default=0,
                       help="instead: questions/s of one DeepSparse server against N of them (server extra; 0: not)")
    bench.add_argument("--json", action="store_true", help="print one JSON object (ratios under 'ratios')")
    bench.set_defaults(run=cmd_bench)

    from .cli_serve import add_serve_arguments, cmd_serve

    serve = command("serve", help="start DeepSparse's own server for a model (needs the server extra)",
                    description="Serve a model with DeepSparse's own HTTP server (the server extra) in the foreground "
                    "until Ctrl-C. It runs from the kit's private copy of the model, at the model's own window.")
    add_serve_arguments(serve)
    serve.set_defaults(run=cmd_serve)

    export = command("export", help="write a model's ONNX folder (PyTorch checkpoints exported), to use offline")
    export.add_argument("source", help="hf: repo, zoo: stub, catalog name, or a local checkpoint folder")
    export.add_argument("out", help="a new folder to write model.onnx, config.json and the tokenizer into")
    export.add_argument("--revision", help="branch, tag or commit of an hf: repo")
    export.add_argument("--timeout", type=float, help="seconds to wait on the network before giving up (default 10)")
    export.set_defaults(run=cmd_export)

    from .cli_library import add_library_command

    add_library_command(command("library", help="ask your documents: index a folder, ask it, measure it"), HelpFormatter, _show_help)

    cache = command("cache", help="list the model cache's entries and sizes, or clear it")
    cache.add_argument("cache_command", nargs="?", choices=["list", "clear"], default="list",
                       help="list (the default) or clear: delete every cached copy and download")
    cache.set_defaults(run=cmd_cache)

    lab = command("lab", help="open JupyterLab on the kit's notebooks",
                  description="Open JupyterLab on one of the kit's notebooks. Options this command does not know "
                  "are passed to JupyterLab as they are, e.g. --ServerApp.token=SECRET; as root, --allow-root is added.")
    lab.add_argument("notebook", nargs="?", help="notebook to open, e.g. notebooks/05_speed.ipynb "
                     "(relative to the repo, or the installed kit; default: notebooks/01_ask.ipynb)")
    lab.add_argument("--port", type=int, help="port to serve on (default: JupyterLab's, 8888 or the next free one)")
    lab.add_argument("--ip", help="address to listen on, e.g. 0.0.0.0 in a container (default: JupyterLab's, localhost)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser (on a server, or in a container)")
    lab.add_argument("--allow-root", action="store_true", help="let JupyterLab run as root (added by itself as root)")
    lab.set_defaults(run=cmd_lab, jupyter_options=[])
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.jupyter_options is None:  # only `lab` passes what it does not know on
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if unknown:
        args.jupyter_options = unknown
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
