"""SparseZoo stub grammar: parse, explain, build and catalog stubs, and say what any source is.

A stub such as `zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none` names a
model in SparseZoo, Neural Magic's model repository (reached through api.neuralmagic.com). It is
not the Hugging Face Hub: the Hub has its own `hf:` prefix. Neural Magic retired SparseZoo in June
2025; the catalog's `hub` column names a Hub model for a stub where one is known (`hub_match`
says whether it is an exact copy or only a related model). This module needs only the standard
library and pandas, so it runs where deepsparse is not installed.

Decisions worth knowing:
- Parts are ASCII letters, digits, `_` and `.`, and start with a letter or digit (no `..`).
- Surrounding whitespace is stripped; anything else odd is a `StubError` naming the part.
- A name-style stub with three parts before its tag is read ARCH-SUB-SOURCE, as SparseZoo does.
- `kind_of`: `zoo:` -> zoo, `hf:` -> hf, `http(s)://` -> url, a catalog name -> catalog, an
  existing path -> path, an unprefixed path-style stub that is not on disk -> zoo, anything
  with a path separator (or starting `.`/`~`, or ending `.onnx`) -> path, any other bare word ->
  catalog (so an unknown short name fails as "not in the catalog").
"""
from __future__ import annotations

import difflib
import html
import json
import os
import re
import string
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

import pandas as pd

from qa_kit.errors import QAKitError
from qa_kit.paths import CATALOG_PATH, missing_data_hint

ZOO_PREFIX = "zoo:"
HF_PREFIX = "hf:"
MAX_STUB_LENGTH = 256
CATALOG_COLUMNS = ("name", "source", "network", "architecture", "layers", "pruned_percent", "quantized", "target",
                   "hub", "hub_match", "note")
HUB_MATCHES = ("exact", "related")  # hub_match: the Hub model is a copy of the zoo model, or only like it
PATH_GRAMMAR = "DOMAIN/SUB_DOMAIN/ARCHITECTURE[-SUB_ARCHITECTURE]/FRAMEWORK/REPO/DATASET[-TRAINING_SCHEME]/SPARSE_TAG"
NAME_GRAMMAR = "ARCHITECTURE[-SUB_ARCHITECTURE]-SOURCE_DATASET[-TRAINING_DATASET]-SPARSE_TAG"
EXAMPLE_STUB = "zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none"
SOURCE_KINDS = ("zoo", "hf", "url", "path", "catalog")

_WORD_CHARS = frozenset(string.ascii_letters + string.digits + "_.")
_WORD_HINT = "expected letters, digits, '_' or '.'"
_PATH_PARTS = ("domain", "sub-domain", "architecture", "framework", "repo", "dataset", "sparse tag")
_QUERY_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_QUERY_VALUE = re.compile(r"[A-Za-z0-9_.-]+")
_OTHER_PREFIX = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


class StubError(QAKitError, ValueError):
    """A stub or source string is malformed; the message names the part and what was expected."""


# ----------------------------------------------------------------------------- meanings

ZOO_MEANING = (
    "SparseZoo: Neural Magic's model repository, reached through its own API "
    "(api.neuralmagic.com; retired in June 2025); not the Hugging Face Hub, which is 'hf:'"
)
_DOMAINS = {"nlp": "natural language processing", "cv": "computer vision"}
_TASKS = {
    "question_answering": "extractive question answering: find the answer span in a passage",
    "sentiment_analysis": "sentiment analysis: is a text positive or negative",
    "text_classification": "text classification: sort texts into labels",
    "token_classification": "token classification: label each word (e.g. names, places)",
    "masked_language_modeling": "masked language modelling: the pretrained encoder, before fine-tuning",
    "text_generation": "text generation: write text that continues a prompt",
    "classification": "image classification: one label per image",
    "detection": "object detection: boxes around things in an image",
    "segmentation": "segmentation: outline things in an image pixel by pixel",
}
_ARCHITECTURES = {
    "bert": "BERT: Google's Transformer encoder",
    "distilbert": "DistilBERT: a 6-layer BERT distilled from bert-base",
    "obert": "oBERT: BERT pruned with the Optimal BERT Surgeon (second-order) method",
    "mobilebert": "MobileBERT: a thin 24-layer BERT built for phones",
    "roberta": "RoBERTa: BERT retrained with more data and no next-sentence task",
    "resnet_v1": "ResNet v1: a residual convolutional image network",
    "mobilenet_v1": "MobileNet v1: a small convolutional image network",
    "yolov5": "YOLOv5: a one-pass object detector",
    "yolov8": "YOLOv8: a one-pass object detector",
}
_SUB_ARCHITECTURES = {
    "none": "no sub-variant: the architecture comes in one size",
    "base": "base size: 12 layers, hidden size 768",
    "large": "large size: 24 layers, hidden size 1024",
    "base_cased": "base size with a case-sensitive vocabulary",
    "base_uncased": "base size with a lower-cased vocabulary",
}
#: layers of the dense model for ARCHITECTURE-SUB_ARCHITECTURE, when the tag does not say.
KNOWN_LAYERS = {
    "bert-base": 12, "bert-base_cased": 12, "bert-large": 24, "distilbert-none": 6,
    "obert-base": 12, "obert-large": 24, "mobilebert-none": 24,
}
_FRAMEWORKS = {
    "pytorch": "trained in PyTorch, then exported to ONNX for DeepSparse",
    "tensorflow": "trained in TensorFlow, then exported to ONNX",
    "keras": "trained in Keras, then exported to ONNX",
}
_REPOS = {
    "huggingface": "Hugging Face transformers code; the files still come from SparseZoo, not the Hub",
    "sparseml": "Neural Magic's SparseML training code",
    "ultralytics": "the Ultralytics YOLO code",
    "torchvision": "the torchvision model code",
}
_DATASETS = {
    "squad": "SQuAD v1.1: questions on Wikipedia paragraphs, answers are spans of the paragraph",
    "wikipedia_bookcorpus": "Wikipedia + BookCorpus: the text BERT is pretrained on",
    "imagenet": "ImageNet: 1.2 million photos in 1000 classes",
    "imagenette": "Imagenette: a 10-class subset of ImageNet",
    "coco": "COCO: photos with boxes and outlines of 80 kinds of things",
    "sst2": "SST-2: movie-review sentences labelled positive or negative",
    "mnli": "MultiNLI: sentence pairs labelled entailment, neutral or contradiction",
    "conll2003": "CoNLL-2003: news text with people, places and organisations labelled",
}
_CATEGORIES = {
    "none": "no accuracy grade in the tag",
    "conservative": "conservative: keeps about 100% of the dense baseline's accuracy",
    "moderate": "moderate: keeps at least 99% of the dense baseline's accuracy",
    "aggressive": "aggressive: keeps under 99% of the dense baseline's accuracy, for more speed",
}
_TARGETS = {
    "vnni": "block-4 pruning for Intel VNNI int8 instructions: weights pruned in groups of 4 "
            "so sparse int8 runs fast on CPUs with AVX-512 VNNI",
    "edge": "tuned for small edge devices",
    "deepsparse": "tuned for the DeepSparse CPU engine",
    "deepsparse_throughput": "tuned for DeepSparse throughput (large batches)",
    "gpu": "tuned for GPUs",
}
_PARAMS = {
    "recipe_type": "which sparsification recipe to fetch (e.g. original, transfer_learn)",
    "recipe-type": "which sparsification recipe to fetch (e.g. original, transfer_learn)",
    "checkpoint": "which saved training checkpoint of the model to fetch",
    "deployment": "which deployment folder (the ONNX files ready for inference) to fetch",
}
_PART_MEANINGS = {
    "domain": (_DOMAINS, "the field the model works in"),
    "sub_domain": (_TASKS, "the task the model does"),
    "architecture": (_ARCHITECTURES, "the network design"),
    "sub_architecture": (_SUB_ARCHITECTURES, "the variant (usually the size) of the architecture"),
    "framework": (_FRAMEWORKS, "the framework it was trained in"),
    "repo": (_REPOS, "the code base the model came from: an origin, not a download location"),
    "dataset": (_DATASETS, "the data set it was trained on"),
    "training_scheme": ({}, "how the training was varied (e.g. augmented)"),
    "source_dataset": (_DATASETS, "the data set(s) it was trained on, names joined by '_'"),
    "training_dataset": (_DATASETS, "a further data set it was trained on"),
}
_TOKEN_RULES: List[Tuple[re.Pattern, object]] = [
    (re.compile(r"base"), "the dense baseline: nothing pruned, nothing quantized"),
    (re.compile(r"pruned(\d+)"), lambda m: f"{m[1]}% of the weights pruned (set to zero)"),
    (re.compile(r"pruned"), "weights pruned (set to zero); the tag does not say how many"),
    (re.compile(r"quant(?:ized)?"), "quantized: 8-bit integers (int8) instead of 32-bit floats"),
    (re.compile(r"quantW(\d+)A(\d+)"), lambda m: f"quantized: {m[1]}-bit weights, {m[2]}-bit activations"),
    (re.compile(r"(\d+)layers?"), lambda m: f"the model has {m[1]} transformer layers"),
    (re.compile(r"(\d+)block"), lambda m: f"block-{m[1]} pruning: weights removed in groups of {m[1]} "
                                           "(groups of 4 suit Intel VNNI int8 instructions)"),
    (re.compile(r"obs"), "pruned with the Optimal Brain Surgeon method (second-order, as in oBERT)"),
    (re.compile(r"uniform"), "the same sparsity in every layer"),
    (re.compile(r"arch"), "the architecture was changed from the original"),
]
_UNKNOWN_TOKEN = "not a word the kit knows; the server matches the whole tag as one string"

_COLOURS = {
    "prefix": "#e2e2e2", "domain": "#ffd6a5", "sub_domain": "#fdffb6", "architecture": "#caffbf",
    "sub_architecture": "#b9f0d8", "framework": "#9bf6ff", "repo": "#a0c4ff", "dataset": "#c9c2ff",
    "training_scheme": "#ddd0ff", "source_dataset": "#c9c2ff", "training_dataset": "#ddd0ff",
    "sparse_tag": "#ffc6ff", "sparse_name": "#ffc6ff", "sparse_category": "#ffadad",
    "sparse_target": "#f6c6a8", "param": "#e9ecef",
}
_DARK_TEXT = "#1a1a1a"


def _quote(value: str, limit: int = 48) -> str:
    """Quote a value for an error message, cut short so a huge input gives a short message."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _known(table: Mapping[str, str], value: str, generic: str) -> str:
    """The meaning of a value from a table, else the generic meaning of its part."""
    return table.get(value) or table.get(value.lower()) or generic


def _dataset_meaning(part: str, value: str) -> str:
    """Meaning of a dataset part, naming each known data set inside a '_'-joined value."""
    table, generic = _PART_MEANINGS[part]
    if value in table:
        return table[value]
    found = [name for name in table if re.search(rf"(^|_){re.escape(name)}(_|$)", value)]
    found = [n for n in found if not any(n != o and n in o for o in found)]
    return generic + ("; " + "; ".join(table[n] for n in found) if found else "")


def tag_words(sparse_name: str) -> List[Tuple[str, str]]:
    """Split a sparse name (e.g. '12layer_pruned80_quant') into its words and their meanings."""
    words = []
    for word in re.split(r"[_.]", sparse_name or ""):
        if not word:
            continue
        meaning = _UNKNOWN_TOKEN
        for pattern, rule in _TOKEN_RULES:
            m = pattern.fullmatch(word)
            if m:
                meaning = rule(m) if callable(rule) else rule
                break
        words.append((word, meaning))
    return words


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
        return "".join(text for _, text in self._segments())

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
    def _segments(self) -> List[Tuple[Optional[str], str]]:
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

    def _meaning(self, part: str, value: str) -> str:
        """What one part's value means."""
        if part == "prefix":
            return ZOO_MEANING
        if part in ("dataset", "source_dataset", "training_dataset"):
            return _dataset_meaning(part, value)
        if part in _PART_MEANINGS:
            table, generic = _PART_MEANINGS[part]
            return _known(table, value, generic)
        if part in ("sparse_name", "sparse_tag"):
            return "; ".join(m for _, m in tag_words(value)) or _UNKNOWN_TOKEN
        if part == "sparse_category":
            meaning = _known(_CATEGORIES, self.category or value, "how far it was sparsified (a grade)")
            if self.recovery_percent is not None:
                meaning += f"; {self.recovery_percent} = percent of the baseline accuracy kept"
            return meaning
        if part == "sparse_target":
            return _known(_TARGETS, value, "the hardware the sparsity was laid out for")
        if part == "param":
            key = value.partition("=")[0]
            return _PARAMS.get(key, "a query parameter passed to the SparseZoo API")
        return ""

    def _rows(self) -> List[Tuple[str, str, str]]:
        """(part, value, meaning) for every part present, in stub order."""
        return [(p, v, self._meaning(p, v)) for p, v in self._segments() if p is not None]

    def explain(self) -> pd.DataFrame:
        """One row per part of the stub: part, value, meaning."""
        return pd.DataFrame(self._rows(), columns=["part", "value", "meaning"])

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
        """The stub colour-coded per part, with a table of meanings (escaped, light and dark themes)."""
        esc = html.escape
        pieces = []
        for part, text in self._segments():
            if part is None:
                pieces.append(esc(text))
            else:
                pieces.append(_chip(part, text, title=f"{part}: {self._meaning(part, text)}"))
        rows = "".join(
            f"<tr><td style='padding:2px 8px;text-align:left'>{esc(part)}</td>"
            f"<td style='padding:2px 8px;text-align:left'>{_chip(part, value)}</td>"
            f"<td style='padding:2px 8px;text-align:left'>{esc(meaning)}</td></tr>"
            for part, value, meaning in self._rows()
        )
        return (
            "<div class='qa-kit-stub'>"
            f"<div style='font-family:monospace;font-size:1.1em;margin:4px 0 8px 0'>{''.join(pieces)}</div>"
            "<table style='border-collapse:collapse'>"
            "<tr><th style='padding:2px 8px;text-align:left'>part</th>"
            "<th style='padding:2px 8px;text-align:left'>value</th>"
            "<th style='padding:2px 8px;text-align:left'>meaning</th></tr>"
            f"{rows}</table></div>"
        )


def _chip(part: str, text: str, title: str = "") -> str:
    """One part as an escaped span with its background colour and dark text."""
    colour = _COLOURS.get(part, "#e9ecef")
    attr = f" title='{html.escape(title, quote=True)}'" if title else ""
    return (f"<span style='background:{colour};color:{_DARK_TEXT};padding:0 2px;border-radius:3px;"
            f"font-family:monospace'{attr}>{html.escape(text)}</span>")


# ----------------------------------------------------------------------------- parsing

def _check_word(label: str, value: str) -> None:
    """Raise StubError unless value is a legal part: ASCII letters, digits, '_', '.', alnum first."""
    if not value:
        raise StubError(f"the {label} is empty; {_WORD_HINT}")
    for ch in value:
        if ch not in _WORD_CHARS:
            raise StubError(f"the {label} {_quote(value)} has an illegal character {ch!r}; {_WORD_HINT}")
    if not value[0].isalnum():
        raise StubError(f"the {label} {_quote(value)} starts with {value[0]!r}; expected a letter or digit first")


def _upper(label: str) -> str:
    """'sub-architecture' -> 'SUB_ARCHITECTURE', as the grammar spells parts."""
    return re.sub(r"[ -]", "_", label.upper())


def _split_pair(value: str, first: str, second: str) -> Tuple[str, Optional[str]]:
    """Split FIRST[-SECOND] (e.g. architecture-sub_architecture), checking both words."""
    pieces = value.split("-")
    if len(pieces) > 2:
        raise StubError(f"the {first} part {_quote(value)} has more than one '-'; "
                        f"expected {_upper(first)}[-{_upper(second)}]")
    if len(pieces) == 2 and not pieces[1]:
        raise StubError(f"the {second} after '-' in {_quote(value)} is empty; remove the '-' or add the {second}")
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
        raise StubError(f"the sparse tag {_quote(tag)} has no category; expected "
                        "SPARSE_NAME-SPARSE_CATEGORY[-SPARSE_TARGET], e.g. 'pruned90-none'")
    if len(pieces) > 3:
        raise StubError(f"the sparse tag {_quote(tag)} has {len(pieces)} '-' parts; expected at most 3: "
                        "SPARSE_NAME-SPARSE_CATEGORY[-SPARSE_TARGET]")
    for label, piece in zip(("sparse name", "sparse category", "sparse target"), pieces):
        _check_word(f"{label} in the sparse tag {_quote(tag)}" if not piece else label, piece)
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
    m = _OTHER_PREFIX.match(text)
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
            raise StubError(f"the query item {_quote(item)} has no '='; expected KEY=VALUE")
        if not _QUERY_KEY.fullmatch(key):
            raise StubError(f"the query key {_quote(key)} is not valid; expected letters, digits, '_' or '-', "
                            "starting with a letter")
        if not _QUERY_VALUE.fullmatch(value):
            raise StubError(f"the value of query key {key!r} ({_quote(value)}) is not valid; "
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
            raise StubError(f"the stub has an empty part after {_quote(segments[i - 1])} (a double '/'); "
                            "remove the extra '/'")
    if len(segments) < 7:
        raise StubError(f"missing the {_PATH_PARTS[len(segments)]} part after {_quote(segments[-1])}; "
                        f"expected {PATH_GRAMMAR}")
    if len(segments) > 7:
        raise StubError(f"the stub has {len(segments)} parts separated by '/', expected 7 ({PATH_GRAMMAR}); "
                        f"remove the extra part {_quote(segments[7])}")
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
        raise StubError(f"{_quote(body)} is neither a path-style stub ({PATH_GRAMMAR}) "
                        f"nor a name-style stub ({NAME_GRAMMAR})")
    if any(p == "" for p in pieces):
        raise StubError(f"the name-style stub {_quote(body)} has an empty part (a '-' at an end or a double "
                        f"'--'); expected {NAME_GRAMMAR}")
    if len(pieces) == 2:
        raise StubError(f"the name-style stub {_quote(body)} has 2 parts; expected at least 3: {NAME_GRAMMAR} "
                        f"(or a path-style stub: {PATH_GRAMMAR})")
    if len(pieces) > 5:
        raise StubError(f"the name-style stub {_quote(body)} has {len(pieces)} '-' parts, expected at most 5: "
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


# ----------------------------------------------------------------------------- the catalog

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


# ----------------------------------------------------------------------------- any source

def _exists(path: Path) -> bool:
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
    m = _OTHER_PREFIX.match(text)
    if m and not re.match(r"[A-Za-z]:[\\/]", text):
        raise StubError(f"unknown source prefix {m.group(0)!r}; expected 'zoo:', 'hf:', 'http(s)://', "
                        "a path or a catalog name")
    if CATALOG_PATH.is_file() and text in set(catalog()["name"]):  # without a catalog, folders still load
        return "catalog"
    if _exists(Path(text).expanduser()):
        return "path"
    if text.count("/") == 6 and not text.startswith(("/", ".", "~")) and is_stub(text):
        return "zoo"
    return "path" if _looks_like_path(text) else "catalog"


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
        raise StubError(f"the hf: source {_quote(repo)} is missing the '/' between owner and name; "
                        "expected 'hf:OWNER/NAME'")
    for label, value in (("owner", owner), ("name", name)):
        if not value:
            raise StubError(f"the hf: source is missing its {label}; expected 'hf:OWNER/NAME'")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value) or len(value) > 96:
            raise StubError(f"the hf: {label} {_quote(value)} is not valid; expected letters, digits, "
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
        raise StubError(f"the URL {_quote(text)} has no host; expected e.g. 'http://localhost:5543'")
    try:
        port = parts.port
    except ValueError:
        raise StubError(f"the URL {_quote(text)} has a bad port; expected a number after ':'") from None
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
        raise StubError(f"the path {_quote(text)} cannot be resolved on this machine; check it") from None
    rows = [("path", text, "a model on this machine; the kit copies it to its cache and never changes it"),
            ("resolved", str(path), "the absolute path it points to")]
    if _exists(path) and path.is_dir():
        wanted = ("model.onnx", "config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt")
        have = [f for f in wanted if (path / f).exists()]
        rows.append(("kind", "folder", "a model folder: model.onnx with config.json and tokenizer files"))
        rows.append(("files", ", ".join(have) or "(none of the expected files)",
                     "expected files found: " + (", ".join(have) if have else "none") +
                     "; missing: " + (", ".join(f for f in wanted if f not in have) or "none")))
    elif _exists(path) and path.is_file():
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
        raise StubError(f"{_quote(text)} is not in the catalog, not an existing path and not a zoo:/hf: "
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
    inner = (_describe_path(source, CATALOG_PATH.parent) if kind_of(source) == "path" else describe(source))
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


def _text_table(source: str, kind: str, table: pd.DataFrame, width: int = 100) -> str:
    """A plain-text part/value/meaning table with the meaning column wrapped."""
    part_w = max([4] + [len(p) for p in table["part"]])
    value_w = min(48, max([5] + [len(v) for v in table["value"]]))
    meaning_w = max(30, width - part_w - value_w - 4)
    lines = [f"{source}  [{kind}]", f"{'part':<{part_w}}  {'value':<{value_w}}  meaning"]
    for part, value, meaning in table.itertuples(index=False):
        wrapped = textwrap.wrap(meaning, meaning_w) or [""]
        if len(value) > value_w:  # a long value gets its own line; the meaning starts below it
            lines.append(f"{part:<{part_w}}  {value}")
            wrapped.insert(0, "")
            lines.append(" " * (part_w + value_w + 4) + wrapped[1])
            wrapped = wrapped[1:]
        else:
            lines.append(f"{part:<{part_w}}  {value:<{value_w}}  {wrapped[0]}")
        lines.extend(" " * (part_w + value_w + 4) + more for more in wrapped[1:])
    return "\n".join(lines)


def cli_explain(source: str, as_json: bool = False) -> str:
    """The text `qa-kit stub explain SOURCE [--json]` prints; raises StubError on a bad source."""
    kind = kind_of(source)
    table = describe(source)
    text = source.strip()
    if as_json:
        payload = {"source": text, "kind": kind, "parts": table.to_dict(orient="records")}
        if kind == "zoo":
            payload["stub"] = parse(text).to_dict()
        return json.dumps(payload, indent=2)
    return _text_table(text, kind, table)


__all__ = [
    "StubError", "ZooStub", "parse", "build", "is_stub", "tag_words", "catalog", "catalog_source", "hub_counterpart",
    "describe", "kind_of", "cli_explain", "CATALOG_PATH", "CATALOG_COLUMNS", "KNOWN_LAYERS",
    "ZOO_PREFIX", "HF_PREFIX", "MAX_STUB_LENGTH", "PATH_GRAMMAR", "NAME_GRAMMAR", "SOURCE_KINDS",
]
