"""qa-kit: explore extractive question answering on CPUs with DeepSparse, from JupyterLab.

    import qa_kit
    reader = qa_kit.load("demo-minilm")               # or a folder, zoo: stub, hf: repo
    answers = reader.ask("Who ran?", "Ada ran home.")  # ranked Answer spans, with timings
"""
import os

# DeepSparse looks up the machine's IP for analytics at import unless told not to, and the
# tokenizers library warns when a process forks after using it.
os.environ.setdefault("NM_DISABLE_ANALYTICS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from .errors import EngineError, InputError, QAKitError, SourceError  # noqa: E402
from .reader import Reader, load  # noqa: E402
from .results import Answer, Answers, Window  # noqa: E402
from .sources import default_model  # noqa: E402
from .render import highlight  # noqa: E402
from .compare import Comparison, compare  # noqa: E402  (the function hides the module name; import from qa_kit.compare for more)
from .evaluate import EvalReport, evaluate  # noqa: E402
from .library import Library, library  # noqa: E402  (the function hides the module name; import from qa_kit.library for more)

__version__ = "0.1.0"
__all__ = [
    "load", "Reader", "default_model", "highlight", "compare", "Comparison", "evaluate", "EvalReport", "library", "Library", "Answer", "Answers", "Window",
    "QAKitError", "SourceError", "EngineError", "InputError",
]
