"""Reading: a question and a context into model windows, and start/end logits back into answers.

Both halves are pure functions of arrays, so they can be tested and reused without an engine.
They follow DeepSparse's question-answering pipeline step for step (the same tokenizer call, the
same n-best candidate search, the same score = start logit + end logit), so the kit's top answer
equals DeepSparse's; on top, the kit merges duplicate spans from overlapping windows, keeps the
top k, and turns scores into probabilities.
"""
from __future__ import annotations

import heapq
import math
import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import InputError
from .model_folder import check_lengths
from .results import Answer, Window

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
NO_OFFSET = -1
SEGMENT_CHARS = 100_000  # contexts longer than this are tokenized in pieces (see encode)
SEGMENT_OVERLAP = 2_000  # characters two pieces share, far more than the longest answer
SETTLE_EVERY = 32  # windows between settling spans no later window can hold (bounded memory)  # offset of a token that is not part of the context (question, specials, padding)


@dataclass
class Encoded:
    """A question and context cut into overlapping windows the model can read."""

    features: Dict[str, np.ndarray]  # input_ids, attention_mask, token_type_ids: (windows, sequence_length)
    offsets: np.ndarray  # (windows, sequence_length, 2) context character offsets; NO_OFFSET off-context
    question_tokens: int

    @property
    def n_windows(self) -> int:
        return self.offsets.shape[0]

    def windows(self) -> List[Window]:
        """The character extent of each window, for charts and highlighting."""
        result = []
        for i, offsets in enumerate(self.offsets):
            real = offsets[offsets[:, 0] != NO_OFFSET]
            start, end = (int(real[:, 0].min()), int(real[:, 1].max())) if len(real) else (0, 0)
            result.append(Window(index=i, char_start=start, char_end=end, token_offsets=offsets))
        return result


def check_text(question: str, context: str) -> None:
    """Refuse empty or blank inputs with a clear message before any work is done."""
    check_string("question", question)
    check_string("context", context)


def check_string(name: str, value: str) -> None:
    """Refuse one input (`name` is "question" or "context") that is not a string, is blank, or is not valid Unicode."""
    if not isinstance(value, str):
        raise InputError(f"The {name} must be a string, not {type(value).__name__}.")
    if not value.strip():
        raise InputError(f"The {name} is empty: type a {name} to ask about.")
    lone = _LONE_SURROGATE.search(value)
    if lone:
        # The tokenizer's offsets would not line up with Python's indices: answers would shift.
        raise InputError(
            f"The {name} holds a character that is not valid Unicode (a lone surrogate, {lone.group()!r}, at "
            f"position {lone.start()}), as bytes decoded with errors='surrogateescape' give: decode the text "
            "as UTF-8 (errors='replace' if need be) and ask again.")


def encode(tokenizer, question: str, context: str, sequence_length: int, doc_stride: int,
           on_segment: Optional[Callable[[int, int], None]] = None) -> Encoded:
    """Tokenize into overlapping windows exactly as DeepSparse's QA pipeline does.

    A context over SEGMENT_CHARS characters is tokenized in segments that overlap by
    SEGMENT_OVERLAP characters (cut at white space), so the tokenizer's own memory stays bounded
    (it holds every window's tokens as Python objects: about 450 MB per MB of text in one call).
    Windows are then the pipeline's within each segment; an answer near a cut is whole in one of
    the two segments. `on_segment(done, total)` is told as each segment is tokenized.
    """
    check_text(question, context)
    sequence_length, doc_stride = check_lengths(sequence_length, doc_stride)
    question_tokens = len(tokenizer(question, add_special_tokens=False)["input_ids"])
    specials = tokenizer.num_special_tokens_to_add(pair=True)
    room = sequence_length - question_tokens - specials  # context tokens per window
    if room < 1:
        raise InputError(
            f"The question is {question_tokens} tokens long, leaving no room for the context in "
            f"{sequence_length}-token windows: shorten the question or raise sequence_length."
        )
    if doc_stride >= room:
        # The fast tokenizer panics (a BaseException) on this; refuse it with a way out instead.
        raise InputError(
            f"doc_stride={doc_stride} is too large: with this question each window has room for "
            f"{room} context tokens, so use doc_stride below {room} or a longer sequence_length."
        )
    parts = []
    cuts = segments(context)
    for done, (first, last) in enumerate(cuts, start=1):
        features, offsets = _encode_segment(tokenizer, question, context[first:last], sequence_length, doc_stride)
        offsets[offsets != NO_OFFSET] += first
        parts.append((features, offsets))
        if on_segment is not None:
            on_segment(done, len(cuts))
    if len(parts) == 1:
        features, offsets = parts[0]
    else:
        features = {key: np.concatenate([f[key] for f, _ in parts]) for key in parts[0][0]}
        offsets = np.concatenate([o for _, o in parts])
    return Encoded(features=features, offsets=offsets, question_tokens=question_tokens)


def segments(context: str) -> List[Tuple[int, int]]:
    """(start, end) character ranges to tokenize apart: the whole text, or overlapping pieces of a huge one."""
    if len(context) <= SEGMENT_CHARS:
        return [(0, len(context))]
    cuts, first = [], 0
    while len(context) - first > SEGMENT_CHARS:
        last = _space_before(context, first + SEGMENT_CHARS, first + SEGMENT_CHARS // 2)
        cuts.append((first, last))
        first = _space_before(context, last - SEGMENT_OVERLAP, last - 2 * SEGMENT_OVERLAP)
    cuts.append((first, len(context)))
    return cuts


def _space_before(text: str, at: int, lowest: int) -> int:
    """The last white-space position at or before `at` (not below `lowest`), else `at` itself."""
    found = max(text.rfind(c, lowest, at + 1) for c in " \n\t")
    return found if found > lowest else at


def _encode_segment(tokenizer, question: str, context: str, sequence_length: int,
                    doc_stride: int) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
    pad_right = tokenizer.padding_side == "right"
    encoding = tokenizer(
        text=question if pad_right else context,
        text_pair=context if pad_right else question,
        truncation="only_second" if pad_right else "only_first",
        max_length=sequence_length,
        stride=doc_stride,
        return_token_type_ids=True,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
    )
    context_id = 1 if pad_right else 0
    n = len(encoding["input_ids"])
    offsets = np.full((n, sequence_length, 2), NO_OFFSET, dtype=np.int64)
    for w in range(n):
        in_context = np.array([seq == context_id for seq in encoding.sequence_ids(w)])
        offsets[w, in_context] = np.asarray(encoding["offset_mapping"][w], dtype=np.int64)[in_context]
    features = {
        key: np.asarray(encoding[key], dtype=np.int64)
        for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoding
    }
    return features, offsets


def decode(
    context: str,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    offsets: np.ndarray,
    top_k: int = 1,
    n_best_size: int = 20,
    max_answer_length: int = 15,
) -> List[Answer]:
    """Best spans across all windows: top-k by score, duplicates from overlaps merged.

    Candidates are DeepSparse's: in each window, every pair of the `n_best_size` highest start
    and end logits that lies in the context, ends after it starts and spans at most
    `max_answer_length` tokens. `probability` is a softmax over all merged candidates. Windows
    are taken in document order, and memory stays bounded however many there are.
    """
    if top_k < 1:
        raise InputError(f"top_k={top_k} must be 1 or more.")
    pool = _SpanPool(top_k)
    for w in range(offsets.shape[0]):
        start_idx = np.argsort(start_logits[w])[-1: -n_best_size - 1: -1]
        end_idx = np.argsort(end_logits[w])[-1: -n_best_size - 1: -1]
        s, e = np.meshgrid(start_idx, end_idx, indexing="ij")  # row-major: the pipeline's loop order
        s, e = s.ravel(), e.ravel()
        ok = (
            (offsets[w, s, 0] != NO_OFFSET) & (offsets[w, e, 0] != NO_OFFSET)
            & (e >= s) & (e - s + 1 <= max_answer_length)
        )
        s, e = s[ok], e[ok]
        pool.add(w, offsets[w, s, 0].tolist(), offsets[w, e, 1].tolist(), (start_logits[w, s] + end_logits[w, e]).tolist())
        if w % SETTLE_EVERY == SETTLE_EVERY - 1 and w + 1 < offsets.shape[0]:
            in_context = offsets[w + 1, :, 0][offsets[w + 1, :, 0] != NO_OFFSET]
            if len(in_context):  # spans starting before the next window can never be seen again
                pool.settle(int(in_context.min()))
    return pool.answers(context)


class _SpanPool:
    """Candidate spans merged across windows: each span's best score, the window that first gave it, and
    when it was first seen (ties keep that order, as the pipeline's loop does). Spans that no later
    window can hold are settled: counted in the softmax's sum and kept only if among the top k."""

    def __init__(self, top_k: int):
        self.top_k = top_k
        self.live: Dict[Tuple[int, int], list] = {}  # (start, end) -> [score, window, first seen]
        self.best: List[tuple] = []  # heap of (score, -first seen, start, end, window): the top k settled
        self.seen = 0
        self.peak, self.total = -math.inf, 0.0  # softmax denominator: sum of exp(score - peak)

    def add(self, window: int, starts: List[int], ends: List[int], scores: List[float]) -> None:
        for key, score in zip(zip(starts, ends), scores):
            known = self.live.get(key)
            if known is None:
                self.live[key] = [score, window, self.seen]
                self.seen += 1
            elif score > known[0]:
                known[0], known[1] = score, window

    def settle(self, before: int) -> None:
        """Settle every live span that starts before character `before`."""
        for key in [k for k in self.live if k[0] < before]:
            score, window, first = self.live.pop(key)
            if score > self.peak:
                self.total = self.total * math.exp(self.peak - score) + 1.0
                self.peak = score
            else:
                self.total += math.exp(score - self.peak)
            heapq.heappush(self.best, (score, -first, key[0], key[1], window))
            if len(self.best) > self.top_k:
                heapq.heappop(self.best)

    def answers(self, context: str) -> List[Answer]:
        self.settle(math.inf)
        ranked = sorted(self.best, key=lambda c: (-c[0], -c[1]))
        return [Answer(text=context[start:end], start=start, end=end, score=float(score),
                       probability=math.exp(score - self.peak) / self.total, rank=rank, window=int(window))
                for rank, (score, _, start, end, window) in enumerate(ranked, start=1)]


def attach_logits(windows: List[Window], read: Sequence[int], start_logits: np.ndarray, end_logits: np.ndarray,
                  keep: bool = True) -> List[Window]:
    """Mark which windows were read and, when `keep`, give each read window its logits (for charts)."""
    read_set = set(read)
    for window in windows:
        window.read = window.index in read_set
    if not keep:
        return windows
    for row, index in enumerate(read):
        windows[index].start_logits, windows[index].end_logits = start_logits[row], end_logits[row]
    return windows
