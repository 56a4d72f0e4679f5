"""Reading: a question and a context into model windows, and start/end logits back into answers.

Both halves are pure functions of arrays, so they can be tested and reused without an engine.
They follow DeepSparse's question-answering pipeline step for step (the same tokenizer call, the
same n-best candidate search, the same score = start logit + end logit), so the kit's top answer
equals DeepSparse's; on top, the kit merges duplicate spans from overlapping windows, keeps the
top k, and turns scores into probabilities.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .errors import InputError, whole_number
from .results import Answer, Window

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
NO_OFFSET = -1  # offset of a token that is not part of the context (question, specials, padding)


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
    for name, value in (("question", question), ("context", context)):
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


def check_lengths(sequence_length: int, doc_stride: int) -> Tuple[int, int]:
    """Validate window arguments that do not depend on the question; return them as ints."""
    sequence_length = whole_number(sequence_length, "sequence_length", 1)
    if sequence_length < 16:
        raise InputError(f"sequence_length={sequence_length!r} is too small: use 16 or more (384 is usual).")
    if sequence_length > 512:
        raise InputError(f"sequence_length={sequence_length} is over 512, the most BERT-style models can read.")
    doc_stride = whole_number(doc_stride, "doc_stride", 0)
    if doc_stride >= sequence_length:
        raise InputError(f"doc_stride={doc_stride} must be smaller than sequence_length={sequence_length} (128 for 384 is usual).")
    return sequence_length, doc_stride


def encode(tokenizer, question: str, context: str, sequence_length: int, doc_stride: int) -> Encoded:
    """Tokenize into overlapping windows exactly as DeepSparse's QA pipeline does."""
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
    return Encoded(features=features, offsets=offsets, question_tokens=question_tokens)


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
    `max_answer_length` tokens. `probability` is a softmax over all merged candidates.
    """
    if top_k < 1:
        raise InputError(f"top_k={top_k} must be 1 or more.")
    spans: Dict[tuple, tuple] = {}  # (start char, end char) -> (score, window); first seen wins ties
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
        scores = start_logits[w, s] + end_logits[w, e]
        for si, ei, score in zip(offsets[w, s, 0].tolist(), offsets[w, e, 1].tolist(), scores.tolist()):
            best = spans.get((si, ei))
            if best is None or score > best[0]:
                spans[(si, ei)] = (score, w)
    if not spans:
        return []
    keys = list(spans)
    scores = np.array([spans[k][0] for k in keys], dtype=np.float64)
    order = np.argsort(-scores, kind="stable")  # stable: ties keep the pipeline's order
    probabilities = np.exp(scores - scores.max())
    probabilities /= probabilities.sum()
    answers = []
    for rank, i in enumerate(order[:top_k], start=1):
        start, end = keys[i]
        answers.append(Answer(
            text=context[start:end], start=start, end=end, score=float(scores[i]),
            probability=float(probabilities[i]), rank=rank, window=int(spans[keys[i]][1]),
        ))
    return answers


def attach_logits(windows: List[Window], read: Sequence[int], start_logits: np.ndarray, end_logits: np.ndarray) -> List[Window]:
    """Mark which windows were read and give each read window its logits (for charts)."""
    read_set = set(read)
    for window in windows:
        window.read = window.index in read_set
    for row, index in enumerate(read):
        windows[index].start_logits, windows[index].end_logits = start_logits[row], end_logits[row]
    return windows
