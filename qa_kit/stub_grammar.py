"""SparseZoo stub grammar: parse a stub of either grammar into its parts, explain it, build one.

A stub such as `zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none` names a
model in SparseZoo, Neural Magic's model repository (reached through api.neuralmagic.com). It is
not the Hugging Face Hub: the Hub has its own `hf:` prefix. Neural Magic retired SparseZoo in June
2025. This module needs only the standard library and pandas, so it runs where deepsparse is not
installed; what each part means is in qa_kit.glossary, the catalog in qa_kit.catalog, and the
public face of all of them is qa_kit.stubs.

Decisions worth knowing:
- Parts are ASCII letters, digits, `_` and `.`, and start with a letter or digit (no `..`).
- Surrounding whitespace is stripped; anything else odd is a `StubError` naming the part.
- A name-style stub with three parts before its tag is read ARCH-SUB-SOURCE, as SparseZoo does.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

import pandas as pd

from .errors import QAKitError
from .glossary import KNOWN_LAYERS, part_meaning, tag_words

ZOO_PREFIX = "zoo:"
HF_PREFIX = "hf:"
MAX_STUB_LENGTH = 256
PATH_GRAMMAR = "DOMAIN/SUB_DOMAIN/ARCHITECTURE[-SUB_ARCHITECTURE]/FRAMEWORK/REPO/DATASET[-TRAINING_SCHEME]/SPARSE_TAG"
NAME_GRAMMAR = "ARCHITECTURE[-SUB_ARCHITECTURE]-SOURCE_DATASET[-TRAINING_DATASET]-SPARSE_TAG"
EXAMPLE_STUB = "zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none"

_WORD_CHARS = frozenset(string.ascii_letters + string.digits + "_.")
_WORD_HINT = "expected letters, digits, '_' or '.'"
_PATH_PARTS = ("domain", "sub-domain", "architecture", "framework", "repo", "dataset", "sparse tag")
_QUERY_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_QUERY_VALUE = re.compile(r"[A-Za-z0-9_.-]+")
OTHER_PREFIX = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


class StubError(QAKitError, ValueError):
    """A stub or source string is malformed; the message names the part and what was expected."""


def quote_value(value: str, limit: int = 48) -> str:
    """Quote a value for an error message, cut short so a huge input gives a short message."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


# ----------------------------------------------------------------------------- the stub

@dataclass(frozen=True, kw_only=True)
class ZooStub:
    """One parsed SparseZoo stub: its parts (None when absent) and what its sparse tag says."""

    style: str  # "path" or "name"
    domain: Optional[str] = None
    sub_domain: Optional[str] = None
    architecture: Optional[str] = None
    sub_architecture: Optional[str] = None
    framework: Optional[str] = None
    repo: Optional[str] = None
    dataset: Optional[str] = None
    training_scheme: Optional[str] = None
    source_dataset: Optional[str] = None
    training_dataset: Optional[str] = None
    sparse_tag: Optional[str] = None
    sparse_name: Optional[str] = None
    sparse_category: Optional[str] = None
    sparse_target: Optional[str] = None
    params: Dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "".join(text for _, text in self.segments())

    def __repr__(self) -> str:
        return f"ZooStub({str(self)!r})"

    def __hash__(self) -> int:
        return hash(str(self))

    # -- decoded sparse tag
    def _words(self) -> List[str]:
        return [w for w, _ in tag_words(self.sparse_name or "")]

    def _first(self, pattern: str) -> Optional[re.Match]:
        for word in self._words():
            m = re.fullmatch(pattern, word)
            if m:
                return m
        return None

    @property
    def is_base(self) -> bool:
        """True for the dense baseline (`base` in the sparse name)."""
        return "base" in self._words()

    @property
    def layers(self) -> Optional[int]:
        """Transformer layers, when the sparse tag says (e.g. '6layers'), else None."""
        m = self._first(r"(\d+)layers?")
        return int(m[1]) if m else None

    @property
    def model_layers(self) -> Optional[int]:
        """Layers from the tag, else the dense architecture's known count, else None."""
        if self.layers is not None:
            return self.layers
        return KNOWN_LAYERS.get(f"{self.architecture}-{self.sub_architecture or 'none'}")

    @property
    def pruned_percent(self) -> Optional[int]:
        """Percent of weights pruned when the tag says (0 for the baseline), else None."""
        m = self._first(r"pruned(\d+)")
        if m:
            return int(m[1])
        return 0 if self.is_base else None

    @property
    def quantized(self) -> bool:
        """True when the sparse name says the model is quantized (int8)."""
        return any(re.fullmatch(r"quant(?:ized|W\d+A\d+)?", w) for w in self._words())

    @property
    def category(self) -> Optional[str]:
        """The category word without its number: none, conservative, moderate, aggressive."""
        if self.sparse_category is None:
            return None
        return re.sub(r"_\d+$", "", self.sparse_category)

    @property
    def recovery_percent(self) -> Optional[int]:
        """The number after the category (aggressive_95 -> 95): percent of baseline accuracy kept."""
        m = re.search(r"_(\d+)$", self.sparse_category or "")
        return int(m[1]) if m else None

    @property
    def target(self) -> Optional[str]:
        """The deployment target (e.g. vnni), or None."""
        return self.sparse_target

    # -- views
    def segments(self) -> List[Tuple[Optional[str], str]]:
        """The stub as (part, text) pieces; separators have part None. str() joins the texts."""
        segs: List[Tuple[Optional[str], str]] = [("prefix", ZOO_PREFIX)]

        def add(part: str, value: Optional[str], sep: str = "") -> None:
            if value is not None:
                if sep:
                    segs.append((None, sep))
                segs.append((part, value))

        if self.style == "path":
            add("domain", self.domain)
            add("sub_domain", self.sub_domain, "/")
            add("architecture", self.architecture, "/")
            add("sub_architecture", self.sub_architecture, "-")
            add("framework", self.framework, "/")
            add("repo", self.repo, "/")
            add("dataset", self.dataset, "/")
            add("training_scheme", self.training_scheme, "-")
            if self.sparse_name is not None:
                add("sparse_name", self.sparse_name, "/")
                add("sparse_category", self.sparse_category, "-")
                add("sparse_target", self.sparse_target, "-")
            else:
                add("sparse_tag", self.sparse_tag, "/")
        else:
            add("architecture", self.architecture)
            add("sub_architecture", self.sub_architecture, "-")
            add("source_dataset", self.source_dataset, "-")
            add("training_dataset", self.training_dataset, "-")
            add("sparse_tag", self.sparse_tag, "-")
        for i, (key, value) in enumerate(self.params.items()):
            segs.append((None, "&" if i else "?"))
            segs.append(("param", f"{key}={value}"))
        return segs

    def meaning(self, part: str, value: str) -> str:
        """What one part's value means."""
        return part_meaning(part, value, category=self.category, recovery_percent=self.recovery_percent)

    def rows(self) -> List[Tuple[str, str, str]]:
        """(part, value, meaning) for every part present, in stub order."""
        return [(p, v, self.meaning(p, v)) for p, v in self.segments() if p is not None]

    def explain(self) -> pd.DataFrame:
        """One row per part of the stub: part, value, meaning."""
        return pd.DataFrame(self.rows(), columns=["part", "value", "meaning"])

    def to_dict(self) -> dict:
        """Every part and decoded fact as a JSON-ready dict."""
        out = {"stub": str(self), "style": self.style}
        for name in ("domain", "sub_domain", "architecture", "sub_architecture", "framework", "repo",
                     "dataset", "training_scheme", "source_dataset", "training_dataset", "sparse_tag",
                     "sparse_name", "sparse_category", "sparse_target"):
            out[name] = getattr(self, name)
        out["params"] = dict(self.params)
        out.update(layers=self.layers, model_layers=self.model_layers, pruned_percent=self.pruned_percent,
                   quantized=self.quantized, is_base=self.is_base, category=self.category,
                   recovery_percent=self.recovery_percent, target=self.target)
        return out

    def _repr_html_(self) -> str:
        """The stub colour-coded per part, with a table of meanings (drawn by qa_kit.stub_html)."""
        from .stub_html import stub_html  # a display hook: the view draws the data

        return stub_html(self)


# ----------------------------------------------------------------------------- parsing

def _check_word(label: str, value: str) -> None:
    """Raise StubError unless value is a legal part: ASCII letters, digits, '_', '.', alnum first."""
    if not value:
        raise StubError(f"the {label} is empty; {_WORD_HINT}")
    for ch in value:
        if ch not in _WORD_CHARS:
            raise StubError(f"the {label} {quote_value(value)} has an illegal character {ch!r}; {_WORD_HINT}")
    if not value[0].isalnum():
        raise StubError(f"the {label} {quote_value(value)} starts with {value[0]!r}; expected a letter or digit first")


def _upper(label: str) -> str:
    """'sub-architecture' -> 'SUB_ARCHITECTURE', as the grammar spells parts."""
    return re.sub(r"[ -]", "_", label.upper())


def _split_pair(value: str, first: str, second: str) -> Tuple[str, Optional[str]]:
    """Split FIRST[-SECOND] (e.g. architecture-sub_architecture), checking both words."""
    pieces = value.split("-")
    if len(pieces) > 2:
        raise StubError(f"the {first} part {quote_value(value)} has more than one '-'; "
                        f"expected {_upper(first)}[-{_upper(second)}]")
    if len(pieces) == 2 and not pieces[1]:
        raise StubError(f"the {second} after '-' in {quote_value(value)} is empty; remove the '-' or add the {second}")
    _check_word(f"{first} part" if len(pieces) == 1 else first, pieces[0])
    if len(pieces) == 2:
        _check_word(second, pieces[1])
        return pieces[0], pieces[1]
    return pieces[0], None


def _split_tag(tag: str) -> Tuple[str, str, Optional[str]]:
    """Split a path-style sparse tag into name, category and optional target."""
    pieces = tag.split("-")
    if len(pieces) == 1:
        _check_word("sparse tag", tag)
        raise StubError(f"the sparse tag {quote_value(tag)} has no category; expected "
                        "SPARSE_NAME-SPARSE_CATEGORY[-SPARSE_TARGET], e.g. 'pruned90-none'")
    if len(pieces) > 3:
        raise StubError(f"the sparse tag {quote_value(tag)} has {len(pieces)} '-' parts; expected at most 3: "
                        "SPARSE_NAME-SPARSE_CATEGORY[-SPARSE_TARGET]")
    for label, piece in zip(("sparse name", "sparse category", "sparse target"), pieces):
        _check_word(f"{label} in the sparse tag {quote_value(tag)}" if not piece else label, piece)
    return pieces[0], pieces[1], pieces[2] if len(pieces) == 3 else None


def _strip_prefix(text: str) -> str:
    """Remove the 'zoo:' prefix (if any), rejecting other prefixes with what they are."""
    if text.startswith(ZOO_PREFIX):
        body = text[len(ZOO_PREFIX):]
        if body.startswith("/"):
            raise StubError("'zoo:' is followed by '/'; write 'zoo:DOMAIN/...' with no slash after the colon")
        if body.startswith(":"):
            raise StubError("'zoo:' is followed by another ':'; write one 'zoo:' prefix")
        return body
    if text[:4].lower() == ZOO_PREFIX:
        raise StubError(f"the prefix {text[:4]!r} must be written in lower case: 'zoo:'")
    if text.lower().startswith("zoo/"):
        raise StubError("the stub starts with 'zoo/'; the prefix is 'zoo:' with a colon")
    if text.startswith(HF_PREFIX):
        raise StubError("'hf:' marks a Hugging Face Hub repo, not a SparseZoo stub; "
                        "use describe() to explain it or load() to use it")
    if re.match(r"https?://", text, re.IGNORECASE):
        raise StubError("this is a server URL, not a SparseZoo stub; a stub starts with 'zoo:'")
    m = OTHER_PREFIX.match(text)
    if m:
        raise StubError(f"unknown prefix {m.group(0)!r}; a SparseZoo stub starts with 'zoo:' or has no prefix")
    return text


def _split_query(body: str) -> Tuple[str, Dict[str, str]]:
    """Split off and check the query string: KEY=VALUE pairs joined by '&'."""
    if "?" not in body:
        return body, {}
    body, _, query = body.partition("?")
    if not query:
        raise StubError("the query string after '?' is empty; expected KEY=VALUE, e.g. 'recipe_type=original'")
    if "?" in query:
        raise StubError("the stub has more than one '?'; join query items with '&'")
    params: Dict[str, str] = {}
    for item in query.split("&"):
        if not item:
            raise StubError("the query string has an empty item (a stray '&'); expected KEY=VALUE&KEY=VALUE")
        key, eq, value = item.partition("=")
        if not eq:
            raise StubError(f"the query item {quote_value(item)} has no '='; expected KEY=VALUE")
        if not _QUERY_KEY.fullmatch(key):
            raise StubError(f"the query key {quote_value(key)} is not valid; expected letters, digits, '_' or '-', "
                            "starting with a letter")
        if not _QUERY_VALUE.fullmatch(value):
            raise StubError(f"the value of query key {key!r} ({quote_value(value)}) is not valid; "
                            "expected letters, digits, '_', '.' or '-'")
        if key in params:
            raise StubError(f"the query key {key!r} appears twice; give it once")
        params[key] = value
    return body, params


def _parse_path(body: str) -> dict:
    """Parse DOMAIN/SUB_DOMAIN/ARCH[-SUB]/FRAMEWORK/REPO/DATASET[-SCHEME]/TAG into fields."""
    if body.startswith("/"):
        raise StubError("the stub starts with '/'; remove the '/' before the domain part")
    segments = body.split("/")
    trailing = segments[-1] == ""
    if trailing:
        segments = segments[:-1]
    for i, seg in enumerate(segments):
        if seg == "":
            raise StubError(f"the stub has an empty part after {quote_value(segments[i - 1])} (a double '/'); "
                            "remove the extra '/'")
    if len(segments) < 7:
        raise StubError(f"missing the {_PATH_PARTS[len(segments)]} part after {quote_value(segments[-1])}; "
                        f"expected {PATH_GRAMMAR}")
    if len(segments) > 7:
        raise StubError(f"the stub has {len(segments)} parts separated by '/', expected 7 ({PATH_GRAMMAR}); "
                        f"remove the extra part {quote_value(segments[7])}")
    if trailing:
        raise StubError("the stub ends with '/' after the sparse tag; remove the extra '/'")
    domain, sub_domain, arch, framework, repo, dataset, tag = segments
    _check_word("domain part", domain)
    _check_word("sub-domain part", sub_domain)
    architecture, sub_architecture = _split_pair(arch, "architecture", "sub-architecture")
    _check_word("framework part", framework)
    _check_word("repo part", repo)
    dataset_name, training_scheme = _split_pair(dataset, "dataset", "training scheme")
    name, category, target = _split_tag(tag)
    return dict(domain=domain, sub_domain=sub_domain, architecture=architecture,
                sub_architecture=sub_architecture, framework=framework, repo=repo, dataset=dataset_name,
                training_scheme=training_scheme, sparse_tag=tag, sparse_name=name,
                sparse_category=category, sparse_target=target)


def _parse_name(body: str) -> dict:
    """Parse ARCH[-SUB]-SOURCE_DATASET[-TRAINING_DATASET]-SPARSE_TAG into fields."""
    pieces = body.split("-")
    if len(pieces) == 1:
        _check_word("stub", body)
        raise StubError(f"{quote_value(body)} is neither a path-style stub ({PATH_GRAMMAR}) "
                        f"nor a name-style stub ({NAME_GRAMMAR})")
    if any(p == "" for p in pieces):
        raise StubError(f"the name-style stub {quote_value(body)} has an empty part (a '-' at an end or a double "
                        f"'--'); expected {NAME_GRAMMAR}")
    if len(pieces) == 2:
        raise StubError(f"the name-style stub {quote_value(body)} has 2 parts; expected at least 3: {NAME_GRAMMAR} "
                        f"(or a path-style stub: {PATH_GRAMMAR})")
    if len(pieces) > 5:
        raise StubError(f"the name-style stub {quote_value(body)} has {len(pieces)} '-' parts, expected at most 5: "
                        f"{NAME_GRAMMAR}")
    labels = {3: ("architecture", "source dataset", "sparse tag"),
              4: ("architecture", "sub-architecture", "source dataset", "sparse tag"),
              5: ("architecture", "sub-architecture", "source dataset", "training dataset", "sparse tag")}
    names = [label.replace(" ", "_").replace("-", "_") for label in labels[len(pieces)]]
    for label, piece in zip(labels[len(pieces)], pieces):
        _check_word(f"{label} part", piece)
    found = dict(zip(names, pieces))
    found["sparse_name"] = found["sparse_tag"]
    return found


def parse(stub: str) -> ZooStub:
    """Parse a SparseZoo stub of either grammar (with or without 'zoo:', with a query) into parts."""
    if isinstance(stub, ZooStub):
        return stub
    if not isinstance(stub, str):
        raise StubError(f"a stub must be a string, not {type(stub).__name__}; e.g. {EXAMPLE_STUB!r}")
    text = stub.strip()
    if not text:
        raise StubError(f"the stub is empty; expected e.g. {EXAMPLE_STUB!r}")
    if len(text) > MAX_STUB_LENGTH:
        raise StubError(f"the stub is {len(text)} characters long; expected at most {MAX_STUB_LENGTH}")
    body, params = _split_query(_strip_prefix(text))
    if not body:
        raise StubError(f"nothing follows 'zoo:'; expected {PATH_GRAMMAR} or {NAME_GRAMMAR}")
    if "/" in body:
        return ZooStub(style="path", params=params, **_parse_path(body))
    return ZooStub(style="name", params=params, **_parse_name(body))


def is_stub(text: str) -> bool:
    """True when text parses as a SparseZoo stub."""
    try:
        parse(text)
    except StubError:
        return False
    return True


def build(
    *,
    architecture: str,
    sub_architecture: Optional[str] = None,
    sparse_tag: Optional[str] = None,
    sparse_name: Optional[str] = None,
    sparse_category: Optional[str] = None,
    sparse_target: Optional[str] = None,
    domain: str = "nlp",
    sub_domain: str = "question_answering",
    framework: str = "pytorch",
    repo: str = "huggingface",
    dataset: str = "squad",
    training_scheme: Optional[str] = None,
    params: Optional[Mapping[str, str]] = None,
) -> ZooStub:
    """Compose a path-style stub from parts (defaults: a SQuAD question-answering model)."""
    parts = dict(domain=domain, sub_domain=sub_domain, architecture=architecture, framework=framework,
                 repo=repo, dataset=dataset)
    optional = dict(sub_architecture=sub_architecture, training_scheme=training_scheme,
                    sparse_name=sparse_name, sparse_category=sparse_category, sparse_target=sparse_target)
    for name, value in {**parts, **optional, "sparse_tag": sparse_tag}.items():
        if value is not None and not isinstance(value, str):
            raise StubError(f"the {name} part must be a string, not {type(value).__name__}")
    for name, value in {**parts, **optional}.items():
        if value is not None:
            _check_word(f"{name.replace('_', '-')} part", value)
    if sparse_tag is not None and any(v is not None for v in (sparse_name, sparse_category, sparse_target)):
        raise StubError("give either sparse_tag or sparse_name/sparse_category/sparse_target, not both")
    if sparse_tag is None:
        if sparse_name is None:
            raise StubError("missing the sparse tag; give sparse_tag='pruned90-none' "
                            "or sparse_name='pruned90' and sparse_category='none'")
        if sparse_category is None:
            raise StubError(f"missing the sparse category after sparse_name {sparse_name!r}; expected e.g. 'none'")
        sparse_tag = "-".join(p for p in (sparse_name, sparse_category, sparse_target) if p is not None)
    else:
        _split_tag(sparse_tag)
    arch = architecture + (f"-{sub_architecture}" if sub_architecture is not None else "")
    data = dataset + (f"-{training_scheme}" if training_scheme is not None else "")
    text = f"{ZOO_PREFIX}{domain}/{sub_domain}/{arch}/{framework}/{repo}/{data}/{sparse_tag}"
    if params:
        text += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return parse(text)


__all__ = [
    "StubError", "ZooStub", "parse", "build", "is_stub", "quote_value",
    "ZOO_PREFIX", "HF_PREFIX", "OTHER_PREFIX", "MAX_STUB_LENGTH", "PATH_GRAMMAR", "NAME_GRAMMAR", "EXAMPLE_STUB",
]
