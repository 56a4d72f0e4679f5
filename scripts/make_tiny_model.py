"""Build data/models/tiny-random-bert: a tiny BERT QA model with RANDOM weights, for tests.

It exercises every code path of the kit (tokenizer with offsets, long texts, both engines) in a
few hundred KB, but its answers mean nothing. Needs the `train` extra (torch):

    python scripts/make_tiny_model.py [--out data/models/tiny-random-bert]

The vocabulary is made here: every printable ASCII character (alone and as a '##' piece), a
handful of accented letters, CJK characters and common English words, so that any text tokenizes
with real offsets and few [UNK]s.
"""
from __future__ import annotations

import argparse
import json
import string
from pathlib import Path

COMMON_WORDS = """the of and to in a is was for on that by with as at from it his her he she
they their were be this which or are an had has have not but all who when where what how many
bank run deposits money people city year years day days town river new first last one two three
million billion percent said after before during about into over under more most than other
time president company water news""".split()

EXTRA_CHARS = "éèáàüöäçñ東京銀行水"


def make_vocab() -> list:
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = [c for c in string.ascii_lowercase + string.digits + string.punctuation] + list(EXTRA_CHARS)
    pieces = ["##" + c for c in string.ascii_lowercase + string.digits + "éèáàüöäçñ"]
    vocab = special + chars + pieces
    vocab += [w for w in COMMON_WORDS if w not in vocab]
    return vocab


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "data/models/tiny-random-bert"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    from transformers import BertConfig, BertForQuestionAnswering, BertTokenizerFast

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.txt").write_text("\n".join(make_vocab()) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(out / "vocab.txt"), do_lower_case=True)
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(str(out))

    torch.manual_seed(args.seed)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=128, max_position_embeddings=512,
    )
    model = BertForQuestionAnswering(config).eval()
    config.save_pretrained(str(out))
    # A marker the kit reads to say, wherever it shows answers, that they mean nothing.
    meta = json.loads((out / "config.json").read_text())
    meta["qa_kit_random_weights"] = True
    (out / "config.json").write_text(json.dumps(meta, indent=2) + "\n")

    dummy = tokenizer("what is this?", "a tiny model", return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    axes.update({"start_logits": {0: "batch", 1: "sequence"}, "end_logits": {0: "batch", 1: "sequence"}})
    torch.onnx.export(
        model, tuple(dummy[n] for n in names), str(out / "model.onnx"),
        input_names=names, output_names=["start_logits", "end_logits"],
        dynamic_axes=axes, opset_version=14, dynamo=False,
    )
    print(f"wrote {out} ({sum(f.stat().st_size for f in out.iterdir()) // 1024} KB)")


if __name__ == "__main__":
    main()
