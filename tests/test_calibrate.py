"""qa_kit.calibrate: fast reading worked out from full reads, and a model's confident score."""
import math

import pytest

import qa_kit
from qa_kit.calibrate import calibrate, confident_score_from, read_from_full
from conftest import REPO

BANK_RUN = (REPO / "data" / "texts" / "bank_run.txt").read_text(encoding="utf-8")
SHORT = "Corrow Valley Bank was founded in 1911 by Josiah Pell."


def test_the_confident_score_is_the_lowest_score_above_which_enough_answers_agree():
    points = [(12.0, True), (11.0, True), (10.0, False), (9.0, True), (8.0, False)]
    assert confident_score_from(points, 1.0) == 11.0  # 12 and 11 agree; with 10, 2 of 3 do
    assert confident_score_from(points, 0.75) == 9.0  # 3 of the 4 scoring 9 or more agree
    assert confident_score_from(points, 0.6) == 8.0  # 3 of all 5
    assert confident_score_from(list(reversed(points)), 1.0) == 11.0  # order does not matter
    assert confident_score_from([(5.0, False)], 0.5) == math.inf  # never confident: always read on
    with pytest.raises(qa_kit.InputError, match="agreement=0"):
        confident_score_from(points, 0)


@pytest.mark.slow
def test_reading_from_a_full_read_gives_what_fast_reading_gives(demo_reader):
    question = "What was the deposit insurance limit?"  # unsure after its first windows: reads on
    full = demo_reader.ask(question, BANK_RUN)
    for score in (float("-inf"), demo_reader.confident_score, 1e9):
        asked = demo_reader.ask(question, BANK_RUN, fast=True, confident_score=score)
        worked_out = read_from_full(demo_reader, full, demo_reader.fast_windows, None if score == float("-inf") else score)
        assert worked_out.windows_read == [w.index for w in asked.windows if w.read]
        assert worked_out.answers == list(asked)
    assert len(read_from_full(demo_reader, full, 10, 1e9).windows_read) == len(full.windows) // 2
    with pytest.raises(qa_kit.InputError, match="skipped windows"):
        read_from_full(demo_reader, asked, 10, None)


@pytest.mark.slow
def test_calibrating_reads_long_texts_only_and_needs_no_gold_answers(demo_reader):
    questions = ["Who founded Corrow Valley Bank?", "What was the deposit insurance limit?",
                 "Who was the mayor of Corrow Falls?", "Who founded Corrow Valley Bank?"]
    found = calibrate(demo_reader, questions, [BANK_RUN] * 3 + [SHORT], agreement=0.9)
    assert found.skipped == 1 and len(found.points) == 3 and found.max_windows == demo_reader.fast_windows
    for row in found.points.itertuples():  # each point is the first round's answer, against full reading
        first = demo_reader.ask(row.question, BANK_RUN, fast=True, confident_score=float("-inf")).best
        full = demo_reader.ask(row.question, BANK_RUN).best
        assert row.fast_score == pytest.approx(first.score)
        assert row.agreed == ((first.start, first.end) == (full.start, full.end))
    assert found.score == confident_score_from(list(zip(found.points["fast_score"], found.points["agreed"])), 0.9)
    assert repr(found).startswith(f"Calibration(score={found.score:.2f}: ")
    with pytest.raises(qa_kit.InputError, match="calibrate on longer texts"):
        calibrate(demo_reader, ["Who founded it?"], [SHORT])
    with pytest.raises(qa_kit.InputError, match="one context per question"):
        calibrate(demo_reader, ["Who founded it?"], [])
