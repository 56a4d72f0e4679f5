"""The question-answering `Explorer`: paste a text, pick a model, ask; answers highlighted, tabled, charted.

It shows itself when they are the last line of a cell. Everything they display is plain
widget state (`HTML.value`, `Image.value`), so they can be driven and read without a kernel:
set `.value`, call `.click()`, read `.value`.

Decisions worth knowing:
- `Explorer.ask()`, `.ask_all()` and `.compare()` run synchronously and return their results;
  a running job makes them wait for it. Clicks and Enter in a live kernel run the job in a
  background thread so the busy state shows while a model downloads or compiles; a click while
  a job runs is ignored (one job at a time, so never a second compile). `.wait()` joins the job.
- Readers are cached per (model, engine, cores) inside the Explorer; engines are also cached per process.
- Cores start on "auto": the cores no other work is using when a model loads (qa_kit.cores).
- A click that repeats the request just answered (Enter, then Ask) within 2 s is dropped.
- Every failure is shown in `.status` as one short line, never a traceback; inputs are never cleared.
"""
from __future__ import annotations

import logging
import threading
import time
import warnings
from collections import deque
from typing import Any, Callable, Dict, List, Optional, Tuple

import ipywidgets as w

from .. import stubs
from ..charts import questions_chart, topk_chart
from ..engines import ENGINES, check_engine_name
from ..errors import InputError, QAKitError
from ..reader import load
from ..reader_protocol import ReadOptions
from ..render import escape_text, timings_text
from ..results import Answers
from ..sources import default_model, sample_questions, sample_texts, source_kind
from ..text import milliseconds
from .documents import explorer_tab
from .parts import (DEDUPE_SECONDS, ENGINE_LABELS, FULL_WIDTH, MAX_MESSAGE, MUTED, OWN_TEXT, SAMPLE_QUESTIONS,
                    WIDE_LABEL, chart_html, frame_html, in_kernel, lines, scroll, short_message, status_html,
                    table_wrap)
from .views import (answer_html, cores_options, excerpt_window, fetch_phrase, list_html, on_cores,
                    source_line_html)

log = logging.getLogger(__name__)
SETTLE_SECONDS = 0.3  # a job started from the browser waits until typing has been still this long
SETTLE_LIMIT = 2.0  # but never longer than this


DOCUMENTS_TAB = 3  # the tabs: Ask, Ask a list, Compare models, Documents


class Explorer:
    """Paste a text, pick a model, ask: highlighted answers, a table and a chart, in one app.

    `Explorer()` as the last line of a cell shows it. `model=None` starts on the kit's default
    model; `models` pre-fills compare mode. Drive it from code with `.ask()`, `.ask_all()` and
    `.compare()`, which return what they show.
    """

    def __init__(
        self,
        model: Optional[str] = None,
        context: Optional[str] = None,
        engine: str = "deepsparse",
        models: Optional[List[str]] = None,
        *,
        top_k: int = 3,
        sequence_length: Optional[int] = None,
        doc_stride: Optional[int] = None,
        background: Optional[bool] = None,
    ):
        check_engine_name(engine)
        self.sequence_length = sequence_length
        self.doc_stride = doc_stride
        self.background = background  # None: in a background thread only inside a kernel
        self.answers: Any = None  # the last Answers (ask) or list of Answers (ask all)
        self.comparison: Any = None  # the last Comparison (compare)
        self.last_error: Optional[BaseException] = None
        self.history: deque = deque(maxlen=100)  # (level, message) of every status line shown
        self._readers: Dict[Tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._worker: Optional[threading.Thread] = None
        self._busy_message = ""
        self._last: Tuple[Any, float] = (None, 0.0)
        self._syncing = False
        self._texts = sample_texts()
        self._own_text = context or ""
        self._autofilled = ""
        self._copied = ""  # what opening the Compare tab last copied into its questions box
        self._typed_at = 0.0  # when a text box last changed (see _settle)
        self._stale = False  # the results on screen are greyed: they belong to an earlier text or model
        model = model if model is not None else default_model()
        self._build_widgets(model, engine, models if models is not None else [model], top_k)
        self._wire()
        if context is not None:
            self.context.value = context
        else:
            first = "inventor" if "inventor" in self._texts else next(iter(self._texts), None)
            if first is not None:
                self.sample.value = first  # fills the context through the observer
        self._describe_model()
        self._say("Type a question and press Enter (or click Ask).", "info")

    # -- widgets
    def _build_widgets(self, model: str, engine: str, models: List[str], top_k: int) -> None:
        names = list(stubs.catalog()["name"])
        self.model = w.Combobox(value=model, options=names, ensure_option=False, description="Model",
                                placeholder="catalog name, zoo: stub, hf:OWNER/NAME or a folder",
                                continuous_update=False, layout=w.Layout(width="420px"), style=WIDE_LABEL)
        self.engine = w.Dropdown(options=[(ENGINE_LABELS.get(e, e), e) for e in ENGINES], value=engine,
                                 description="Engine", layout=w.Layout(width="220px"), style=WIDE_LABEL)
        self.cores = w.Dropdown(options=cores_options(), value="auto", description="Cores",
                                tooltip="auto: the cores no other program is using when the model loads",
                                layout=w.Layout(width="160px"), style=WIDE_LABEL)
        self.top_k = w.IntSlider(value=top_k, min=1, max=10, description="Top k", continuous_update=False,
                                 layout=w.Layout(width="260px"), style=WIDE_LABEL)
        self.fast = w.Checkbox(value=False, description="Fast reading (long texts: best windows first)",
                               tooltip="Reads the windows sharing most words with the question; reads on while the model is unsure",
                               indent=False, layout=w.Layout(width="auto"))
        self.model_info = w.HTML(layout=FULL_WIDTH)
        self.sample = w.Dropdown(options=[OWN_TEXT] + list(self._texts), value=OWN_TEXT, description="Text",
                                 layout=w.Layout(width="320px"), style=WIDE_LABEL)
        self.context = w.Textarea(placeholder="Paste the text to ask about here.", rows=10,
                                  layout=w.Layout(width="100%", height="220px"))
        # continuous_update: the value follows each key, so leaving the box (a blur) asks nothing;
        # Enter asks through the submit event, the button through its click
        self.question = w.Text(description="Question", placeholder="Type a question and press Enter",
                               continuous_update=True, layout=w.Layout(width="100%"), style=WIDE_LABEL)
        self.ask_button = w.Button(description="Ask", button_style="primary", icon="search",
                                   tooltip="Ask the question about the text")
        self.questions = w.Textarea(placeholder="One question per line", rows=6,
                                    layout=w.Layout(width="100%", height="140px"))
        self.ask_all_button = w.Button(description="Ask all", button_style="primary", icon="list",
                                       tooltip="Ask every line of the list about the text")
        self.compare_models = w.TagsInput(value=[m for m in models if m.strip()], allow_duplicates=False,
                                          layout=w.Layout(width="100%"))
        self.add_model_button = w.Button(description="Add the model above", icon="plus",
                                         tooltip="Add the model in the Model box to the comparison",
                                         layout=w.Layout(width="auto"))
        self.compare_questions = w.Textarea(placeholder="The questions every model is asked, one per line "
                                            "(opening this tab copies the Ask tab's question here)", rows=3,
                                            layout=w.Layout(width="100%", height="80px"))
        self.compare_button = w.Button(description="Compare", button_style="primary", icon="columns",
                                       tooltip="Ask the question(s) of every model listed")
        self.status = w.HTML(layout=FULL_WIDTH)
        self.result = w.HTML(layout=FULL_WIDTH)
        self.table = w.HTML(layout=FULL_WIDTH)
        self.chart = w.HTML(layout=w.Layout(max_width="100%", display="none"))  # drawn for the page's theme
        ask_tab = w.VBox([w.HBox([self.question, self.ask_button], layout=FULL_WIDTH)])
        list_tab = w.VBox([self.questions, self.ask_all_button])
        compare_tab = w.VBox([
            w.HTML(f'<div style="{MUTED}">Models to compare (type one and press Enter, or add the one '
                   "picked above); each model's answers are marked in its own colour.</div>"),
            self.compare_models,
            w.HTML(f'<div style="{MUTED}">Questions to ask each model, one per line:</div>'),
            self.compare_questions, w.HBox([self.add_model_button, self.compare_button]),
        ])
        self.documents, documents_tab = explorer_tab()
        self.mode = w.Tab(children=[ask_tab, list_tab, compare_tab, documents_tab],
                          titles=("Ask", "Ask a list", "Compare models", "Documents"))
        self.app = w.VBox([
            w.HTML('<b style="font-size:1.15em">qa-kit explorer</b> '
                   f'<span style="{MUTED}">extractive question answering on this CPU</span>'),
            w.HBox([self.model, self.engine, self.cores, self.top_k], layout=w.Layout(flex_flow="row wrap")),
            self.model_info, self.fast,
            self.sample, self.context, self.mode, self.status, self.result, self.table, self.chart,
        ], layout=FULL_WIDTH)
        for widget, name in ((self.app, "explorer"), (self.question, "question"), (self.ask_button, "ask"),
                             (self.ask_all_button, "ask-all"), (self.compare_button, "compare"),
                             (self.status, "status"), (self.result, "result"), (self.table, "table"),
                             (self.chart, "chart"), (self.context, "context"), (self.model, "model"),
                             (self.compare_questions, "compare-questions"), (self.compare_models, "compare-models")):
            widget.add_class(f"qa-kit-{name}")

    def _wire(self) -> None:
        with warnings.catch_warnings():  # ipywidgets 8 calls on_submit deprecated, yet Enter only reaches Python through it
            warnings.simplefilter("ignore")
            self.question.on_submit(lambda _: self._on_enter())
        self.ask_button.on_click(lambda _: self._request("ask"))
        self.ask_all_button.on_click(lambda _: self._request("ask_all"))
        self.compare_button.on_click(lambda _: self._request("compare"))
        self.add_model_button.on_click(lambda _: self.add_model())
        self.sample.observe(self._on_sample, names="value")
        self.context.observe(self._on_context, names="value")
        self.model.observe(lambda _: self._describe_model(), names="value")
        self.mode.observe(self._on_tab, names="selected_index")
        for box in (self.question, self.questions, self.compare_questions, self.context):
            box.observe(self._on_typed, names="value")
        for widget in (self.model, self.engine, self.cores):  # results of another model stay, greyed, until asked again
            widget.observe(lambda _: self._mark_stale("the model, engine or cores changed"), names="value")

    def _on_typed(self, _: Any) -> None:
        self._typed_at = time.monotonic()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.app._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"Explorer(model={self.model.value!r}, engine={self.engine.value!r})"

    # -- text and sample
    def _on_sample(self, change: dict) -> None:
        if self._syncing:
            return
        stem = change["new"]
        self._mark_stale("the text changed")
        if stem == OWN_TEXT:
            self._set_context(self._own_text)
            self.question.placeholder = "Type a question and press Enter"
            if self.questions.value == self._autofilled:  # the sample's questions, untouched: not yours
                self.questions.value = self._autofilled = ""
            return
        if self.context.value and self.context.value not in self._texts.values():
            self._own_text = self.context.value  # keep what the user typed, to bring it back
        self._set_context(self._texts[stem])
        asked = sample_questions(stem)
        if asked:
            self.question.placeholder = f"e.g. {asked[0]} (press Enter to ask)"
            if not self.questions.value.strip() or self.questions.value == self._autofilled:
                self._autofilled = "\n".join(asked[:SAMPLE_QUESTIONS])
                self.questions.value = self._autofilled

    def _on_context(self, change: dict) -> None:
        if self._syncing:
            return
        self._mark_stale("the text changed")
        if self.sample.value != OWN_TEXT and change["new"] != self._texts.get(self.sample.value):
            self._own_text = change["new"]
            self._syncing = True
            try:
                self.sample.value = OWN_TEXT  # the text was edited: it is the user's own now
            finally:
                self._syncing = False

    def _set_context(self, text: str) -> None:
        self._syncing = True
        try:
            self.context.value = text
        finally:
            self._syncing = False

    def add_model(self, model: Optional[str] = None) -> None:
        """Add a model (default: the one in the Model box) to the comparison list."""
        model = (model if model is not None else self.model.value).strip()
        if model and model not in self.compare_models.value:
            self.compare_models.value = list(self.compare_models.value) + [model]

    def _describe_model(self) -> None:
        self.model_info.value = source_line_html(self.model.value)

    # -- status
    def _say(self, message: str, level: str) -> None:
        self.history.append((level, message))
        if level == "busy":
            self._busy_message = message
        self.status.value = status_html(message, level)

    def _show_error(self, error: BaseException) -> None:
        self.last_error = error
        self._mark_stale("this error")
        if not isinstance(error, QAKitError):
            log.warning("qa-kit explorer: unexpected error", exc_info=error)
        self._say(short_message(error), "error")

    def _set_busy(self, busy: bool) -> None:
        for button in (self.ask_button, self.ask_all_button, self.compare_button):
            button.disabled = busy

    @property
    def busy(self) -> bool:
        """True while a model loads or a question is being answered."""
        return self._lock.locked()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait for a background job started by a click; True when none is left running."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        return not self.busy

    # -- jobs: one at a time
    def _request(self, kind: str) -> None:
        """A click or Enter: start the job unless it repeats the last one or another is running."""
        key = self._key(kind)
        last_key, last_done = self._last
        if key == last_key and time.monotonic() - last_done < DEDUPE_SECONDS and not self._stale:
            return  # the same request just answered and still on screen (Enter, then a click)
        if not self._lock.acquire(blocking=False):
            self._say(f"{self._busy_message} (still working: ask again when this finishes)", "busy")
            return
        background = self.background if self.background is not None else in_kernel()
        job = getattr(self, f"_{kind}")
        self._set_busy(True)
        self._say("Working…", "busy")
        if background:
            def settled() -> Any:  # what was typed just before Enter may still be on its way from the browser
                self._settle()
                return job()

            self._worker = threading.Thread(target=self._finish, args=(settled, key), name="qa-kit explorer", daemon=True)
            self._worker.start()
        else:
            self._finish(job, key)

    def _settle(self) -> None:
        """Wait until the typed text has stopped changing for SETTLE_SECONDS (at most SETTLE_LIMIT).

        ipywidgets holds back value updates while earlier ones are unanswered, but sends Enter at
        once, so after fast typing the kernel hears Enter before the last keys: asking then would ask
        a question cut short ("Where wa"). The value updates arrive while this thread waits.
        """
        began = time.monotonic()
        while time.monotonic() - began < SETTLE_LIMIT and time.monotonic() - self._typed_at < SETTLE_SECONDS:
            time.sleep(0.05)

    def _run(self, kind: str) -> Any:
        """A call from code: wait for any running job, then run this one here and return its result."""
        self._lock.acquire()
        self._set_busy(True)
        return self._finish(getattr(self, f"_{kind}"), self._key(kind))

    def _finish(self, job: Callable[[], Any], key: Any) -> Any:
        try:
            return job()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # noqa: BLE001 (tokenizer panics are BaseExceptions)
            self._show_error(error)
            return None
        finally:
            self._last = (key, time.monotonic())
            self._set_busy(False)
            self._lock.release()

    def _key(self, kind: str) -> tuple:
        """What a request asks, to recognise the same request made twice (Enter, then Ask)."""
        asked = {"ask": self.question.value, "ask_all": self.questions.value,
                 "compare": (tuple(self.compare_models.value), self.compare_questions.value)}[kind]
        return (kind, asked, self.context.value, self.model.value, self.engine.value, self.cores.value, self.top_k.value,
                self.fast.value)

    def _on_enter(self) -> None:
        if self.question.value.strip():
            self._request("ask")

    # -- models
    def reader(self, model: Optional[str] = None, engine: Optional[str] = None) -> Any:
        """The reader for a model and engine (default: the pickers'), loaded and compiled on first use."""
        model = (model if model is not None else self.model.value or "").strip()
        engine = engine or self.engine.value
        if not model:
            raise InputError("No model is chosen: pick a catalog name or type a stub, hf: repo or folder.")
        key = (model, engine, self.cores.value)
        if key in self._readers:
            return self._readers[key]
        phrases = {"connect": f"Connecting to the server at {model}…",
                   "fetch": f"Loading {model}: {fetch_phrase(model, source_kind(model))}…",
                   "compile": f"Loading {model}: compiling for {engine} (once per model)…"}
        options = ReadOptions(engine, self.sequence_length, self.doc_stride, self.cores.value)
        reader = load(model, **options.as_kwargs(), on_step=lambda step: self._say(phrases[step], "busy"))
        self._readers[key] = reader
        return reader

    def _checked_context(self) -> str:
        context = self.context.value
        if not context.strip():
            raise InputError("The text is empty: paste a text or pick a sample, then ask again.")
        return context

    # -- ask one question
    def ask(self) -> Optional[Answers]:
        """Ask the question box's question about the text; show and return the Answers (None on error)."""
        return self._run("ask")

    def _ask(self) -> Answers:
        question = self.question.value.strip()
        if not question:
            raise InputError("The question is empty: type a question, then press Enter or click Ask.")
        context = self._checked_context()
        reader = self.reader()
        self._say(f"Asking {reader.name}…", "busy")
        answers = reader.ask(question, context, top_k=self.top_k.value, fast=self.fast.value)
        self.answers = answers
        self._show(answer_html(answers),
                   frame_html(answers.to_frame()[["rank", "text", "start", "end", "score", "probability", "window"]]),
                   topk_chart(answers))
        timing = timings_text(answers.timings)
        self._say(f"Answered by {answers.model} on {answers.engine}{on_cores(reader)} · {timing}", "done")
        return answers

    def _show(self, result_html: str, table_html: str, figure: Any) -> None:
        """Put a job's answer, table and chart on screen (fresh: no longer greyed)."""
        self.result.value, self.table.value = result_html, table_html
        self.chart.value = chart_html(figure)
        self.chart.layout.display = None
        self._stale = False

    def _mark_stale(self, reason: str) -> None:
        """Grey the results on screen, saying why they no longer match what the user sees."""
        if self._stale or not (self.result.value or self.table.value):
            return
        self._stale = True
        if self.history and self.history[-1][0] == "done":  # a green "Answered" line would now mislead
            self._say(f"The results below are from before {reason}: ask again to update them.", "info")
        line = (f'<div class="qa-kit-stale-note" style="{MUTED};font-style:italic;margin:2px 0 4px">'
                f"The results below are from before {escape_text(reason)}: ask again to update them.</div>")
        self.result.value = line + f'<div class="qa-kit-stale" style="opacity:0.45">{self.result.value}</div>'
        self.table.value = f'<div class="qa-kit-stale" style="opacity:0.45">{self.table.value}</div>'
        self.chart.layout.display = "none"

    def _on_tab(self, change: dict) -> None:
        """Opening the Compare tab shows the question(s) it will ask: the Ask tab's, unless the user typed some.

        The Documents tab asks a folder, not the text: the text box and the other tabs' results hide meanwhile.
        """
        shown = "none" if change["new"] == DOCUMENTS_TAB else None
        for widget in (self.sample, self.context, self.fast, self.status, self.result, self.table):
            widget.layout.display = shown
        self.chart.layout.display = "none" if shown or self._stale or not self.chart.value else None
        if change["new"] != 2 or (self.compare_questions.value.strip() and self.compare_questions.value != self._copied):
            return
        asked = self.question.value.strip() or self.questions.value.strip()
        if asked:
            self.compare_questions.value = self._copied = asked

    # -- ask a list
    def ask_all(self) -> Optional[List[Answers]]:
        """Ask every line of the list box about the text; show and return the Answers (None on error)."""
        return self._run("ask_all")

    def _ask_all(self) -> List[Answers]:
        questions = lines(self.questions.value)
        if not questions:
            raise InputError("The list of questions is empty: type one question per line, then click Ask all.")
        context = self._checked_context()
        reader = self.reader()
        results: List[Answers] = []
        for i, question in enumerate(questions, 1):
            self._say(f"Asking {reader.name}: question {i} of {len(questions)}…", "busy")
            results.append(reader.ask(question, context, top_k=self.top_k.value, fast=self.fast.value))
        self.answers = results
        import pandas as pd

        frame = pd.concat([a.to_frame() for a in results], ignore_index=True)
        self._show(list_html(results, context),
                   frame_html(frame[["question", "rank", "text", "start", "end", "score", "probability"]]),
                   questions_chart(results))
        total = sum(a.timings.get("total", 0.0) for a in results)
        self._say(f"Answered {len(results)} questions with {reader.name} on {reader.engine_name}{on_cores(reader)} "
                  f"in {milliseconds(total * 1000)}", "done")
        return results

    # -- compare models
    def compare(self) -> Any:
        """Ask each model listed every line of the Compare tab's questions box; show and return the Comparison."""
        return self._run("compare")

    def _compare(self) -> Any:
        from ..compare import compare

        models = [m.strip() for m in self.compare_models.value if m.strip()]
        if not models:
            raise InputError("No models to compare: add two or more models to the list, then click Compare.")
        questions = lines(self.compare_questions.value)
        if not questions:
            raise InputError("No question to compare on: type one or more in the Compare tab's box, then click Compare.")
        context = self._checked_context()
        engine = self.engine.value
        position = {m: i for i, m in enumerate(models, 1)}

        def loader(source: str, **_: Any) -> Any:
            self._say(f"Model {position.get(source, '?')} of {len(models)}: {source}…", "busy")
            return self.reader(source, engine)

        comparison = compare(questions, context, models, top_k=self.top_k.value, engine=engine,
                             sequence_length=self.sequence_length, doc_stride=self.doc_stride,
                             progress=False, loader=loader)
        self.comparison = comparison
        views = [comparison.highlight(i, window=excerpt_window(context), notes=(i == 0)) for i in range(len(questions))]
        self._show(scroll("".join(f'<div style="margin-bottom:10px">{v}</div>' for v in views), 520),
                   table_wrap(comparison.table_html()), comparison.chart())
        failed = [m for m in models if m in comparison.errors]
        if len(failed) == len(models):
            self._say(f"No model could answer: {failed[0]}: {comparison.errors[failed[0]]}"[:MAX_MESSAGE], "error")
        elif failed:
            self._say(f"Compared {len(models) - len(failed)} of {len(models)} models; "
                      f"{', '.join(failed)} failed (see the table)."[:MAX_MESSAGE], "error")
        else:
            self._say(f"Compared {len(models)} models on {len(questions)} question(s) with {engine}", "done")
        return comparison
