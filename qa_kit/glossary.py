"""What each part of a SparseZoo stub means: the glossary tables and the sparse-tag words.

Pure data and lookups (standard library only), read by `qa_kit.stub_grammar` to explain a parsed
stub and by the stub explorer to say what a part means.
"""
from __future__ import annotations

import re
from typing import List, Mapping, Optional, Tuple

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


def part_meaning(part: str, value: str, *, category: Optional[str] = None,
                 recovery_percent: Optional[int] = None) -> str:
    """What one part's value means (`category` and `recovery_percent` decode a sparse category)."""
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
        meaning = _known(_CATEGORIES, category or value, "how far it was sparsified (a grade)")
        if recovery_percent is not None:
            meaning += f"; {recovery_percent} = percent of the baseline accuracy kept"
        return meaning
    if part == "sparse_target":
        return _known(_TARGETS, value, "the hardware the sparsity was laid out for")
    if part == "param":
        key = value.partition("=")[0]
        return _PARAMS.get(key, "a query parameter passed to the SparseZoo API")
    return ""


__all__ = ["ZOO_MEANING", "KNOWN_LAYERS", "tag_words", "part_meaning"]
