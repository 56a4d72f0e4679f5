"""`qa-kit library index|ask|bench`: a folder of documents indexed, asked and measured from the shell."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable


def _open(args: argparse.Namespace, reader: Any = None) -> Any:
    from .library import Library

    return Library(args.folder, args.index, reader=reader,
                   max_bytes=None if args.max_mb is None else int(args.max_mb * 1e6))


def cmd_index(args: argparse.Namespace) -> int:
    """Index (or bring up to date) a folder; print the report, one line per skipped file."""
    lib = _open(args)
    report = lib.index(progress=sys.stderr.isatty())
    print(report)
    print(f"index: {lib.path}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer a question from a folder's documents, indexing what changed first (unless --no-update)."""
    from .reader import load

    lib = _open(args, reader=load(args.model, num_cores=args.cores))
    if not args.no_update:
        report = lib.index(progress=sys.stderr.isatty())
        if report.added or report.updated or report.dropped or report.skipped:
            print(f"note: {report.lines()[0]}", file=sys.stderr)
    answers = lib.ask(args.question, top_k=args.top_k, passages=args.passages, method=args.method)
    if args.json:
        print(json.dumps({"question": answers.question, "method": answers.method, "model": answers.model,
                          "engine": answers.engine, "timings": answers.timings, "warning": answers.warning,
                          "passages": answers.passages, "answers": answers.to_dicts()}, ensure_ascii=False))
        return 0
    if answers.warning:
        print(f"warning: {answers.warning}")
    if not answers.answers:
        print("no passage held an answer")
    for a in answers:
        from .documents.render import short_name

        where = short_name(a.file, answers.root) + (f", page {a.page}" if a.page else "")
        print(f"{a.rank}. {a.text!r} ({a.probability:.3f}) in {where} [{a.start}:{a.end}]")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Print the library report: recall, EM/F1 per method, index and query speed."""
    from .documents.bench import SAMPLE_LIBRARY, SAMPLE_QUESTIONS, library_report
    from .reader import load

    print(library_report(args.folder or SAMPLE_LIBRARY, args.questions or SAMPLE_QUESTIONS,
                         reader=load(args.model, num_cores=args.cores), passages=args.passages,
                         scale_files=args.scale or None, progress=sys.stderr.isatty()))
    return 0


def add_library_command(library: argparse.ArgumentParser, formatter: Any,
                        show_help: Callable[[argparse.ArgumentParser], Callable[[argparse.Namespace], int]]) -> None:
    """Add `index`, `ask` and `bench` under the `library` command's parser."""
    from .documents.retrieve import METHODS
    from .sources import default_model

    library.set_defaults(run=show_help(library))
    sub = library.add_subparsers(dest="library_command", title="commands", metavar="COMMAND")

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("folder", help="a folder of .txt, .md, .html and .pdf files (read, never written)")
        parser.add_argument("--index", help="the index file (SQLite; default: one per folder in the kit's cache)")
        parser.add_argument("--max-mb", type=float, help="skip files larger than this many MB (default: 50)")

    index = sub.add_parser("index", help="index a folder, or bring its index up to date", formatter_class=formatter)
    common(index)
    index.set_defaults(run=cmd_index)

    ask = sub.add_parser("ask", help="answer a question from a folder's documents", formatter_class=formatter)
    common(ask)
    ask.add_argument("--question", "-q", required=True, help="the question")
    ask.add_argument("--top-k", "-k", type=int, default=3, help="how many answers to show, best first")
    ask.add_argument("--passages", "-p", type=int, default=3, help="how many of the best passages the reader reads")
    ask.add_argument("--method", choices=METHODS, default="hybrid", help="retrieval: BM25 and dense fused, or one alone")
    ask.add_argument("--model", "-m", default=default_model(), help="the reader: any model source")
    ask.add_argument("--cores", default=None, metavar="N|auto|all", help="cores the reader runs on (default: auto)")
    ask.add_argument("--no-update", action="store_true", help="ask the index as it is, without looking at the files")
    ask.add_argument("--json", action="store_true", help="print one JSON object: question, method, model, timings, "
                     "passages read, answers (text, file, page, start, end, probability, retrieval scores)")
    ask.set_defaults(run=cmd_ask)

    bench = sub.add_parser("bench", help="recall, EM/F1 per retrieval method, index and query speed", formatter_class=formatter)
    bench.add_argument("folder", nargs="?", help="a folder (default: the kit's sample library, data/library)")
    bench.add_argument("--questions", help="a question set (default: data/library_questions.json)")
    bench.add_argument("--passages", "-p", type=int, default=3, help="passages the reader reads per question")
    bench.add_argument("--scale", type=int, default=100, help="also time a library of this many files (0: not)")
    bench.add_argument("--model", "-m", default=default_model(), help="the reader: any model source")
    bench.add_argument("--cores", default=None, metavar="N|auto|all", help="cores the reader runs on (default: auto)")
    bench.set_defaults(run=cmd_bench)
