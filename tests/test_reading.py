"""Windowing and decoding as pure functions, with hand-made logits whose answers we know."""
import numpy as np
import pytest

from qa_kit.errors import InputError
from qa_kit.reading import NO_OFFSET, check_lengths, decode, encode

CONTEXT = "Ada founded the bank in 1907 in Lyon."
#          0123456789012345678901234567890123456


def offsets_for(spans, length=12):
    """Token offsets: token i covers spans[i]; the rest (question, padding) are off-context."""
    offsets = np.full((1, length, 2), NO_OFFSET)
    for i, span in enumerate(spans, start=2):  # tokens 0-1 stand for [CLS] and the question
        offsets[0, i] = span
    return offsets


TOKENS = [(0, 3), (4, 11), (12, 15), (16, 20), (21, 23), (24, 28), (29, 31), (32, 36), (36, 37)]
# tokens:  Ada    founded   the      bank     in       1907     in       Lyon     .
#  index:   2       3        4        5        6        7        8        9       10


def logits(peaks, length=12, floor=-10.0):
    row = np.full((1, length), floor, dtype=np.float32)
    for index, value in peaks.items():
        row[0, index] = value
    return row


def test_decode_picks_the_best_span_with_exact_offsets():
    answers = decode(CONTEXT, logits({7: 5.0}), logits({7: 4.0}), offsets_for(TOKENS))
    assert [(a.text, a.start, a.end) for a in answers] == [("1907", 24, 28)]
    assert answers[0].score == pytest.approx(9.0)


def test_top_k_is_ranked_and_probabilities_are_a_softmax_over_candidates():
    start = logits({7: 5.0, 9: 3.0})
    end = logits({7: 4.0, 9: 2.0})
    answers = decode(CONTEXT, start, end, offsets_for(TOKENS), top_k=3)
    assert [a.text for a in answers] == ["1907", "1907 in Lyon", "Lyon"]
    assert [a.score for a in answers] == pytest.approx([9.0, 7.0, 5.0])
    assert [a.rank for a in answers] == [1, 2, 3]
    # other candidates score 5 - 10 or less; the softmax runs over all of them
    assert answers[0].probability > answers[1].probability > answers[2].probability
    assert answers[0].probability / answers[1].probability == pytest.approx(np.exp(2.0), rel=1e-6)


def test_spans_outside_the_context_or_too_long_are_never_answers():
    # the highest logits sit on the question tokens (0, 1): they must be skipped
    start = logits({0: 50.0, 1: 40.0, 3: 1.0})
    end = logits({1: 50.0, 3: 1.0})
    answers = decode(CONTEXT, start, end, offsets_for(TOKENS))
    assert answers[0].text == "founded"
    # an answer longer than max_answer_length tokens is not a candidate
    long_answers = decode(CONTEXT, logits({2: 9.0}), logits({10: 9.0}), offsets_for(TOKENS), max_answer_length=3, top_k=50)
    assert all(a.end - a.start < len(CONTEXT) for a in long_answers)
    assert ("Ada founded the bank in 1907 in Lyon.") not in [a.text for a in long_answers]


def test_no_valid_span_gives_an_empty_list_not_an_index_error():
    offsets = np.full((1, 12, 2), NO_OFFSET)  # no context token at all
    assert decode(CONTEXT, logits({}), logits({}), offsets) == []


def test_duplicate_spans_from_overlapping_windows_are_merged_keeping_the_best():
    offsets = np.concatenate([offsets_for(TOKENS), offsets_for(TOKENS)])
    start = np.concatenate([logits({7: 2.0}), logits({7: 5.0})])
    end = np.concatenate([logits({7: 2.0}), logits({7: 4.0})])
    answers = decode(CONTEXT, start, end, offsets, top_k=5)
    texts = [a.text for a in answers]
    assert texts.count("1907") == 1
    assert answers[0].score == pytest.approx(9.0) and answers[0].window == 1


@pytest.mark.parametrize("top_k", [0, -1])
def test_bad_top_k_is_refused(top_k):
    with pytest.raises(InputError, match="top_k"):
        decode(CONTEXT, logits({}), logits({}), offsets_for(TOKENS), top_k=top_k)


@pytest.mark.parametrize("sequence_length, doc_stride, message", [
    (8, 2, "too small"), (1024, 128, "over 512"), (384, -1, "0 or more"), (128, 128, "smaller than"),
])
def test_window_arguments_are_validated(sequence_length, doc_stride, message):
    with pytest.raises(InputError, match=message):
        check_lengths(sequence_length, doc_stride)


def test_encode_windows_cover_a_long_context_with_overlap(tiny_reader):
    context = " ".join(f"Sentence {i} is about the bank run." for i in range(80))
    encoded = encode(tiny_reader.tokenizer, "who ran?", context, 64, 16)
    windows = encoded.windows()
    assert encoded.n_windows > 5
    assert windows[0].char_start == 0 and windows[-1].char_end == len(context)
    for before, after in zip(windows, windows[1:]):
        assert after.char_start < before.char_end  # overlap: no text falls between windows
    for offsets in encoded.offsets:  # every context token maps back onto the context
        real = offsets[offsets[:, 0] != NO_OFFSET]
        assert (real[:, 0] <= real[:, 1]).all() and real[:, 1].max() <= len(context)
    assert encoded.features["input_ids"].shape == (encoded.n_windows, 64)


@pytest.mark.parametrize("question, context", [("", "text"), ("   ", "text"), ("q?", ""), ("q?", " \n\t ")])
def test_blank_question_or_context_is_a_clear_value_error(tiny_reader, question, context):
    with pytest.raises(ValueError, match="empty"):
        encode(tiny_reader.tokenizer, question, context, 64, 16)


def test_a_doc_stride_the_tokenizer_would_panic_on_is_refused_up_front(tiny_reader):
    # 64-token windows with a ~30-token question leave ~30 context tokens: stride 40 cannot work
    question = "what " * 30
    with pytest.raises(InputError, match="doc_stride=40 is too large"):
        encode(tiny_reader.tokenizer, question, "some context " * 50, 64, 40)


def test_a_question_longer_than_the_window_is_refused(tiny_reader):
    with pytest.raises(InputError, match="shorten the question"):
        encode(tiny_reader.tokenizer, "why " * 100, "context", 64, 16)
