"""The `StubExplorer`: type or pick a SparseZoo stub and see each part explained, or build one."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

import ipywidgets as w

from .. import stubs
from ..errors import QAKitError
from ..render import escape_text
from .parts import FULL_WIDTH, MUTED, WIDE_LABEL, frame_html, short_message, status_html

_NO_PART = "(none)"


_NO_PART = "(none)"


class StubExplorer:
    """Type or pick a SparseZoo stub and see each part explained; or build one from dropdowns.

    Any other source (catalog name, hf: repo, path, URL) is explained too. `.stub` holds the text,
    `.explanation` the colour-coded parts, `.status` a short note or error, `.built` the last
    stub made with the build button.
    """

    def __init__(self, stub: Optional[str] = None):
        frame = stubs.catalog()
        self._catalog = dict(zip(frame["source"], frame["name"]))
        zoo = [s for s in frame["source"] if s.startswith(stubs.ZOO_PREFIX)]
        parsed = [stubs.parse(s) for s in zoo]
        self.built: Optional[stubs.ZooStub] = None
        self._syncing = False
        self.stub = w.Combobox(value="", options=zoo, ensure_option=False, description="Stub",
                               placeholder="zoo:DOMAIN/SUB_DOMAIN/ARCH[-SUB]/FRAMEWORK/REPO/DATASET/TAG",
                               continuous_update=False, layout=w.Layout(width="100%"), style=WIDE_LABEL)
        self.explain_button = w.Button(description="Explain", icon="question", button_style="primary")
        self.status = w.HTML(layout=FULL_WIDTH)
        self.explanation = w.HTML(layout=FULL_WIDTH)

        def choices(values: Sequence[Optional[str]], extra: Sequence[str] = (), optional: bool = False) -> List[str]:
            seen = list(dict.fromkeys([*extra, *(v for v in values if v is not None)]))
            return ([_NO_PART] if optional else []) + seen

        def dropdown(label: str, options: List[str], value: str) -> w.Dropdown:
            return w.Dropdown(options=options, value=value if value in options else options[0], description=label,
                              layout=w.Layout(width="300px"), style=WIDE_LABEL)

        self.architecture = dropdown("architecture", choices([p.architecture for p in parsed]), "bert")
        self.sub_architecture = dropdown("sub-architecture", choices([p.sub_architecture for p in parsed], optional=True), "base")
        self.dataset = dropdown("dataset", choices([p.dataset for p in parsed]), "squad")
        self.sparse_name = dropdown("sparse name", choices([p.sparse_name for p in parsed], ("base",)), "pruned90")
        self.sparse_category = dropdown("category", choices([p.sparse_category for p in parsed],
                                                            ("none", "conservative", "moderate", "aggressive")), "none")
        self.sparse_target = dropdown("target", choices([p.sparse_target for p in parsed], optional=True), _NO_PART)
        self.build_button = w.Button(description="Build stub", icon="wrench", button_style="primary")
        self._parts = {"architecture": self.architecture, "sub_architecture": self.sub_architecture,
                       "dataset": self.dataset, "sparse_name": self.sparse_name,
                       "sparse_category": self.sparse_category, "sparse_target": self.sparse_target}
        builder = w.VBox([
            w.HTML(f'<div style="{MUTED}">Build a question-answering stub: the domain (nlp), task '
                   "(question_answering), framework (pytorch) and repo (huggingface) are fixed.</div>"),
            w.HBox([self.architecture, self.sub_architecture, self.dataset], layout=w.Layout(flex_flow="row wrap")),
            w.HBox([self.sparse_name, self.sparse_category, self.sparse_target], layout=w.Layout(flex_flow="row wrap")),
            self.build_button,
        ])
        self.app = w.VBox([
            w.HTML('<b style="font-size:1.15em">SparseZoo stub explorer</b> '
                   f'<span style="{MUTED}">type or pick a stub, press Enter</span>'),
            w.HBox([self.stub, self.explain_button], layout=FULL_WIDTH),
            self.status, self.explanation, builder,
        ], layout=FULL_WIDTH)
        for widget, name in ((self.app, "stub-explorer"), (self.stub, "stub"), (self.status, "status"),
                             (self.explanation, "explanation"), (self.build_button, "build")):
            widget.add_class(f"qa-kit-{name}")
        self.stub.observe(lambda change: self.explain(change["new"]), names="value")
        self.explain_button.on_click(lambda _: self.explain())
        self.build_button.on_click(lambda _: self.build())
        self.stub.value = stub if stub is not None else stubs.EXAMPLE_STUB

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.app._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"StubExplorer({self.stub.value!r})"

    def explain(self, source: Optional[str] = None) -> bool:
        """Explain a source (default: the stub box); True when it was understood, else the error is shown."""
        text = (source if source is not None else self.stub.value or "").strip()
        try:
            if not text:
                raise stubs.StubError(f"the stub is empty; type one or pick one, e.g. {stubs.EXAMPLE_STUB}")
            kind = stubs.kind_of(text)
            if kind == "zoo":
                parsed = stubs.parse(text)
                self.explanation.value = self._facts_html(parsed) + parsed._repr_html_()
                self._sync_dropdowns(parsed)
                self.status.value = status_html(self._catalog_note(str(parsed)), "info")
            else:
                table = stubs.describe(text)
                self.explanation.value = frame_html(table)
                what = {"hf": "a Hugging Face Hub repo", "url": "a model server URL", "path": "a path on this machine",
                        "catalog": "a name from the kit's catalog"}[kind]
                self.status.value = status_html(f"Not a SparseZoo stub: {what}.", "info")
        except QAKitError as error:
            self.explanation.value = ""
            self.status.value = status_html(short_message(error, "This stub is malformed"), "error")
            return False
        return True

    def _catalog_note(self, stub: str) -> str:
        name = self._catalog.get(stub)
        if name:
            return f"In the kit's catalog as {name}."
        return "Not in the kit's catalog: SparseZoo may not hold a model with exactly these parts."

    @staticmethod
    def _facts_html(parsed: stubs.ZooStub) -> str:
        facts = []
        if parsed.model_layers is not None:
            facts.append(f"{parsed.model_layers} layers")
        if parsed.pruned_percent is not None:
            facts.append("dense (nothing pruned)" if parsed.pruned_percent == 0 else f"{parsed.pruned_percent}% of weights pruned")
        elif parsed.sparse_name and "pruned" in parsed.sparse_name:
            facts.append("pruned (amount not in the name)")
        facts.append("int8 quantized" if parsed.quantized else "32-bit floats")
        if parsed.recovery_percent is not None:
            facts.append(f"keeps ~{parsed.recovery_percent}% of the dense accuracy")
        if parsed.target:
            facts.append(f"laid out for {parsed.target}")
        return f'<div class="qa-kit-facts" style="margin:4px 0;font-weight:600">{escape_text(" · ".join(facts))}</div>'

    def _sync_dropdowns(self, parsed: stubs.ZooStub) -> None:
        """Set the builder's dropdowns to a path-style stub's parts, adding values they lack."""
        if parsed.style != "path" or parsed.sparse_name is None:
            return
        self._syncing = True
        try:
            for name, dropdown in self._parts.items():
                value = getattr(parsed, name)
                value = _NO_PART if value is None else value
                if value not in dropdown.options:
                    dropdown.options = list(dropdown.options) + [value]
                dropdown.value = value
        finally:
            self._syncing = False

    def build(self) -> Optional[stubs.ZooStub]:
        """Make a stub from the dropdowns, put it in the stub box and explain it (None on error)."""
        parts = {name: (None if d.value == _NO_PART else d.value) for name, d in self._parts.items()}
        try:
            built = stubs.build(**parts)
        except QAKitError as error:
            self.status.value = status_html(short_message(error, "These parts make no stub"), "error")
            return None
        self.built = built
        if self.stub.value == str(built):
            self.explain()
        else:
            self.stub.value = str(built)  # the observer explains it
        return built
