"""The Explorer and StubExplorer driven as a user would, without a kernel: set values, click, read."""
import html
import re
import time

import pytest

import qa_kit
from qa_kit import engines, stubs
from qa_kit.widgets import OWN_TEXT, Explorer, StubExplorer, short_message
from qa_kit.widgets.explorer import SETTLE_SECONDS

from conftest import REPO

TEXT = "Ada Lovelace was born in London in 1815. She wrote the first program for Babbage's engine."
MODEL = "tiny-random-bert"


@pytest.fixture(scope="module")
def reader():
    """The same model the Explorer loads, called directly, to check what the app shows."""
    return qa_kit.load(MODEL)


@pytest.fixture
def explorer():
    return Explorer(model=MODEL, context=TEXT)


def marked(result_html: str, label: str) -> str:
    """The text inside every <mark> whose colour key is `label`, joined in order."""
    pattern = r'<mark [^>]*data-label="' + re.escape(label) + r'"[^>]*>(.*?)</mark>'
    return html.unescape("".join(re.findall(pattern, result_html, flags=re.S)))


def body_rows(table_html: str) -> int:
    body = table_html.split("<tbody>", 1)[1]
    return body.count("<tr")


def status_text(explorer_or_status) -> str:
    value = getattr(explorer_or_status, "value", None) or explorer_or_status.status.value
    return html.unescape(re.sub(r"<[^>]+>", "", value)).strip()


def assert_short_error(widget_html: str) -> str:
    assert "qa-kit-status-error" in widget_html
    text = status_text(type("S", (), {"value": widget_html})())
    assert "Traceback" not in text and "\n" not in text and len(text) <= 310, text
    return text


def enter(app, question: str) -> None:
    """Type a question and press Enter, as the browser does: the value, then the submit event."""
    app.question.value = question
    app.question._handle_string_msg(app.question, {"event": "submit"}, [])


def assert_chart_in_both_themes(chart_html: str) -> None:
    """The chart widget holds a light and a dark PNG, and the style that shows one per theme."""
    import base64

    images = dict(re.findall(r'class="qa-kit-chart-(light|dark)"[^>]*src="data:image/png;base64,([^"]+)"', chart_html))
    assert set(images) == {"light", "dark"}
    assert all(base64.b64decode(data).startswith(b"\x89PNG") for data in images.values())
    assert images["light"] != images["dark"]
    assert 'body[data-jp-theme-light="false"] .qa-kit-chart-dark{display:inline}' in chart_html


def total_builds() -> int:
    return sum(engines.builds.values())


def test_ask_shows_the_readers_top_answer_highlighted_with_the_warning(explorer, reader):
    explorer.top_k.value = 3
    explorer.question.value = "Where was Ada born?"  # typed: nothing is asked until Enter or a click
    explorer.ask_button.click()
    direct = reader.ask("Where was Ada born?", TEXT, top_k=3)
    assert marked(explorer.result.value, "rank 1") == direct.best.text
    assert explorer.answers.best == direct.best
    assert "qa-kit-warning" in explorer.result.value
    assert html.escape(qa_kit.reader.RANDOM_WEIGHTS_NOTE, quote=False) in explorer.result.value
    assert body_rows(explorer.table.value) == 3
    assert html.escape(direct.best.text, quote=False) in explorer.table.value
    assert_chart_in_both_themes(explorer.chart.value)
    assert "qa-kit-status-done" in explorer.status.value
    assert not explorer.busy and not explorer.ask_button.disabled


def test_top_k_slider_changes_the_number_of_rows(explorer):
    explorer.question.value = "Who wrote the first program?"
    for k in (1, 4, 2):
        explorer.top_k.value = k
        explorer.ask_button.click()
        assert body_rows(explorer.table.value) == k
        assert len(explorer.answers) == k
    assert "rank 2" in explorer.result.value and "rank 3" not in explorer.result.value


def test_empty_text_or_question_gives_a_short_error_and_keeps_the_input(explorer):
    explorer.context.value = "   "
    explorer.question.value = "Where was Ada born?"
    explorer.ask_button.click()
    message = assert_short_error(explorer.status.value)
    assert "text is empty" in message
    assert explorer.question.value == "Where was Ada born?" and explorer.context.value == "   "
    assert explorer.result.value == ""

    explorer.context.value = TEXT
    explorer.question.value = "  "
    explorer.ask_button.click()
    assert "question is empty" in assert_short_error(explorer.status.value)
    assert explorer.context.value == TEXT and explorer.question.value == "  "
    assert not explorer.ask_button.disabled


def test_bad_stub_and_unknown_catalog_name_give_short_errors(explorer):
    explorer.model.value = "zoo:nlp/question_answering/bert-base"
    assert "framework" in explorer.model_info.value  # the picker says what is wrong as soon as it is typed
    explorer.question.value = "Where was Ada born?"
    explorer.ask_button.click()
    message = assert_short_error(explorer.status.value)
    assert "malformed" in message and "framework part" in message
    assert explorer.model.value == "zoo:nlp/question_answering/bert-base"

    explorer.model.value = "no-such-model"
    explorer.ask_button.click()
    message = assert_short_error(explorer.status.value)
    assert "no-such-model" in message and "catalog" in message
    assert isinstance(explorer.last_error, qa_kit.QAKitError)


def test_offline_zoo_stub_fails_fast_and_the_app_stays_usable(explorer, monkeypatch):
    monkeypatch.setenv("QA_KIT_TIMEOUT", "3")
    explorer.model.value = "bert-base-dense"  # a catalog name for a zoo: stub; no network here
    began = time.monotonic()
    enter(explorer, "Where was Ada born?")
    elapsed = time.monotonic() - began
    message = assert_short_error(explorer.status.value)
    assert elapsed < 20, elapsed
    assert "SparseZoo" in message
    assert any("downloading from SparseZoo" in m for level, m in explorer.history if level == "busy")
    assert not explorer.busy and not explorer.ask_button.disabled

    explorer.model.value = MODEL
    explorer.ask_button.click()
    assert "qa-kit-status-done" in explorer.status.value
    assert explorer.answers.model == MODEL


def test_asking_again_does_not_recompile(explorer):
    explorer.question.value = "Where was Ada born?"
    explorer.ask_button.click()
    before = total_builds()
    first = explorer.reader()
    explorer.question.value = "When was Ada born?"
    explorer.ask_button.click()
    explorer.ask()
    assert total_builds() == before
    assert explorer.reader() is first and len(explorer._readers) == 1
    assert explorer.answers.question == "When was Ada born?"


def test_a_click_while_busy_starts_nothing_and_the_busy_state_shows():
    engines.clear_cache()  # make the next load compile for real
    before = total_builds()
    app = Explorer(model=MODEL, context=TEXT, background=True)
    enter(app, "Where was Ada born?")  # starts loading in a background thread
    worker = app._worker
    assert app.busy and app.ask_button.disabled and app.compare_button.disabled
    time.sleep(SETTLE_SECONDS + 0.3)  # the job has read the question once typing settled; it is loading now
    app.question.value = "Who wrote the first program?"
    app.ask_button.click()
    assert app._worker is worker  # no second job
    assert "qa-kit-status-busy" in app.status.value and "still working" in app.status.value
    assert app.wait(120)
    assert total_builds() == before + 1
    busy = [m for level, m in app.history if level == "busy"]
    assert any(f"Loading {MODEL}" in m for m in busy) and any("compiling for deepsparse" in m for m in busy)
    assert not app.ask_button.disabled
    assert app.answers.question == "Where was Ada born?"
    # a call from code waits for a running job, then answers
    app.question.value = "When was Ada born?"
    answers = app.ask()
    assert answers is not None and answers.question == "When was Ada born?"
    assert total_builds() == before + 1


def test_picking_a_sample_fills_the_text_and_keeps_your_own(explorer):
    own = explorer.context.value
    assert explorer.sample.value == OWN_TEXT
    explorer.sample.value = "harbour_town"
    sample = (REPO / "data" / "texts" / "harbour_town.txt").read_text(encoding="utf-8")
    assert explorer.context.value == sample
    assert explorer.questions.value.splitlines()[0] in explorer.question.placeholder
    explorer.sample.value = OWN_TEXT
    assert explorer.context.value == own  # what the user typed comes back
    explorer.sample.value = "inventor"
    explorer.context.value = explorer.context.value + " Edited."
    assert explorer.sample.value == OWN_TEXT


def test_ask_all_answers_every_line(explorer, reader):
    questions = ["Where was Ada born?", "When was Ada born?", "", "Who wrote the first program?"]
    explorer.questions.value = "\n".join(questions)
    explorer.top_k.value = 2
    explorer.ask_all_button.click()
    asked = [q for q in questions if q]
    assert [a.question for a in explorer.answers] == asked
    for i, question in enumerate(asked, 1):
        best = reader.ask(question, TEXT, top_k=2).best
        assert explorer.answers[i - 1].best == best
        assert question in explorer.table.value
        assert f"Q{i}" in explorer.result.value
    assert body_rows(explorer.table.value) == 2 * len(asked)
    assert "qa-kit-warning" in explorer.result.value
    assert_chart_in_both_themes(explorer.chart.value)


@pytest.mark.slow
def test_compare_two_models_shows_both(explorer, monkeypatch):
    monkeypatch.chdir(REPO)
    folder = "data/models/tiny-random-bert"
    explorer.compare_models.value = [MODEL]
    explorer.model.value = folder
    explorer.add_model_button.click()
    assert explorer.compare_models.value == [MODEL, folder]
    explorer.questions.value = "When was Ada born?\nWho wrote the first program?"
    explorer.question.value = "Where was Ada born?"
    explorer.mode.selected_index = 2  # opening the Compare tab shows the question it will ask
    assert explorer.compare_questions.value == "Where was Ada born?"
    explorer.compare_button.click()
    comparison = explorer.comparison
    assert comparison.questions == ["Where was Ada born?"]
    assert comparison.models == [MODEL, folder]
    assert not comparison.errors
    legend = re.search(r'<div class="qa-kit-legend".*?</div>', explorer.result.value).group(0)
    for label in (MODEL, folder):
        assert f">{label}</span>" in legend  # one colour per model
        assert label in explorer.table.value
    best = comparison.answers[MODEL][0].best
    assert marked(explorer.result.value, MODEL) == best.text  # both models agree: the first one's colour
    assert comparison.answers[folder][0].best == best

    explorer.compare_questions.value = "When was Ada born?\nWho wrote the first program?"  # edited in the tab
    explorer.compare_button.click()
    assert explorer.comparison.questions == ["When was Ada born?", "Who wrote the first program?"]
    assert explorer.result.value.count('class="qa-kit-legend"') == 2
    assert body_rows(explorer.table.value) == 2 * 2 * explorer.top_k.value
    assert "qa-kit-warning" in explorer.result.value
    assert "qa-kit-status-done" in explorer.status.value
    assert_chart_in_both_themes(explorer.chart.value)


def test_compare_keeps_working_models_when_one_fails(explorer):
    explorer.compare_models.value = [MODEL, "no-such-model"]
    explorer.compare_questions.value = "Where was Ada born?"
    explorer.compare()
    assert set(explorer.comparison.errors) == {"no-such-model"}
    assert f'data-label="{MODEL}"' in explorer.result.value
    assert "1 of 2 models" in assert_short_error(explorer.status.value)


def test_text_is_escaped(reader):
    app = Explorer(model=MODEL, context="<script>alert(1)</script> Ada was born in London.")
    enter(app, "Where was Ada born?")
    assert "<script" not in app.result.value and "<script" not in app.table.value
    shown = html.unescape(re.sub(r"<[^>]+>", "", app.result.value))
    assert "<script>alert(1)</script> Ada was born in London." in shown


def test_explorer_displays_its_app(explorer):
    bundle = explorer._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.app.model_id
    assert Explorer().model.value == qa_kit.default_model()
    assert MODEL in explorer.model.options


def test_short_message_is_one_line_and_names_unexpected_errors():
    assert short_message(RuntimeError("boom\n  File x, line 3")) == "Unexpected RuntimeError: boom"
    assert len(short_message(qa_kit.SourceError("x" * 1000))) == 300


# ----------------------------------------------------------------------------- stub explorer

VNNI = "zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/12layer_pruned80_quant-none-vnni"


def test_stub_explorer_explains_a_stub():
    app = StubExplorer(VNNI)
    facts = html.unescape(app.explanation.value)
    assert "12 layers" in facts and "80% of weights pruned" in facts and "int8" in facts and "vnni" in facts
    assert "bert-base-pruned80-quant-vnni" in status_text(app.status)
    assert app.explanation.value.count("<tr>") == len(stubs.parse(VNNI).explain()) + 1
    assert (app.architecture.value, app.sparse_name.value, app.sparse_target.value) == ("bert", "12layer_pruned80_quant", "vnni")


def test_stub_explorer_shows_a_malformed_stub_as_a_short_error():
    app = StubExplorer()
    app.stub.value = "zoo:nlp/question_answering/bert-base"
    message = assert_short_error(app.status.value)
    assert "malformed" in message and "framework part" in message
    assert app.stub.value == "zoo:nlp/question_answering/bert-base"
    assert app.explanation.value == ""


def test_stub_explorer_explains_other_sources():
    app = StubExplorer("hf:someone/some-model")
    assert "Not a SparseZoo stub" in status_text(app.status)
    assert "Hugging Face" in app.explanation.value


def test_stub_explorer_builds_a_stub_from_dropdowns():
    app = StubExplorer()
    app.architecture.value = "obert"
    app.sub_architecture.value = "large"
    app.sparse_name.value = "pruned95"
    app.sparse_category.value = "none"
    app.sparse_target.value = "vnni"
    app.build_button.click()
    expected = "zoo:nlp/question_answering/obert-large/pytorch/huggingface/squad/pruned95-none-vnni"
    assert app.stub.value == expected and str(app.built) == expected
    assert "obert-large-pruned95-vnni" in status_text(app.status)
    assert "95% of weights pruned" in app.explanation.value

    app.sparse_name.value = "pruned90"
    app.sparse_target.value = "(none)"
    app.build_button.click()
    assert app.stub.value.endswith("/pruned90-none")
    assert "Not in the kit's catalog" in status_text(app.status)


@pytest.mark.slow
def test_fast_reading_switch_reads_a_long_text_best_windows_first_and_says_why_it_read_on(demo_reader):
    """The demo model (real weights) on the bank-run sample: an unsure first answer makes it read on, and
    the result says why and where it stopped."""
    app = Explorer(model=str(REPO / "data" / "models" / "demo-minilm"))
    app.sample.value = "bank_run"
    app.question.value = "What was the deposit insurance limit?"
    app.fast.value = True
    app.ask_button.click()
    direct = demo_reader.ask(app.question.value, app.context.value, fast=True)
    read = sum(w.read for w in app.answers.windows)
    assert app.answers.best == direct.best and read == sum(w.read for w in direct.windows)
    assert demo_reader.fast_windows < read < len(app.answers.windows)
    assert html.escape(direct.note, quote=False) in app.result.value and "no answer reached" in direct.note
    app.fast.value = False
    app.ask_button.click()
    assert all(w.read for w in app.answers.windows) and app.answers.note is None


def test_leaving_the_question_box_asks_nothing_and_enter_then_click_asks_once(explorer):
    explorer.question.value = "Where was Ada born?"  # typing, then clicking elsewhere (a blur)
    assert explorer.answers is None and explorer.result.value == ""
    enter(explorer, "Where was Ada born?")
    assert explorer.answers.question == "Where was Ada born?"
    asked = len([m for level, m in explorer.history if level == "done"])
    explorer.ask_button.click()  # the same question just answered: not asked again, and not refused
    assert len([m for level, m in explorer.history if level == "done"]) == asked
    assert "still working" not in explorer.status.value


@pytest.mark.slow
def test_the_compare_tab_keeps_questions_the_user_typed_there(explorer):
    explorer.compare_models.value = [MODEL]
    explorer.question.value = "Where was Ada born?"
    explorer.mode.selected_index = 2
    explorer.compare_questions.value = "Who wrote the first program?"
    explorer.mode.selected_index = 0
    explorer.question.value = "When was Ada born?"
    explorer.mode.selected_index = 2  # the user's own line stays; the Ask tab's new question is not forced in
    assert explorer.compare_questions.value == "Who wrote the first program?"
    explorer.compare_button.click()
    assert explorer.comparison.questions == ["Who wrote the first program?"]
    explorer.compare_questions.value = "  "
    explorer.compare_button.click()
    assert "Compare tab" in assert_short_error(explorer.status.value)


def test_results_are_greyed_with_a_line_once_the_text_the_model_or_an_error_moves_on(explorer):
    enter(explorer, "Where was Ada born?")
    assert "qa-kit-stale" not in explorer.result.value and explorer.chart.layout.display is None
    explorer.context.value = TEXT + " She died in 1852."
    assert "qa-kit-stale" in explorer.result.value and "qa-kit-stale" in explorer.table.value
    assert "from before the text changed" in status_text(type("S", (), {"value": explorer.result.value})())
    assert explorer.chart.layout.display == "none"
    explorer.ask_button.click()  # asked again: fresh
    assert "qa-kit-stale" not in explorer.result.value and explorer.chart.layout.display is None
    explorer.model.value = "data/models/tiny-random-bert"
    assert "from before the model, engine or cores changed" in explorer.result.value
    explorer.model.value = MODEL
    explorer.ask_button.click()
    explorer.question.value = "  "
    explorer.ask_button.click()  # an error line: the answer above it is greyed, not taken for this one
    assert "question is empty" in assert_short_error(explorer.status.value)
    assert "from before this error" in explorer.result.value
    assert explorer.result.value.count('class="qa-kit-stale"') == 1  # greyed once, not nested


def test_back_to_your_own_text_drops_the_samples_questions_but_keeps_yours(explorer):
    explorer.sample.value = "harbour_town"
    assert explorer.questions.value.strip()  # the sample's questions, filled in
    explorer.sample.value = OWN_TEXT
    assert explorer.questions.value == "" and explorer.context.value == TEXT
    explorer.sample.value = "harbour_town"
    explorer.questions.value = "Which questions are mine?"
    explorer.sample.value = OWN_TEXT
    assert explorer.questions.value == "Which questions are mine?"


def test_the_cores_picker_loads_the_model_on_the_cores_chosen_and_says_how_many(explorer):
    assert explorer.cores.value == "auto" and explorer.cores.options[0] == ("auto", "auto")
    explorer.question.value = "Who was born in London?"
    explorer.cores.value = 1
    answers = explorer.ask()
    assert answers is not None
    reader = explorer.reader()
    assert reader.cores.count == 1 and reader.engine.num_cores == 1
    assert "1 of " in status_text(explorer) and "core" in status_text(explorer)
    explorer.cores.value = "auto"  # another choice greys the results: they came from the 1-core engine
    assert "qa-kit-stale" in explorer.result.value
    explorer.ask()
    assert explorer.reader().cores.reason == "auto"
    assert f"{explorer.reader().cores.count} of " in status_text(explorer)


def test_the_documents_tab_asks_a_folder_and_hides_the_text_while_open(explorer):
    assert explorer.mode.titles[-1] == "Documents" and explorer.documents is not None
    explorer.question.value = "Who was born in London?"
    explorer.ask()
    explorer.mode.selected_index = 3
    hidden = (explorer.context, explorer.sample, explorer.result, explorer.table, explorer.chart, explorer.status)
    assert all(widget.layout.display == "none" for widget in hidden)
    assert explorer.documents.folder.value.endswith("library")  # the kit's sample library to start with
    explorer.mode.selected_index = 0
    assert all(widget.layout.display is None for widget in hidden)  # the answer and its chart are back


def test_enter_right_after_fast_typing_asks_the_whole_question():
    """The browser may deliver Enter before the last keys: the job waits until the text stops changing."""
    app = Explorer(model=MODEL, context=TEXT, background=True)
    app.question.value = "Where wa"
    app.question._handle_string_msg(app.question, {"event": "submit"}, [])  # Enter, ahead of the last keys
    time.sleep(0.1)
    app.question.value = "Where was Ada born?"  # the held-back keys arrive
    assert app.wait(120)
    assert app.answers.question == "Where was Ada born?"
