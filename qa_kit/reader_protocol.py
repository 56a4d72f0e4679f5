"""What the kit's studies take as a reader: anything with `ask(question, context, top_k)`, a `name` and an `engine_name`.

The in-process `qa_kit.reader.Reader` and the server's `qa_kit.server.ServerReader` both satisfy it,
as does a stand-in a test writes; compare, evaluate, calibrate and bench type their readers with it.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Dict, Optional, Protocol, Union, runtime_checkable

if TYPE_CHECKING:
    from .results import Answers


@runtime_checkable
class ReaderLike(Protocol):
    """A reader as the studies use one: it answers a question on a context and says its name and engine."""

    @property
    def name(self) -> str:
        """The model's name as the user gave it (a catalog name, path or server URL)."""

    @property
    def engine_name(self) -> str:
        """The engine that answers ("deepsparse", "onnxruntime", "server", ...)."""

    def ask(self, question: str, context: str, top_k: int = 1, **options: Any) -> "Answers":
        """The best `top_k` answers to `question` in `context`."""


ModelLike = Union[str, ReaderLike]  # a source string to load, or a reader already loaded


@dataclasses.dataclass(frozen=True)
class ReadOptions:
    """How a source is loaded and read: the options that load, compare, evaluate, the Explorer and the
    cluster pass on together (None: the model's own window, or the kit's default)."""

    engine: str = "deepsparse"
    sequence_length: Optional[int] = None
    doc_stride: Optional[int] = None
    num_cores: Union[int, str, None] = None

    def as_kwargs(self) -> Dict[str, Any]:
        """The options as keyword arguments of qa_kit.load (and qa_kit.scale.spec_for)."""
        return dataclasses.asdict(self)
