"""The kit's notebook apps (ipywidgets 8): the question-answering `Explorer` and the `StubExplorer`.

Modules: `explorer` (the Explorer; its docstring says how jobs, caching and errors behave),
`stub_explorer`, and `parts` (status lines, short error messages, tables and images as HTML).
Both apps show themselves as the last line of a cell and can be driven without a kernel.
"""

from ..charts import questions_chart
from ..sources import sample_questions, sample_texts
from .explorer import Explorer
from .parts import OWN_TEXT, frame_html, png, short_message, status_html
from .stub_explorer import StubExplorer

__all__ = ["Explorer", "StubExplorer", "status_html", "short_message", "sample_texts", "sample_questions",
           "questions_chart", "png", "frame_html", "OWN_TEXT"]
