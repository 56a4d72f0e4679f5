"""The Explorer's Documents tab: choose a folder (or the kit's sample library), index it, ask, see answers in their sources.

    from qa_kit.widgets.documents import documents_tab
    documents_tab()                      # the sample library; or documents_tab("~/notes")

`Documents` holds the state and does the work (`index()`, `ask()`), so it can be driven without a
kernel; `documents_tab()` returns its widget. Errors show as one status line, never a traceback.
"""
from __future__ import annotations

import os
import warnings
from typing import Any, Optional, Tuple

import ipywidgets as w

from .parts import FULL_WIDTH, MUTED, WIDE_LABEL, short_message, status_html


class Documents:
    """A library behind a few widgets: folder, Index (with a progress bar), question, Ask, answers."""

    def __init__(self, folder: Optional[str] = None, path: Optional[str] = None, reader: Any = None):
        from ..documents.bench import SAMPLE_LIBRARY
        from ..documents.retrieve import METHODS

        self.sample = str(SAMPLE_LIBRARY)
        self.index_path = path
        self.reader = reader
        self.library: Any = None
        self.folder = w.Text(value=str(folder) if folder else self.sample, description="Folder", layout=FULL_WIDTH,
                             style=WIDE_LABEL, placeholder="a folder of .txt, .md, .html and .pdf files")
        self.use_sample = w.Button(description="Sample library", tooltip="the kit's 33-file sample library")
        self.index_button = w.Button(description="Index", button_style="primary",
                                     tooltip="read the folder's new and changed files into the index")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="", layout=w.Layout(width="50%", visibility="hidden"))
        self.question = w.Text(description="Question", layout=FULL_WIDTH, style=WIDE_LABEL,
                               placeholder="e.g. Who designed the Greyfell Tunnel?")
        self.ask_button = w.Button(description="Ask", button_style="success")
        self.method = w.Dropdown(options=list(METHODS), value="hybrid", description="Retrieval", style=WIDE_LABEL)
        self.top_k = w.BoundedIntText(value=3, min=1, max=10, description="Answers", style=WIDE_LABEL, layout=w.Layout(width="140px"))
        self.passages = w.BoundedIntText(value=3, min=1, max=20, description="Passages", style=WIDE_LABEL, layout=w.Layout(width="150px"))
        self.status = w.HTML(status_html("Choose a folder and press Index, or use the sample library."))
        self.report = w.HTML()
        self.answers = w.HTML()
        self.use_sample.on_click(lambda _: self._sample())
        self.index_button.on_click(lambda _: self.index())
        self.ask_button.on_click(lambda _: self.ask())
        with warnings.catch_warnings():  # as the Explorer: Enter reaches Python only through on_submit
            warnings.simplefilter("ignore", DeprecationWarning)
            self.question.on_submit(lambda _: self.ask())
        self.widget = w.VBox([
            w.HBox([self.folder, self.use_sample], layout=FULL_WIDTH),
            w.HBox([self.index_button, self.progress]),
            self.report,
            w.HBox([self.question, self.ask_button], layout=FULL_WIDTH),
            w.HBox([self.method, self.top_k, self.passages]),
            self.status, self.answers,
        ])

    def _sample(self) -> None:
        self.folder.value = self.sample
        self.index()

    def _tell(self, message: str, level: str = "info") -> None:
        self.status.value = status_html(message, level)

    def _on_file(self, done: int, total: int, path: str) -> None:
        self.progress.max, self.progress.value = max(total, 1), done
        self._tell(f"Indexing {os.path.basename(path)} ({done + 1} of {total})…", "busy")

    def index(self) -> Any:
        """Index the folder now (new and changed files; unchanged ones are skipped); returns the report."""
        from ..library import Library

        self.progress.layout.visibility = "visible"
        try:
            folder = self.folder.value.strip()
            if self.library is None or [str(s) for s in self.library.sources] != [os.path.expanduser(folder)]:
                self.library = Library(folder, self.index_path, reader=self.library.reader if self.library else self.reader)
            report = self.library.index(progress=False, on_file=self._on_file)
        except Exception as error:  # one line in the tab, never a traceback
            self.library = None
            self._tell(short_message(error), "error")
            return None
        finally:
            self.progress.layout.visibility = "hidden"
        self.report.value = report._repr_html_()
        self._tell(f"{len(self.library)} files indexed in {self.library.path}. Ask a question.", "done")
        return report

    def ask(self) -> Any:
        """Ask the indexed library the question in the box; show the answers in their passages."""
        question = self.question.value.strip()
        if not question:
            self._tell("Type a question first.", "error")
            return None
        if self.library is None and self.index() is None:
            return None
        self._tell("Retrieving and reading…", "busy")
        try:
            answers = self.library.ask(question, top_k=self.top_k.value, passages=self.passages.value, method=self.method.value)
        except Exception as error:
            self._tell(short_message(error), "error")
            return None
        self.answers.value = answers._repr_html_()
        total = answers.timings.get("total", 0.0)
        self._tell(f"{len(answers)} answers from {len(answers.passages)} passages in {total * 1000:.0f} ms.", "done")
        return answers


def documents_tab(folder: Optional[str] = None, path: Optional[str] = None, reader: Any = None) -> w.VBox:
    """The Documents tab as one widget: a folder (default: the sample library), Index, ask, answers with sources."""
    return Documents(folder, path, reader).widget


def explorer_tab() -> Tuple[Optional[Documents], Any]:
    """The Explorer's Documents tab: (the app, its widget); without the library extra, a line saying what to install."""
    try:
        documents = Documents()
    except ImportError as error:  # the library extra (pypdf, selectolax) is not installed
        line = (f"The Documents tab needs the library extra ({error.name or error}): "
                "pip install 'qa-kit[library]', then restart the kernel.")
        return None, w.HTML(status_html(line, "info"))
    note = w.HTML(f'<div style="{MUTED};font-size:0.9em">Ask a folder of .txt, .md, .html and .pdf files: the best '
                  "passages are found, then read by the kit's default model; nothing in the folder is written.</div>")
    return documents, w.VBox([note, documents.widget])
