"""The kit's model catalog (data/catalog.csv) and its lookups, and what kind of source a string is.

`catalog()` reads and checks the CSV (friendly names, sources, what each model is, its nearest
Hugging Face Hub model in the `hub` column, `exact` or `related`); `kind_of` says what a source
string is. pandas and the standard library only, so it runs where deepsparse is not installed.

`kind_of`: `zoo:` -> zoo, `hf:` -> hf, `http(s)://` -> url, a catalog name -> catalog, an existing
path -> path, an unprefixed path-style stub that is not on disk -> zoo, anything with a path
separator (or starting `.`/`~`, or ending `.onnx`) -> path, any other bare word -> catalog (so an
unknown short name fails as "not in the catalog").
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional, Tuple

import pandas as pd

from .errors import QAKitError
from .paths import CATALOG_PATH, missing_data_hint
from .stub_grammar import HF_PREFIX, OTHER_PREFIX, ZOO_PREFIX, StubError, is_stub, parse

CATALOG_COLUMNS = ("name", "source", "network", "architecture", "layers", "pruned_percent", "quantized", "target",
                   "hub", "hub_match", "note")
HUB_MATCHES = ("exact", "related")  # hub_match: the Hub model is a copy of the zoo model, or only like it
SOURCE_KINDS = ("zoo", "hf", "url", "path", "catalog")


def catalog() -> pd.DataFrame:
    """The kit's model catalog (data/catalog.csv): friendly names, sources and what they are."""
    try:
        frame = pd.read_csv(CATALOG_PATH, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise QAKitError(missing_data_hint(CATALOG_PATH)) from None
    if tuple(frame.columns) != CATALOG_COLUMNS:
        raise QAKitError(f"{CATALOG_PATH} has columns {list(frame.columns)}; expected {list(CATALOG_COLUMNS)}")
    for column in ("layers", "pruned_percent"):
        frame[column] = pd.array([int(v) if v else pd.NA for v in frame[column]], dtype="Int64")
    for column in ("quantized", "network"):
        bad = sorted(set(frame[column]) - {"True", "False"})
        if bad:
            raise QAKitError(f"{CATALOG_PATH} has {column} values {bad}; expected True or False")
        frame[column] = frame[column] == "True"
    remote = frame["source"].str.match(r"(zoo:|hf:|https?://)")
    if (frame["network"] != remote).any():
        wrong = list(frame.loc[frame["network"] != remote, "name"])
        raise QAKitError(f"{CATALOG_PATH}: network must be True exactly for zoo:/hf: sources; wrong for {wrong}")
    has_hub = frame["hub"] != ""
    bad_hub = (has_hub & ~frame["hub"].str.fullmatch(r"hf:[\w.-]+/[\w.-]+")) | (has_hub != frame["hub_match"].isin(HUB_MATCHES))
    if bad_hub.any():
        raise QAKitError(f"{CATALOG_PATH}: hub must be hf:OWNER/NAME with hub_match {' or '.join(HUB_MATCHES)} "
                         f"(both empty when none is known); wrong for {list(frame.loc[bad_hub, 'name'])}")
    return frame


def catalog_source(name: str) -> Optional[str]:
    """The source string of the catalog row with this name, or None when there is none."""
    frame = catalog()
    rows = frame[frame["name"] == name.strip()]
    return None if rows.empty else str(rows.iloc[0]["source"])


def hub_counterpart(stub: str) -> Optional[Tuple[str, str]]:
    """(hf:OWNER/NAME, "exact" or "related") for a zoo stub whose Hub counterpart the catalog knows, else None."""
    try:
        text = str(parse(stub))
    except StubError:
        return None
    frame = catalog()
    rows = frame[(frame["source"] == text) & (frame["hub"] != "")]
    return None if rows.empty else (str(rows.iloc[0]["hub"]), str(rows.iloc[0]["hub_match"]))


def path_exists(path: Path) -> bool:
    """Path.exists() that answers False for names the OS refuses (too long, bad bytes)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _looks_like_path(text: str) -> bool:
    """True for strings shaped like a file-system path."""
    return ("/" in text or "\\" in text or os.sep in text or text.startswith((".", "~"))
            or text.lower().endswith(".onnx"))


def kind_of(source: str) -> str:
    """What a source string is: 'zoo', 'hf', 'url', 'path' or 'catalog' (see the module notes)."""
    if not isinstance(source, str):
        raise StubError(f"a source must be a string, not {type(source).__name__}")
    text = source.strip()
    if not text:
        raise StubError("the source is empty; give a zoo: stub, an hf: repo, a URL, a path or a catalog name")
    lower = text.lower()
    if lower.startswith(ZOO_PREFIX):
        return "zoo"
    if lower.startswith(HF_PREFIX):
        return "hf"
    if lower.startswith(("http://", "https://")):
        return "url"
    m = OTHER_PREFIX.match(text)
    if m and not re.match(r"[A-Za-z]:[\\/]", text):
        raise StubError(f"unknown source prefix {m.group(0)!r}; expected 'zoo:', 'hf:', 'http(s)://', "
                        "a path or a catalog name")
    if CATALOG_PATH.is_file() and text in set(catalog()["name"]):  # without a catalog, folders still load
        return "catalog"
    if path_exists(Path(text).expanduser()):
        return "path"
    if text.count("/") == 6 and not text.startswith(("/", ".", "~")) and is_stub(text):
        return "zoo"
    return "path" if _looks_like_path(text) else "catalog"



__all__ = ["catalog", "catalog_source", "hub_counterpart", "kind_of", "path_exists", "CATALOG_PATH", "CATALOG_COLUMNS",
           "HUB_MATCHES", "SOURCE_KINDS"]
