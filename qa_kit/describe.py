"""Any source string explained as part/value/meaning rows: a zoo stub, an hf: repo, a URL, a path, a catalog name.

`describe()` is what the stub explorer and `qa-kit stub explain` show; pandas and the standard
library only.
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import List, Optional, Tuple
from urllib.parse import urlsplit

import pandas as pd

from . import catalog as catalog_module
from .catalog import catalog, kind_of, path_exists
from .stub_grammar import HF_PREFIX, ZOO_PREFIX, StubError, is_stub, parse, quote_value

def _frame(rows: List[Tuple[str, str, str]]) -> pd.DataFrame:
    """A part/value/meaning DataFrame with every value as text."""
    return pd.DataFrame([(p, "" if v is None else str(v), m) for p, v, m in rows],
                        columns=["part", "value", "meaning"])


def _describe_hf(text: str) -> pd.DataFrame:
    """Rows for an 'hf:OWNER/NAME' Hugging Face Hub source."""
    repo = text[len(HF_PREFIX):]
    owner, slash, name = repo.partition("/")
    if not repo:
        raise StubError("nothing follows 'hf:'; expected 'hf:OWNER/NAME'")
    if not slash:
        raise StubError(f"the hf: source {quote_value(repo)} is missing the '/' between owner and name; "
                        "expected 'hf:OWNER/NAME'")
    for label, value in (("owner", owner), ("name", name)):
        if not value:
            raise StubError(f"the hf: source is missing its {label}; expected 'hf:OWNER/NAME'")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value) or len(value) > 96:
            raise StubError(f"the hf: {label} {quote_value(value)} is not valid; expected letters, digits, "
                            "'_', '.' or '-' (at most 96), starting with a letter or digit")
    return _frame([
        ("prefix", HF_PREFIX, "the Hugging Face Hub (huggingface.co), not SparseZoo: deepsparse downloads "
                              "the repo's files with huggingface_hub; it must hold an ONNX model"),
        ("owner", owner, "the user or organisation that owns the repo on the Hub"),
        ("name", name, "the repo's name under its owner"),
    ])


def _describe_url(text: str) -> pd.DataFrame:
    """Rows for an http(s) model-server URL."""
    parts = urlsplit(text)
    if not parts.hostname:
        raise StubError(f"the URL {quote_value(text)} has no host; expected e.g. 'http://localhost:5543'")
    try:
        port = parts.port
    except ValueError:
        raise StubError(f"the URL {quote_value(text)} has a bad port; expected a number after ':'") from None
    rows = [
        ("scheme", parts.scheme, "a running model server (e.g. deepsparse.server) answering over HTTP; "
                                 "questions are sent to it, no model is loaded here"),
        ("host", parts.hostname, "the machine the server runs on"),
    ]
    if port is not None:
        rows.append(("port", str(port), "the port the server listens on"))
    if parts.path not in ("", "/"):
        rows.append(("path", parts.path, "the endpoint path on the server"))
    return _frame(rows)


def _describe_path(text: str, base: Optional[Path] = None) -> pd.DataFrame:
    """Rows for a local folder or ONNX file (relative paths taken from base, else the cwd)."""
    path = Path(text).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    try:
        path = path.resolve()
    except (OSError, RuntimeError, ValueError):
        raise StubError(f"the path {quote_value(text)} cannot be resolved on this machine; check it") from None
    rows = [("path", text, "a model on this machine; the kit copies it to its cache and never changes it"),
            ("resolved", str(path), "the absolute path it points to")]
    if path_exists(path) and path.is_dir():
        wanted = ("model.onnx", "config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt")
        have = [f for f in wanted if (path / f).exists()]
        rows.append(("kind", "folder", "a model folder: model.onnx with config.json and tokenizer files"))
        rows.append(("files", ", ".join(have) or "(none of the expected files)",
                     "expected files found: " + (", ".join(have) if have else "none") +
                     "; missing: " + (", ".join(f for f in wanted if f not in have) or "none")))
    elif path_exists(path) and path.is_file():
        onnx = path.suffix.lower() == ".onnx"
        rows.append(("kind", "ONNX file" if onnx else "file",
                     "an ONNX model; config.json and tokenizer files are needed next to it" if onnx
                     else "a file that is not .onnx; a model is a folder or an .onnx file"))
    else:
        rows.append(("kind", "missing", "nothing exists at this path yet"))
        if is_stub(text):
            rows.append(("hint", ZOO_PREFIX + text, "this looks like a SparseZoo stub: write it with 'zoo:'"))
    return _frame(rows)


def _describe_catalog(text: str) -> pd.DataFrame:
    """Rows for a catalog short name, followed by the rows of the source it stands for."""
    frame = catalog()
    rows = frame[frame["name"] == text]
    if rows.empty:
        close = difflib.get_close_matches(text, list(frame["name"]), n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise StubError(f"{quote_value(text)} is not in the catalog, not an existing path and not a zoo:/hf: "
                        f"source{hint}; see qa_kit.stubs.catalog() for the names")
    row = rows.iloc[0]
    facts = [
        ("name", row["name"], "a short name from the kit's catalog (data/catalog.csv)"),
        ("source", row["source"], "where the model comes from"),
        ("architecture", row["architecture"], "the network family"),
        ("layers", row["layers"], "transformer layers"),
        ("pruned_percent", row["pruned_percent"], "percent of weights pruned (empty: not stated)"),
        ("quantized", row["quantized"], "True when weights run as int8"),
        ("target", row["target"], "hardware the sparsity was laid out for (empty: none)"),
        ("network", row["network"], "True when loading it needs a network (a zoo: or hf: source)"),
    ]
    if row["hub"]:
        facts.append(("hub", row["hub"], "the same model on the Hugging Face Hub" if row["hub_match"] == "exact"
                      else "a related model on the Hugging Face Hub (not the same weights)"))
    facts.append(("note", row["note"], "the catalog's note"))
    table = _frame([(p, "" if pd.isna(v) else v, m) for p, v, m in facts])
    source = str(row["source"])
    inner = (_describe_path(source, catalog_module.CATALOG_PATH.parent) if kind_of(source) == "path" else describe(source))
    return pd.concat([table, inner], ignore_index=True)


def describe(source: str) -> pd.DataFrame:
    """Explain any source string (zoo stub, hf: repo, URL, path or catalog name) as part/value/meaning."""
    kind = kind_of(source)
    text = source.strip()
    if kind == "zoo":
        return parse(text).explain()
    if kind == "hf":
        if not text.startswith(HF_PREFIX):
            raise StubError(f"the prefix {text[:3]!r} must be written in lower case: 'hf:'")
        return _describe_hf(text)
    if kind == "url":
        return _describe_url(text)
    if kind == "path":
        return _describe_path(text)
    return _describe_catalog(text)



__all__ = ["describe"]
