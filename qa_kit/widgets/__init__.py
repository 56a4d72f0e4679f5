"""The kit's notebook apps (ipywidgets 8): the question-answering `Explorer` and the `StubExplorer`.

Both show themselves when they are the last line of a cell. Everything they display is plain
widget state (`HTML.value`, `Image.value`), so they can be driven and read without a kernel:
set `.value`, call `.click()`, read `.value`.

Modules: `explorer` (the Explorer), `stub_explorer`, `parts` (status lines, tables, images).

Decisions worth knowing:
- `Explorer.ask()`, `.ask_all()` and `.compare()` run synchronously and return their results;
  a running job makes them wait for it. Clicks and Enter in a live kernel run the job in a
  background thread so the busy state shows while a model downloads or compiles; a click while
  a job runs is ignored (one job at a time, so never a second compile). `.wait()` joins the job.
- Readers are cached per (model, engine) inside the Explorer; engines are also cached per process.
- A click that repeats the request just answered (Enter, then Ask) within 2 s is dropped.
- Every failure is shown in `.status` as one short line, never a traceback; inputs are never cleared.
"""

from ..charts import questions_chart
from ..sources import sample_questions, sample_texts
from .explorer import Explorer
from .parts import OWN_TEXT, frame_html, png, short_message, status_html
from .stub_explorer import StubExplorer

__all__ = ["Explorer", "StubExplorer", "status_html", "short_message", "sample_texts", "sample_questions",
           "questions_chart", "png", "frame_html", "OWN_TEXT"]
