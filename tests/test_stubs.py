"""Tests for qa_kit.stubs: both stub grammars, decoding, build, errors, sources and the catalog."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from qa_kit import catalog as catalog_module
from qa_kit import stubs
from qa_kit.errors import QAKitError, SourceError
from qa_kit.cli_stub import cli_explain
from qa_kit.stubs import (StubError, ZooStub, build, catalog, catalog_source, describe, hub_counterpart,
                          kind_of, parse)

QA = "zoo:nlp/question_answering/{}/pytorch/huggingface/squad/{}"
VNNI = QA.format("bert-base", "12layer_pruned80_quant-none-vnni")
ZOO_ROWS = [row for row in catalog().itertuples(index=False) if row.source.startswith("zoo:")]
ZOO_HUB_ROWS = [row for row in ZOO_ROWS if row.hub]
TEACHER = "hf:neuralmagic/oBERT-teacher-squadv1"


# ----------------------------------------------------------------------------- parsing

def test_path_style_parts_are_all_filled() -> None:
    s = parse(VNNI)
    assert (s.style, s.domain, s.sub_domain, s.architecture, s.sub_architecture) == (
        "path", "nlp", "question_answering", "bert", "base")
    assert (s.framework, s.repo, s.dataset, s.training_scheme) == ("pytorch", "huggingface", "squad", None)
    assert (s.sparse_tag, s.sparse_name, s.sparse_category, s.sparse_target) == (
        "12layer_pruned80_quant-none-vnni", "12layer_pruned80_quant", "none", "vnni")
    assert s.source_dataset is None and s.training_dataset is None and s.params == {}


def test_sparse_tag_decoding() -> None:
    s = parse(VNNI)
    assert (s.layers, s.pruned_percent, s.quantized, s.category, s.target, s.is_base) == (
        12, 80, True, "none", "vnni", False)
    base = parse(QA.format("distilbert-none", "base-none"))
    assert base.is_base and base.pruned_percent == 0 and not base.quantized and base.layers is None
    assert base.model_layers == 6 and base.sub_architecture == "none"
    agg = parse(QA.format("bert-base", "pruned_quant_6layers-aggressive_91"))
    assert (agg.layers, agg.pruned_percent, agg.quantized, agg.category, agg.recovery_percent, agg.target) == (
        6, None, True, "aggressive", 91, None)
    obs = parse(QA.format("bert-base", "pruned95_obs_quant-none"))
    assert obs.pruned_percent == 95 and obs.quantized
    assert "Optimal Brain Surgeon" in obs.explain().set_index("part").loc["sparse_name", "meaning"]
    mq = parse(QA.format("mobilebert-none", "base_quant-none"))
    assert mq.is_base and mq.quantized and mq.pruned_percent == 0


def test_vnni_is_taught_as_block_four_pruning() -> None:
    meaning = parse(VNNI).explain().set_index("part").loc["sparse_target", "meaning"]
    assert "block-4" in meaning and "VNNI" in meaning and "int8" in meaning


def test_zoo_is_taught_as_sparsezoo_not_the_hub() -> None:
    meaning = parse(VNNI).explain().set_index("part").loc["prefix", "meaning"]
    assert "SparseZoo" in meaning and "not the Hugging Face Hub" in meaning


@pytest.mark.parametrize("row", ZOO_ROWS, ids=[r.name for r in ZOO_ROWS])
def test_every_catalog_stub_parses_and_round_trips(row) -> None:
    s = parse(row.source)
    assert str(s) == row.source
    assert str(parse(row.source[len("zoo:"):])) == row.source  # without the prefix too
    assert s.style == "path" and s.sub_domain == "question_answering" and s.dataset == "squad"
    assert parse(str(s)) == s


@pytest.mark.parametrize("row", ZOO_ROWS, ids=[r.name for r in ZOO_ROWS])
def test_catalog_numbers_agree_with_the_parser(row) -> None:
    s = parse(row.source)
    assert row.architecture == s.architecture
    assert row.layers == s.model_layers
    if s.pruned_percent is None:
        assert pd.isna(row.pruned_percent)
    else:
        assert row.pruned_percent == s.pruned_percent
    assert row.quantized == s.quantized
    assert row.target == (s.target or "")


def test_name_style_stubs() -> None:
    s = parse("zoo:bert-large-squad_wikipedia_bookcorpus-pruned90_quantized")
    assert (s.style, s.architecture, s.sub_architecture, s.source_dataset, s.training_dataset) == (
        "name", "bert", "large", "squad_wikipedia_bookcorpus", None)
    assert (s.sparse_tag, s.sparse_name, s.sparse_category, s.sparse_target) == (
        "pruned90_quantized", "pruned90_quantized", None, None)
    assert s.domain is None and s.dataset is None and s.pruned_percent == 90 and s.quantized
    three = parse("mobilebert-squad_wikipedia_bookcorpus-14layer_pruned50.4block_quantized")
    assert (three.architecture, three.sub_architecture, three.source_dataset) == (
        "mobilebert", None, "squad_wikipedia_bookcorpus")
    assert (three.layers, three.pruned_percent, three.quantized) == (14, 50, True)
    assert "block-4" in three.explain().set_index("part").loc["sparse_tag", "meaning"]
    five = parse("zoo:llama2-7b-gsm8k-llama2_pretrain-pruned60_quantW8A8")
    assert (five.sub_architecture, five.source_dataset, five.training_dataset, five.quantized) == (
        "7b", "gsm8k", "llama2_pretrain", True)
    assert str(five) == "zoo:llama2-7b-gsm8k-llama2_pretrain-pruned60_quantW8A8"


@pytest.mark.parametrize("stub", [
    "zoo:cv/classification/resnet_v1-50/pytorch/sparseml/imagenet/pruned95_uniform_quant-none",
    "zoo:cv/detection/yolov5-s/pytorch/ultralytics/coco/pruned-aggressive_96",
    "zoo:cv/classification/mobilenet_v1-1.0/pytorch/sparseml/imagenet-augmented/base-none",
    "zoo:nlp/sentiment_analysis/obert-base/pytorch/huggingface/sst2/pruned90_quant-none",
    "zoo:nlp/token_classification/bert-base/pytorch/huggingface/conll2003/12layer_pruned80_quant-none-vnni",
])
def test_any_domain_and_task_parses(stub: str) -> None:
    assert str(parse(stub)) == stub


def test_training_scheme_and_dotted_sub_architecture() -> None:
    s = parse("zoo:cv/classification/mobilenet_v1-1.0/pytorch/sparseml/imagenet-augmented/base-none")
    assert (s.sub_architecture, s.dataset, s.training_scheme) == ("1.0", "imagenet", "augmented")


def test_query_string() -> None:
    s = parse(VNNI + "?recipe_type=transfer_learn&deployment=default")
    assert s.params == {"recipe_type": "transfer_learn", "deployment": "default"}
    assert str(s) == VNNI + "?recipe_type=transfer_learn&deployment=default"
    assert parse(VNNI + "?recipe-type=original").params == {"recipe-type": "original"}
    name = parse("bert-large-squad_wikipedia_bookcorpus-pruned90_quantized?checkpoint=final")
    assert name.params == {"checkpoint": "final"} and str(name).endswith("?checkpoint=final")
    param_rows = s.explain().query("part == 'param'")
    assert list(param_rows["value"]) == ["recipe_type=transfer_learn", "deployment=default"]


def test_whitespace_around_is_stripped_and_a_zoostub_passes_through() -> None:
    s = parse("  " + VNNI + "\n")
    assert str(s) == VNNI and parse(s) is s


# ----------------------------------------------------------------------------- errors

MALFORMED = [
    ("", "the stub is empty"),
    ("   ", "the stub is empty"),
    ("zoo:", "nothing follows 'zoo:'"),
    ("zoo:" + "a" * 300, "expected at most 256"),
    ("x" * 1000, "1000 characters long"),
    ("hf:neuralmagic/bert", "Hugging Face Hub repo, not a SparseZoo stub"),
    ("http://localhost:5543", "server URL, not a SparseZoo stub"),
    ("s3:nlp/question_answering", "unknown prefix 's3:'"),
    ("ZOO:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none", "lower case: 'zoo:'"),
    ("zoo/nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none", "'zoo:' with a colon"),
    ("zoo://nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none", "no slash after the colon"),
    ("zoo::nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none", "another ':'"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface", "missing the dataset part after 'huggingface'"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad", "missing the sparse tag part after 'squad'"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/", "missing the sparse tag part after 'squad'"),
    ("zoo:nlp/question_answering", "missing the architecture part after 'question_answering'"),
    ("zoo:nlp/", "missing the sub-domain part after 'nlp'"),
    ("zoo:nlp//question_answering/bert-base/pytorch/huggingface/squad/base-none", "empty part after 'nlp'"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none/", "ends with '/'"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none/x", "remove the extra part 'x'"),
    ("zoo:/nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none", "no slash after the colon"),
    ("/nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none", "starts with '/'"),
    ("zoo:nlp/question_answering/be rt-base/pytorch/huggingface/squad/base-none",
     "the architecture 'be rt' has an illegal character ' '"),
    ("zoo:nlp/question answering/bert-base/pytorch/huggingface/squad/base-none",
     "the sub-domain part 'question answering' has an illegal character ' '"),
    ("zoo:nlp/question_answering/bert-base/pytorch/hugging<face>/squad/base-none",
     "the repo part 'hugging<face>' has an illegal character '<'"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none\u00e9",
     "the sparse category 'none\u00e9' has an illegal character '\u00e9'"),
    ("zoo:nl[p/question_answering/bert-base/pytorch/huggingface/squad/base-none",
     "the domain part 'nl[p' has an illegal character '['"),
    ("zoo:nl`p/question_answering/bert-base/pytorch/huggingface/squad/base-none", "illegal character '`'"),
    ("zoo:n-lp/question_answering/bert-base/pytorch/huggingface/squad/base-none",
     "the domain part 'n-lp' has an illegal character '-'"),
    ("zoo:../question_answering/bert-base/pytorch/huggingface/squad/base-none",
     "the domain part '..' starts with '.'"),
    ("zoo:nlp/question_answering/bert-base-x/pytorch/huggingface/squad/base-none",
     "the architecture part 'bert-base-x' has more than one '-'"),
    ("zoo:nlp/question_answering/bert-/pytorch/huggingface/squad/base-none", "the sub-architecture after '-'"),
    ("zoo:nlp/question_answering/-base/pytorch/huggingface/squad/base-none", "the architecture is empty"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad-a-b/base-none",
     "the dataset part 'squad-a-b' has more than one '-'"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/pruned90",
     "the sparse tag 'pruned90' has no category"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/a-b-c-d", "has 4 '-' parts"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/pruned90--vnni",
     "the sparse category in the sparse tag 'pruned90--vnni' is empty"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none?", "query string after '?' is empty"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none?recipe_type",
     "the query item 'recipe_type' has no '='"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none?a=1&&b=2", "a stray '&'"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none?a=1?b=2", "more than one '?'"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none?a=1&a=2",
     "the query key 'a' appears twice"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none?a=<b>",
     "the value of query key 'a'"),
    ("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none?=x", "the query key '' is not valid"),
    ("zoo:bert", "neither a path-style stub"),
    ("zoo:bert-squad", "has 2 parts; expected at least 3"),
    ("zoo:bert--squad-base", "has an empty part"),
    ("zoo:bert-squad-base-", "has an empty part"),
    ("zoo:a-b-c-d-e-f", "has 6 '-' parts"),
    ("zoo:bert-squad-pruned 90", "the sparse tag part 'pruned 90' has an illegal character ' '"),
    ("zoo:bert-sq/uad-base", "missing the architecture part after 'uad-base'"),
]


@pytest.mark.parametrize("text, fragment", MALFORMED, ids=[f[:50] for _, f in MALFORMED])
def test_malformed_stubs_name_the_wrong_part(text: str, fragment: str) -> None:
    with pytest.raises(StubError) as info:
        parse(text)
    message = str(info.value)
    assert fragment in message
    assert len(message) < 400  # a huge input gives a short message
    assert "\n" not in message


def test_stub_error_is_a_value_error_and_a_kit_error() -> None:
    assert issubclass(StubError, ValueError) and issubclass(StubError, QAKitError)
    with pytest.raises(ValueError):
        parse("zoo:bert")


def test_non_strings_are_rejected() -> None:
    with pytest.raises(StubError, match="must be a string, not int"):
        parse(42)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- build

def test_build_composes_a_question_answering_stub() -> None:
    s = build(architecture="bert", sub_architecture="base", sparse_tag="12layer_pruned80_quant-none-vnni")
    assert str(s) == VNNI and s == parse(VNNI)
    again = build(architecture="bert", sub_architecture="base", sparse_name="12layer_pruned80_quant",
                  sparse_category="none", sparse_target="vnni")
    assert again == s


def test_build_other_domains_with_scheme_and_params() -> None:
    s = build(domain="cv", sub_domain="classification", architecture="resnet_v1", sub_architecture="50",
              framework="pytorch", repo="sparseml", dataset="imagenet", training_scheme="augmented",
              sparse_tag="pruned95-none", params={"recipe_type": "original"})
    assert str(s) == "zoo:cv/classification/resnet_v1-50/pytorch/sparseml/imagenet-augmented/pruned95-none" \
                     "?recipe_type=original"


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(architecture="bert-base", sparse_tag="base-none"), "the architecture part 'bert-base' has an illegal character '-'"),
    (dict(architecture="bert", sub_architecture="ba/se", sparse_tag="base-none"), "sub-architecture part 'ba/se'"),
    (dict(architecture="bert", sparse_tag="base-none", dataset=""), "the dataset part is empty"),
    (dict(architecture="bert"), "missing the sparse tag"),
    (dict(architecture="bert", sparse_name="pruned90"), "missing the sparse category after sparse_name 'pruned90'"),
    (dict(architecture="bert", sparse_tag="base-none", sparse_name="base"), "not both"),
    (dict(architecture="bert", sparse_tag="pruned90"), "has no category"),
    (dict(architecture="bert", sparse_tag="base-none", domain=3), "the domain part must be a string"),
    (dict(architecture="bert", sparse_tag="base-none", params={"a b": "1"}), "the query key 'a b'"),
])
def test_build_rejects_invalid_parts(kwargs: dict, fragment: str) -> None:
    with pytest.raises(StubError) as info:
        build(**kwargs)
    assert fragment in str(info.value)


try:
    from hypothesis import given, settings, strategies as st
except ImportError:  # pragma: no cover - hypothesis is a dev extra
    given = None

if given is not None:
    _word = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.]{0,11}", fullmatch=True)
    _maybe = st.none() | _word

    @settings(max_examples=150, deadline=None)
    @given(domain=_word, sub_domain=_word, architecture=_word, sub_architecture=_maybe, framework=_word,
           repo=_word, dataset=_word, training_scheme=_maybe, sparse_name=_word, sparse_category=_word,
           sparse_target=_maybe,
           params=st.dictionaries(st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,8}", fullmatch=True),
                                  st.from_regex(r"[A-Za-z0-9_.-]{1,8}", fullmatch=True), max_size=3))
    def test_build_str_parse_round_trip(**parts) -> None:
        s = build(**parts)
        back = parse(str(s))
        assert back == s and str(back) == str(s)
        for name, value in parts.items():
            assert getattr(back, name) == (value if name != "params" else dict(value))


# ----------------------------------------------------------------------------- views

def test_explain_columns_and_rows() -> None:
    frame = parse(VNNI).explain()
    assert list(frame.columns) == ["part", "value", "meaning"]
    assert list(frame["part"]) == ["prefix", "domain", "sub_domain", "architecture", "sub_architecture",
                                   "framework", "repo", "dataset", "sparse_name", "sparse_category",
                                   "sparse_target"]
    assert "".join(frame["value"]) == VNNI.replace("/", "").replace("-", "")
    assert frame["meaning"].str.len().min() > 5


def test_to_dict_is_json_ready() -> None:
    d = parse(VNNI + "?recipe_type=original").to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["stub"] == VNNI + "?recipe_type=original" and d["pruned_percent"] == 80 and d["target"] == "vnni"
    assert d["params"] == {"recipe_type": "original"} and d["layers"] == 12 and d["quantized"] is True


def test_html_colours_each_part_with_dark_text() -> None:
    page = parse(VNNI)._repr_html_()
    assert page.count("color:#1a1a1a") >= 2 * 10  # a chip per part in the stub line and in the table
    assert "background:#caffbf" in page and ">question_answering</span>" in page
    assert "block-4 pruning" in page


def test_html_escapes_a_hostile_stub() -> None:
    evil = "<script>alert('x')</script>"
    stub = ZooStub(style="path", domain=evil, sub_domain="a\"b", architecture="<b>", framework="f", repo="r",
                   dataset="d", sparse_tag="x-y", sparse_name="<i>", sparse_category="y",
                   params={"k": "<img src=x onerror=alert(1)>"})
    page = stub._repr_html_()
    assert "<script>" not in page and "<img" not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'a"b' not in page


# ----------------------------------------------------------------------------- other sources

def test_kind_of_each_kind(tmp_path: Path) -> None:
    assert kind_of(VNNI) == "zoo"
    assert kind_of("zoo:bert-large-squad_wikipedia_bookcorpus-pruned90_quantized") == "zoo"
    assert kind_of(VNNI[len("zoo:"):]) == "zoo"  # an unprefixed path-style stub not on disk
    assert kind_of("hf:someone/some-model") == "hf"
    assert kind_of("https://example.org:8080/predict") == "url"
    assert kind_of("distilbert-dense") == "catalog"
    assert kind_of("tiny-random-bert") == "catalog"
    assert kind_of("no-such-model") == "catalog"  # fails later as "not in the catalog"
    assert kind_of(str(tmp_path)) == "path"
    assert kind_of("./models/mine") == "path" and kind_of("~/m") == "path" and kind_of("model.onnx") == "path"
    with pytest.raises(StubError, match="unknown source prefix 's3:'"):
        kind_of("s3://bucket/model")
    with pytest.raises(StubError, match="the source is empty"):
        kind_of("  ")


def test_kind_of_an_existing_bare_folder_is_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mymodel").mkdir()
    monkeypatch.chdir(tmp_path)
    assert kind_of("mymodel") == "path"


def test_describe_hf() -> None:
    frame = describe("hf:someone/some-model").set_index("part")
    assert frame.loc["owner", "value"] == "someone" and frame.loc["name", "value"] == "some-model"
    assert "Hugging Face Hub" in frame.loc["prefix", "meaning"] and "not SparseZoo" in frame.loc["prefix", "meaning"]
    for bad, fragment in [("hf:", "nothing follows 'hf:'"), ("hf:justname", "missing the '/'"),
                          ("hf:/name", "missing its owner"), ("hf:a/b c", "the hf: name 'b c' is not valid")]:
        with pytest.raises(StubError, match=fragment):
            describe(bad)


def test_describe_url() -> None:
    frame = describe("http://localhost:5543/v2/models/qa/infer").set_index("part")
    assert frame.loc["host", "value"] == "localhost" and frame.loc["port", "value"] == "5543"
    assert frame.loc["path", "value"] == "/v2/models/qa/infer" and "server" in frame.loc["scheme", "meaning"]
    with pytest.raises(StubError, match="has no host"):
        describe("http://")
    with pytest.raises(StubError, match="bad port"):
        describe("http://localhost:port")


def test_describe_paths(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"x")
    (tmp_path / "config.json").write_text("{}")
    folder = describe(str(tmp_path)).set_index("part")
    assert folder.loc["kind", "value"] == "folder" and folder.loc["files", "value"] == "model.onnx, config.json"
    assert "missing: tokenizer.json" in folder.loc["files", "meaning"]
    onnx = describe(str(tmp_path / "model.onnx")).set_index("part")
    assert onnx.loc["kind", "value"] == "ONNX file"
    missing = describe(str(tmp_path / "nope")).set_index("part")
    assert missing.loc["kind", "value"] == "missing"


def test_describe_catalog_name_includes_its_source() -> None:
    frame = describe("tiny-random-bert").set_index("part")
    assert frame.loc["source", "value"] == "models/tiny-random-bert"
    assert frame.loc["kind", "value"] == "folder"  # resolved relative to data/
    assert frame.loc["resolved", "value"] == str(stubs.CATALOG_PATH.parent / "models" / "tiny-random-bert")
    zoo = describe("distilbert-pruned80-quant-vnni")
    assert "sparse_target" in set(zoo["part"]) and list(zoo.columns) == ["part", "value", "meaning"]


def test_unknown_catalog_name_suggests_close_ones() -> None:
    with pytest.raises(StubError, match="'distilbert-dnse' is not in the catalog.*'distilbert-dense'"):
        describe("distilbert-dnse")


def test_describe_zoo_is_explain() -> None:
    pd.testing.assert_frame_equal(describe(VNNI), parse(VNNI).explain())
    with pytest.raises(StubError, match="missing the dataset part"):
        describe("zoo:nlp/question_answering/bert-base/pytorch/huggingface")


# ----------------------------------------------------------------------------- catalog

def test_catalog_shape_and_rows() -> None:
    frame = catalog()
    assert tuple(frame.columns) == stubs.CATALOG_COLUMNS
    assert frame["name"].is_unique and frame["source"].is_unique
    assert frame["name"].str.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*").all()
    assert list(frame["name"][:2]) == ["demo-minilm", "tiny-random-bert"]  # the repo's own models first
    demo = frame.iloc[0]
    assert (demo["source"], demo["layers"], demo["quantized"]) == ("models/demo-minilm", 6, False)
    assert "demo" in demo["note"] and "MODEL_CARD" in demo["note"]
    tiny = frame.iloc[1]
    assert (tiny["source"], tiny["architecture"], tiny["layers"], tiny["pruned_percent"], tiny["quantized"]) == (
        "models/tiny-random-bert", "bert", 2, 0, False)
    assert tiny["note"] == "random weights: for tests only, its answers mean nothing"
    assert frame["quantized"].dtype == bool and str(frame["layers"].dtype) == "Int64"
    assert len(ZOO_ROWS) >= 39  # every real QA stub in the notes


def test_catalog_holds_every_question_answering_stub_in_the_notes() -> None:
    table = {
        "bert-base": "base-none, 12layer_pruned80_quant-none-vnni, pruned95_obs_quant-none, pruned90-none, "
                     "pruned_quant-aggressive_95, pruned_quant-moderate, pruned-aggressive_98, pruned-aggressive_94, "
                     "pruned-conservative, pruned_quant_6layers-aggressive_96, pruned_quant_6layers-aggressive_91, "
                     "pruned_6layers-aggressive_98, pruned_6layers-aggressive_97, pruned_6layers-aggressive_96, "
                     "pruned_6layers-aggressive_94, pruned_quant_3layers-aggressive_89, "
                     "pruned_quant_3layers-aggressive_84, pruned_3layers-aggressive_90, pruned_3layers-aggressive_89, "
                     "pruned_3layers-aggressive_86, pruned_3layers-aggressive_83",
        "bert-base_cased": "pruned90-none",
        "bert-large": "base-none, pruned80_quant-none-vnni, pruned90_quant-none",
        "distilbert-none": "base-none, pruned80_quant-none-vnni",
        "obert-base": "base-none, pruned90-none, pruned90_quant-none",
        "obert-large": "base-none, pruned95-none-vnni, pruned95_quant-none-vnni, pruned97-none, pruned97_quant-none",
        "mobilebert-none": "base-none, base_quant-none, 14layer_pruned50-none-vnni, 14layer_pruned50_quant-none-vnni",
    }
    expected = {QA.format(arch, tag) for arch, tags in table.items() for tag in tags.split(", ")}
    assert len(expected) == 39
    assert expected <= set(catalog()["source"])


def test_catalog_source() -> None:
    assert catalog_source("distilbert-dense") == QA.format("distilbert-none", "base-none")
    assert catalog_source(" tiny-random-bert ") == "models/tiny-random-bert"
    assert catalog_source("nope") is None
    assert stubs.CATALOG_PATH == Path(stubs.__file__).resolve().parent.parent / "data" / "catalog.csv"


def test_catalog_marks_network_rows_and_hub_counterparts() -> None:
    frame = catalog()
    assert (frame["network"] == frame["source"].str.startswith(("zoo:", "hf:"))).all()
    assert not frame["network"][:2].any() and frame["network"].dtype == bool  # the repo's own models run offline
    readers = {"distilbert-squad": "hf:distilbert/distilbert-base-cased-distilled-squad",
               "roberta-base-squad2": "hf:deepset/roberta-base-squad2",
               "bert-base-squad-onnx": "hf:UKP-SQuARE/bert-base-uncased-pf-squad-onnx",
               "obert-teacher-squad": TEACHER,
               "obert-6-pruned80-block4-squad": "hf:neuralmagic/oBERT-6-downstream-pruned-block4-80-squadv1"}
    for name, repo in readers.items():
        assert catalog_source(name) == repo
    hub_rows = frame[frame["source"].str.startswith("hf:")]
    assert len(hub_rows) >= 15 and hub_rows["source"].str.startswith("hf:neuralmagic/oBERT-").sum() >= 12
    assert (hub_rows["hub"] == "").all() and (hub_rows["note"] != "").all()
    assert hub_rows["note"].str.contains("PyTorch|ONNX|SparseML").all()  # each says what the repo holds
    # Zoo stubs with a Hub counterpart: none is known to be an exact copy, each can be loaded by
    # its own catalog name, and each has the same number of layers as the stub's model.
    assert len(ZOO_HUB_ROWS) >= 25 and {row.hub_match for row in ZOO_HUB_ROWS} == {"related"}
    layers = frame.set_index("source")["layers"]
    for row in ZOO_HUB_ROWS:
        assert row.hub in layers.index and layers[row.hub] == row.layers, row.name
    assert all(row.hub == "" and row.hub_match == "" for row in ZOO_ROWS if row not in ZOO_HUB_ROWS)
    by_name = frame.set_index("name")
    assert by_name.loc["distilbert-pruned80-quant-vnni", "hub"] == readers["obert-6-pruned80-block4-squad"]
    assert by_name.loc["bert-base-dense", "hub"] == TEACHER and by_name.loc["bert-large-dense", "hub"] == ""


def test_hub_counterpart_of_a_stub() -> None:
    assert hub_counterpart(QA.format("bert-base", "base-none")) == (TEACHER, "related")
    assert hub_counterpart(" nlp/question_answering/bert-base/pytorch/huggingface/squad/base-none") == (TEACHER, "related")
    assert hub_counterpart(QA.format("bert-large", "base-none")) is None  # in the catalog, no counterpart known
    assert hub_counterpart(QA.format("bert-base", "pruned85-none")) is None  # not in the catalog
    assert hub_counterpart("zoo:not/a stub") is None


@pytest.mark.parametrize("change, says", [
    ({"network": "maybe"}, "network values"),
    ({"network": "False"}, "network must be True exactly for zoo:/hf: sources"),
    ({"hub": "hf:someone/model"}, "hub must be hf:OWNER/NAME with hub_match"),  # no hub_match
    ({"hub": "someone/model", "hub_match": "related"}, "hub must be hf:OWNER/NAME"),
    ({"hub": "hf:someone/model", "hub_match": "same"}, "hub must be hf:OWNER/NAME"),
])
def test_catalog_refuses_inconsistent_network_and_hub_columns(tmp_path, monkeypatch, change, says) -> None:
    frame = pd.read_csv(stubs.CATALOG_PATH, dtype=str, keep_default_na=False)
    row = frame.index[frame["name"] == "bert-large-dense"][0]
    for column, value in change.items():
        frame.loc[row, column] = value
    broken = tmp_path / "catalog.csv"
    frame.to_csv(broken, index=False)
    monkeypatch.setattr(catalog_module, "CATALOG_PATH", broken)  # where catalog() reads it
    with pytest.raises(QAKitError, match=says) as raised:
        catalog()
    assert "bert-large-dense" in str(raised.value) or "maybe" in str(raised.value)


# ----------------------------------------------------------------------------- zoo errors

def _failing_zoo(monkeypatch, error: BaseException) -> None:
    """Make every SparseZoo call fail with `error`, as the client (or the time limit) would."""
    from qa_kit import zoo

    def fail(work, timeout, what):
        raise error

    monkeypatch.setattr(zoo, "run_with_timeout", fail)


@pytest.mark.parametrize("row", ZOO_HUB_ROWS, ids=[r.name for r in ZOO_HUB_ROWS])
def test_the_error_for_a_zoo_stub_names_its_hub_counterpart(row, monkeypatch) -> None:
    import requests
    from qa_kit.sources import resolve

    _failing_zoo(monkeypatch, requests.ConnectionError("no route to host"))
    with pytest.raises(SourceError) as raised:
        resolve(row.name)  # the catalog name leads to the stub
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"Cannot reach SparseZoo for '{row.source}' (ConnectionError")
    assert "retired by Neural Magic in June 2025, may no longer answer" in message
    assert f"Try {row.hub} (a related model) from the Hugging Face Hub, or pass a local folder." in message
    assert row.hub in message[:300]  # the Explorer's status line clips at 300 characters


class InvalidQueryException(Exception):
    """Named like sparsezoo's own (api/exceptions.py), raised for a reply with GraphQL "errors"."""


def _http_error(status: int) -> BaseException:
    import requests

    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(f"{status} Client Error", response=response)


@pytest.mark.parametrize("error, says", [
    (SourceError("SparseZoo gave no answer within 10 s"), "SparseZoo gave no answer for '{stub}' within 10 s."),
    (_http_error(403), "SparseZoo refused '{stub}' (HTTP 403)."),
    (_http_error(502), "SparseZoo answered HTTP 502 for '{stub}'."),
    (ValueError("No matching models found with stub: x. Please try another stub"), "SparseZoo has no model '{stub}'."),
    (InvalidQueryException("[{'message': 'bad'}]"), "SparseZoo rejected the query for '{stub}'."),
    (IndexError("list index out of range"), "Could not fetch '{stub}' from SparseZoo (IndexError)."),
], ids=["time-limit", "403", "502", "no-model", "graphql-errors", "other"])
def test_each_zoo_failure_says_what_happened_and_the_way_on(error, says, monkeypatch) -> None:
    from qa_kit.sources import resolve

    stub = QA.format("bert-base", "base-none")
    _failing_zoo(monkeypatch, error)
    with pytest.raises(SourceError) as raised:
        resolve(stub, timeout=10)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(says.format(stub=stub))
    assert message.endswith(f"may no longer answer. Try {TEACHER} (a related model) from the Hugging Face Hub, "
                            "or pass a local folder.")


# ----------------------------------------------------------------------------- cli helper

def test_cli_explain_text_and_json() -> None:
    text = cli_explain(VNNI)
    assert text.splitlines()[0] == f"{VNNI}  [zoo]"
    assert "sparse_target" in text and "block-4 pruning" in text
    payload = json.loads(cli_explain(VNNI, as_json=True))
    assert payload["kind"] == "zoo" and payload["stub"]["pruned_percent"] == 80
    assert [p["part"] for p in payload["parts"]][:2] == ["prefix", "domain"]
    hf = json.loads(cli_explain("hf:someone/model", as_json=True))
    assert hf["kind"] == "hf" and "stub" not in hf
    with pytest.raises(StubError, match="missing the sparse tag part after 'squad'"):
        cli_explain("zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad")


def test_stubs_module_runs_without_deepsparse() -> None:
    code = ("import sys; sys.modules['deepsparse'] = None; sys.modules['sparsezoo'] = None; "
            "import qa_kit.stubs as s; print(s.parse('zoo:bert-squad-base').architecture)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "bert"
