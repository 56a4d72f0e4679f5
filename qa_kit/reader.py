"""`load()` and `Reader.ask()`: a model source, an engine and the reading steps, put together.

`load` resolves the source to a private cached folder, loads the model's own fast tokenizer and
compiles the engine (once per model, engine and sequence length for the whole process). `ask`
runs three timed stages: tokenize into windows, run the engine, decode the answers.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .cores import Cores, CoresLike, resolve_cores
from .engines import Engine, check_engine_name, get_engine
from .errors import InputError, whole_number
from dataclasses import dataclass, replace

from .ranking import rank_windows
from .model_folder import RANDOM_WEIGHTS_NOTE, load_tokenizer, model_config, model_window, says_random_weights
from .reading import attach_logits, check_lengths, decode, encode
from .results import Answer, Answers
from .sources import ResolvedModel, resolve

FAST_READ_TOKENS = 1536  # fast reading's default budget: 4 windows of 384 tokens, 8 of 192
FAST_READ_MOST = 0.5  # an unsure fast reading reads on, but never past this share of the windows
KEEP_LOGITS_WINDOWS = 1000  # past this many windows, answers keep no logits unless asked (keep_logits=True)
PROGRESS_WINDOWS = 256  # past this many windows to read, a progress bar shows
PROGRESS_CHUNK = 64  # windows per engine call while a progress bar shows


def fast_window_count(sequence_length: int) -> int:
    """How many windows fast reading reads by default: about FAST_READ_TOKENS tokens, at least 2."""
    return max(2, round(FAST_READ_TOKENS / sequence_length))


def check_confident_score(score: object) -> Optional[float]:
    """A confident score must be a number: a raw start + end logit. -inf means never read on, and
    comes back as None, as for a model without one."""
    if isinstance(score, bool) or not isinstance(score, (int, float)) or score != score:
        raise InputError(f"confident_score={score!r} must be a number: a raw answer score such as 11.0, "
                         "or -inf to read only max_windows.")
    return None if score == float("-inf") else float(score)


class _Progress:
    """A tqdm bar that appears only once a job has at least `least` steps (short questions show nothing)."""

    def __init__(self, what: str, unit: str, enabled: bool, least: int):
        self.what, self.unit, self.enabled, self.least = what, unit, enabled, least
        self.bar, self.done = None, 0

    def update_to(self, done: int, total: int) -> None:
        if self.bar is None and self.enabled and total >= self.least:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=self.what, unit=self.unit, leave=False)
        if self.bar is not None:
            self.bar.update(done - self.done)
        self.done = done

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


@dataclass
class Reading:
    """What reading some of a text's windows gave: which were read (document order), their logits,
    the answers, and in how many rounds and how long."""

    windows_read: List[int]  # indexes of the windows read, in document order
    start_logits: np.ndarray
    end_logits: np.ndarray
    answers: List[Answer]
    rounds: int
    engine_seconds: float
    decode_seconds: float

    def note(self, total: int, first: int, confident_score: Optional[float]) -> Optional[str]:
        """Why fast reading read more than its first windows, for the result; None when it did not."""
        if self.rounds == 1 or confident_score is None:
            return None
        best = f"{self.answers[0].score:.1f}" if self.answers else "none"
        if self.answers and self.answers[0].score >= confident_score:
            return (f"Fast reading read {len(self.windows_read)} of {total} windows: the best answer in the first {first} "
                    f"scored below this model's confident score ({confident_score:.2f}), so it read on "
                    f"until one scored {best}.")
        return (f"Fast reading read {len(self.windows_read)} of {total} windows and stopped there: no answer reached "
                f"this model's confident score ({confident_score:.2f}), the best scored {best}. "
                f"Reading every window (fast off) may find a better one.")


class Reader:
    """A question-answering model ready to answer: `reader.ask(question, context, top_k=1)`."""

    def __init__(
        self,
        resolved: ResolvedModel,
        engine: str = "deepsparse",
        sequence_length: Optional[int] = None,
        doc_stride: Optional[int] = None,
        batch_size: Optional[int] = None,
        num_cores: Union[CoresLike, Cores] = None,
        max_answer_length: int = 15,
        n_best_size: int = 20,
    ):
        check_engine_name(engine)
        self.cores = num_cores if isinstance(num_cores, Cores) else resolve_cores(num_cores)
        config = model_config(resolved.model_dir)
        sequence_length, doc_stride = model_window(config, sequence_length, doc_stride)
        self.source = resolved.source
        self.origin = resolved.origin
        self.model_dir = resolved.model_dir
        self.engine_name = engine
        self.sequence_length = sequence_length
        self.doc_stride = doc_stride
        self.max_answer_length = max_answer_length
        self.n_best_size = n_best_size
        self.random_weights = says_random_weights(config)
        # fast reading reads on while the best answer scores below this (None: never reads on); a
        # model's own score was calibrated at its own window, and raw scores shift with the window
        confident = config.get("qa_kit_defaults", {}).get("fast_confident_score")
        confident = None if confident is None else check_confident_score(confident)
        if (sequence_length, doc_stride) != model_window(config):
            confident = None
        self.confident_score: Optional[float] = confident
        self.tokenizer = load_tokenizer(self.model_dir)
        self._tokenizing = threading.Lock()
        self.engine: Engine = get_engine(self.model_dir, engine, sequence_length, batch_size, self.cores)
        if self.cores.reason == "auto" and self.engine.num_cores != self.cores.count:
            # auto took this model's engine compiled already on other cores, rather than compile again
            self.cores = Cores(self.engine.num_cores, self.cores.available, "auto", self.cores.busy, reused=True)

    @property
    def name(self) -> str:
        """The name the user gave the model (its source string)."""
        return self.source

    @property
    def fast_windows(self) -> int:
        """Windows fast reading reads unless told: about 1,536 tokens' worth (4 at 384, 8 at 192)."""
        return fast_window_count(self.sequence_length)

    def ask(self, question: str, context: str, top_k: int = 1, *, fast: bool = False,
            max_windows: Optional[int] = None, confident_score: Optional[float] = None,
            keep_logits: Optional[bool] = None, progress: bool = True) -> Answers:
        """Answer a question from a context: the top-k spans, best first, with stage timings.

        With `fast=True` a long context is read best windows first, ranked by the words they share
        with the question (BM25): `max_windows` of them (default: `fast_windows`), then as many
        again while the best answer scores below `confident_score` (default: the reader's, from the
        model's config when read at the model's own window; -inf reads no more), never past half
        the windows. Skipped windows are marked so on the result; `note` says why it read on.

        Each read window keeps its logits (for charts) when `keep_logits`, by default when the text
        has at most KEEP_LOGITS_WINDOWS windows. A text of more than PROGRESS_WINDOWS windows shows
        a progress bar (`progress=False` hides it); Ctrl-C or a notebook's interrupt stops it.
        """
        top_k = whole_number(top_k, "top_k")
        max_windows = whole_number(self.fast_windows if max_windows is None else max_windows, "max_windows")
        threshold = self.confident_score if confident_score is None else check_confident_score(confident_score)
        began = time.perf_counter()
        with self._tokenizing, _Progress("tokenizing", "segment", progress, least=4) as bar:
            # (a fast tokenizer used from two threads at once fails: "Already borrowed")
            encoded = encode(self.tokenizer, question, context, self.sequence_length, self.doc_stride, bar.update_to)
        windows = encoded.windows()
        order, first = list(range(len(windows))), len(windows)
        if fast and len(windows) > max_windows:
            order = rank_windows(question, [context[w.char_start:w.char_end] for w in windows])
            first = max_windows
        tokenized = time.perf_counter()

        def run(indexes: List[int]) -> Tuple[np.ndarray, np.ndarray]:
            chunks = [indexes[i:i + PROGRESS_CHUNK] for i in range(0, len(indexes), PROGRESS_CHUNK)]
            starts, ends = [], []
            with _Progress("reading", "window", progress, least=PROGRESS_WINDOWS + 1) as bar:
                for chunk in chunks:
                    start, end = self.engine.run({k: v[chunk] for k, v in encoded.features.items()})
                    starts.append(start)
                    ends.append(end)
                    bar.update_to(bar.done + len(chunk), len(indexes))
            return np.concatenate(starts), np.concatenate(ends)

        reading = self.read_windows(context, encoded.offsets, order, run, top_k, first=first, confident_score=threshold)
        done = time.perf_counter()
        return Answers(
            question=question,
            context=context,
            answers=reading.answers,
            model=self.source,
            engine=self.engine_name,
            timings={"tokenize": tokenized - began, "engine": reading.engine_seconds,
                     "decode": reading.decode_seconds, "total": done - began},
            windows=attach_logits(windows, reading.windows_read, reading.start_logits, reading.end_logits,
                                  keep=len(windows) <= KEEP_LOGITS_WINDOWS if keep_logits is None else bool(keep_logits)),
            warning=RANDOM_WEIGHTS_NOTE if self.random_weights else None,
            note=reading.note(len(windows), first, threshold),
        )

    def read_windows(self, context: str, offsets: np.ndarray, order: Sequence[int],
                     run: Callable[[List[int]], Tuple[np.ndarray, np.ndarray]], top_k: int = 1, *,
                     first: Optional[int] = None, confident_score: Optional[float] = None) -> "Reading":
        """Read windows in `order` (best first): `first` of them, then `first` more at a time while the
        best answer scores below `confident_score`, up to half of them (or `first`, if more).

        `run(indexes)` gives those windows' start and end logits: the engine in `ask`, stored logits
        in the benchmark's fast-reading curve, so both read alike.
        """
        total = len(order)
        first = total if first is None else min(first, total)
        most = first if confident_score is None else max(first, int(total * FAST_READ_MOST))
        logits: dict = {}  # window index -> (start logits, end logits)
        engine_seconds = decode_seconds = 0.0
        size, rounds = first, 0
        while True:
            batch = sorted(order[len(logits):size])
            began = time.perf_counter()
            start, end = run(batch)
            ran = time.perf_counter()
            logits.update((index, (start[row], end[row])) for row, index in enumerate(batch))
            read = sorted(logits)
            start_logits = np.stack([logits[i][0] for i in read])
            end_logits = np.stack([logits[i][1] for i in read])
            answers = self.decode_read(context, start_logits, end_logits, offsets, read, top_k)
            engine_seconds += ran - began
            decode_seconds += time.perf_counter() - ran
            rounds += 1
            confident = confident_score is None or bool(answers) and answers[0].score >= confident_score
            if confident or size >= most:
                return Reading(read, start_logits, end_logits, answers, rounds, engine_seconds, decode_seconds)
            size = min(most, size + first)

    def decode_read(self, context: str, start_logits: np.ndarray, end_logits: np.ndarray, offsets: np.ndarray,
                    read: Sequence[int], top_k: int = 1) -> List[Answer]:
        """The best spans from the logits of the windows `read` (one row each), with this reader's
        n-best and answer-length limits; answers carry document window numbers."""
        answers = decode(context, start_logits, end_logits, offsets[list(read)], top_k=top_k,
                         n_best_size=self.n_best_size, max_answer_length=self.max_answer_length)
        return [replace(a, window=read[a.window]) for a in answers]

    def __repr__(self) -> str:
        return (f"Reader({self.source!r}, engine={self.engine_name!r}, sequence_length={self.sequence_length}, "
                f"doc_stride={self.doc_stride}, num_cores={self.cores.count}, model_dir={str(self.model_dir)!r})")


def load(
    source: str,
    engine: str = "deepsparse",
    sequence_length: Optional[int] = None,
    doc_stride: Optional[int] = None,
    *,
    batch_size: Optional[int] = None,
    num_cores: CoresLike = None,
    max_answer_length: int = 15,
    n_best_size: int = 20,
    timeout: Optional[float] = None,
    revision: Optional[str] = None,
    on_step: Optional[Callable[[str], None]] = None,
) -> Reader:
    """Load a QA model from a folder, .onnx file, zoo: stub, hf: repo, catalog name or server URL.

    Windows are `sequence_length` tokens overlapping by `doc_stride` (default: what the model's
    config asks for under "qa_kit_defaults", else 384 and 128). `timeout` bounds how long a zoo:
    or hf: source may wait on the network (default 10 s, or $QA_KIT_TIMEOUT), and `revision` pins an
    hf: repo to a branch, tag or commit; a PyTorch checkpoint is exported to ONNX once. It always runs
    from a private cached copy ($QA_KIT_CACHE). `on_step(step)` is told each slow step as it
    starts, for progress messages: "connect" (a server URL), or "fetch" then "compile". `num_cores`
    is a whole number, "all", or "auto" (the default, or $QA_KIT_CORES): the cores no other work is
    using when the model loads (`reader.cores` says how many and why).
    """
    step = on_step or (lambda _: None)
    if isinstance(source, str) and source.strip().startswith(("http://", "https://")):
        from .server import ServerReader  # a running DeepSparse server answers instead

        step("connect")
        return ServerReader(source.strip(), timeout=timeout)
    check_engine_name(engine)
    if sequence_length is not None and doc_stride is not None:
        check_lengths(sequence_length, doc_stride)  # before any download
    cores = resolve_cores(num_cores)  # a bad number is refused before any download
    step("fetch")
    resolved = resolve(source, timeout=timeout, revision=revision)
    step("compile")
    return Reader(resolved, engine, sequence_length, doc_stride, batch_size, cores, max_answer_length, n_best_size)
