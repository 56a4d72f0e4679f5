"""SparseZoo stubs, the public face: parse, explain and build stubs, the catalog, and what any source is.

A stub such as `zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none` names a
model in SparseZoo, Neural Magic's model repository (reached through api.neuralmagic.com). It is
not the Hugging Face Hub: the Hub has its own `hf:` prefix. Neural Magic retired SparseZoo in June
2025; the catalog's `hub` column names a Hub model for a stub where one is known (`hub_match`
says whether it is an exact copy or only a related model). Everything here needs only the standard
library and pandas, so it runs where deepsparse is not installed.

Each idea has its own module; this one gathers their public names, as `qa_kit.stubs.parse(...)`:
- `qa_kit.stub_grammar`: the grammar (`parse`, `build`, `is_stub`, `ZooStub`, `StubError`);
- `qa_kit.glossary`: what each part and each sparse-tag word means (`tag_words`);
- `qa_kit.catalog`: the model catalog and its lookups, and `kind_of` (what a source string is);
- `qa_kit.describe`: `describe`, any source as part/value/meaning rows;
- `qa_kit.stub_html`: a stub as HTML (how a `ZooStub` shows itself in a notebook).
"""
from __future__ import annotations

from .catalog import (CATALOG_COLUMNS, CATALOG_PATH, HUB_MATCHES, SOURCE_KINDS, catalog, catalog_source,
                      hub_counterpart, kind_of)
from .describe import describe
from .glossary import KNOWN_LAYERS, ZOO_MEANING, tag_words
from .stub_grammar import (EXAMPLE_STUB, HF_PREFIX, MAX_STUB_LENGTH, NAME_GRAMMAR, PATH_GRAMMAR, ZOO_PREFIX,
                           StubError, ZooStub, build, is_stub, parse)

__all__ = [
    "StubError", "ZooStub", "parse", "build", "is_stub", "tag_words", "catalog", "catalog_source", "hub_counterpart",
    "describe", "kind_of", "CATALOG_PATH", "CATALOG_COLUMNS", "HUB_MATCHES", "KNOWN_LAYERS", "ZOO_MEANING",
    "ZOO_PREFIX", "HF_PREFIX", "MAX_STUB_LENGTH", "PATH_GRAMMAR", "NAME_GRAMMAR", "EXAMPLE_STUB", "SOURCE_KINDS",
]
