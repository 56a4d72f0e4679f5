"""hf: sources against a loopback stand-in of the Hub (the real huggingface_hub client, pointed at it
by HF_ENDPOINT), and PyTorch checkpoints exported to ONNX (the `export` extra: torch)."""
import hashlib
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import qa_kit
from conftest import DEMO, REPO, TINY
from hub_standin import Hub
from qa_kit.sources import hub_files

torch = pytest.importorskip("torch", reason="the export extra (torch) is not installed")

CONTEXT = "The bank was founded by Anna Novak in Lyon in 1901. It was sold to Corrow Holdings in 1987."
QUESTION = "Who founded the bank?"


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """A fresh stand-in Hub and a fresh cache for each test (nothing downloaded carries over)."""
    server = Hub().start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("QA_KIT_CACHE", str(tmp_path / "cache"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def demo_checkpoint(tmp_path_factory):
    """demo-minilm as the PyTorch checkpoint it was exported from (weights read back from its ONNX)."""
    sys.path.insert(0, str(REPO / "scripts"))
    from train_sparse_twin import dense_from_onnx
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("demo-pt")
    model = dense_from_onnx(DEMO)
    model.save_pretrained(str(folder))  # model.safetensors + config.json
    AutoTokenizer.from_pretrained(str(DEMO)).save_pretrained(str(folder))
    return folder, model


def torch_logits(model, tokenizer_dir, question, context):
    from transformers import AutoTokenizer

    enc = AutoTokenizer.from_pretrained(str(tokenizer_dir))(question, context, return_tensors="pt")
    with torch.no_grad():
        out = model(**enc)
    return out.start_logits.numpy()[0], out.end_logits.numpy()[0], enc["input_ids"].shape[1]


def files_of(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


# ---- which files a repo needs ------------------------------------------------------------------

def test_hub_files_prefers_onnx_then_a_checkpoint_and_names_what_is_missing():
    assert hub_files(["config.json", "tokenizer.json", "model.onnx", "model.safetensors", "README.md"]) == (
        "onnx", ["config.json", "tokenizer.json", "model.onnx"])
    kind, files = hub_files(["config.json", "tokenizer.json", "onnx/model.onnx", "onnx/model_quantized.onnx"])
    assert kind == "onnx" and "onnx/model.onnx" in files and "onnx/model_quantized.onnx" not in files
    assert hub_files(["config.json", "vocab.txt", "pytorch_model.bin", "model.safetensors", "flax_model.msgpack"]) == (
        "pytorch", ["config.json", "vocab.txt", "model.safetensors"])
    kind, files = hub_files(["config.json", "vocab.txt", "model-00001-of-00002.safetensors",
                             "model-00002-of-00002.safetensors", "model.safetensors.index.json"])
    assert kind == "pytorch" and len(files) == 5
    with pytest.raises(qa_kit.SourceError, match="neither an ONNX model"):
        hub_files(["README.md", "config.json"])
    with pytest.raises(qa_kit.SourceError, match="several ONNX files"):
        hub_files(["config.json", "a.onnx", "b.onnx"])


# ---- downloads from the stand-in ---------------------------------------------------------------

def test_onnx_at_the_root_downloads_says_its_size_and_answers(hub, capsys):
    hub.add_folder("standin/demo-minilm-onnx", DEMO)
    reader = qa_kit.load("hf:standin/demo-minilm-onnx", engine="onnxruntime")
    assert reader.ask(QUESTION, CONTEXT)[0].text == "Anna Novak"
    said = capsys.readouterr().err
    size = sum(len(b) for n, b in hub.repos["standin/demo-minilm-onnx"][0].items() if n != "MODEL_CARD.md")
    assert "hf:standin/demo-minilm-onnx at " in said and f"{size / 1e6:,.1f} MB (ONNX)" in said
    assert any(r.startswith("GET /standin/demo-minilm-onnx/resolve/") and r.endswith("/model.onnx") for r in hub.requests)
    assert not any(r.endswith("MODEL_CARD.md") for r in hub.requests)  # only what the kit needs


def test_onnx_in_an_onnx_folder_takes_model_onnx_only(hub):
    files = {name: data for name, data in files_of(TINY).items() if name != "model.onnx"}
    files["onnx/model.onnx"] = (TINY / "model.onnx").read_bytes()
    files["onnx/model_quantized.onnx"] = b"not fetched"
    hub.add("standin/xenova-style", files)
    reader = qa_kit.load("hf:standin/xenova-style", engine="onnxruntime")
    assert (reader.model_dir / "model.onnx").read_bytes() == (TINY / "model.onnx").read_bytes()
    assert not any("model_quantized" in r for r in hub.requests)


@pytest.mark.slow
def test_a_pytorch_only_repo_is_exported_once_and_agrees_with_pytorch(hub, demo_checkpoint, capsys):
    folder, model = demo_checkpoint
    hub.add_folder("standin/demo-minilm-pt", folder)
    readers = {engine: qa_kit.load("hf:standin/demo-minilm-pt", engine=engine, sequence_length=160, doc_stride=80)
               for engine in ("deepsparse", "onnxruntime")}
    assert "(PyTorch; exported to ONNX once it is here)" in capsys.readouterr().err
    start, end, n = torch_logits(model, folder, QUESTION, CONTEXT)
    for engine, reader in readers.items():
        result = reader.ask(QUESTION, CONTEXT)
        assert result[0].text == "Anna Novak", engine
        window = result.windows[0]
        np.testing.assert_allclose(window.start_logits[:n], start, atol=2e-3, err_msg=engine)
        np.testing.assert_allclose(window.end_logits[:n], end, atol=2e-3, err_msg=engine)
    gets = len(hub.requests)
    again = qa_kit.load("hf:standin/demo-minilm-pt", engine="onnxruntime")
    assert again.model_dir == readers["onnxruntime"].model_dir  # the export is made once
    assert not any(r.startswith("GET") and "/resolve/" in r for r in hub.requests[gets:])  # nothing downloaded again


@pytest.mark.slow
def test_same_name_under_two_owners_are_two_models(hub):
    hub.add_folder("alice/reader", DEMO)
    hub.add_folder("bob/reader", TINY)
    alice = qa_kit.load("hf:alice/reader", engine="onnxruntime")
    bob = qa_kit.load("hf:bob/reader", engine="onnxruntime")
    assert alice.model_dir != bob.model_dir
    assert (alice.model_dir / "model.onnx").read_bytes() == (DEMO / "model.onnx").read_bytes()
    assert (bob.model_dir / "model.onnx").read_bytes() == (TINY / "model.onnx").read_bytes()


@pytest.mark.slow
def test_revision_pins_a_commit(hub):
    old = hub.add_folder("standin/moving", TINY)
    hub.add_folder("standin/moving", DEMO)
    latest = qa_kit.load("hf:standin/moving", engine="onnxruntime")
    pinned = qa_kit.load("hf:standin/moving", engine="onnxruntime", revision=old)
    also = qa_kit.load(f"hf:standin/moving@{old}", engine="onnxruntime")
    assert (latest.model_dir / "model.onnx").read_bytes() == (DEMO / "model.onnx").read_bytes()
    assert (pinned.model_dir / "model.onnx").read_bytes() == (TINY / "model.onnx").read_bytes()
    assert also.model_dir == pinned.model_dir
    with pytest.raises(qa_kit.SourceError, match="no such revision"):
        qa_kit.load("hf:standin/moving", revision="0" * 40)


@pytest.mark.parametrize("setup, message", [
    (lambda hub: None, "was not found on the Hub"),
    (lambda hub: hub.refuse.add("standin/secret") or hub.add_folder("standin/secret", TINY), r"refused .*\(403\)"),
    (lambda hub: hub.add("standin/secret", {"README.md": b"hello"}), "neither an ONNX model"),
])
def test_missing_refused_and_unrunnable_repos_are_one_line_errors(hub, setup, message):
    setup(hub)
    with pytest.raises(qa_kit.SourceError, match=message) as caught:
        qa_kit.load("hf:standin/secret")
    assert "\n" not in str(caught.value) and "hf:standin/secret" in str(caught.value)


def test_a_listed_file_that_is_missing_is_named(hub, monkeypatch):
    sha = hub.add_folder("standin/broken", TINY)
    real = hub._file

    def lose_the_tokenizer(request, repo, revision, name, body):
        if name == "tokenizer.json":
            return hub._error(request, 404, "EntryNotFound")
        return real(request, repo, revision, name, body)

    monkeypatch.setattr(hub, "_file", lose_the_tokenizer)
    with pytest.raises(qa_kit.SourceError, match="could not be downloaded"):
        qa_kit.load("hf:standin/broken")
    assert sha


@pytest.mark.slow
def test_a_stalled_hub_is_cut_off_at_the_time_limit(hub):
    hub.add_folder("standin/slow", TINY)
    hub.stall = 5
    began = time.perf_counter()
    with pytest.raises(qa_kit.SourceError, match="within 1 s"):
        qa_kit.load("hf:standin/slow", timeout=1)
    assert time.perf_counter() - began < 4


def test_offline_after_a_download_the_copy_downloaded_before_is_used(hub, capsys):
    hub.add_folder("standin/kept", TINY)
    first = qa_kit.load("hf:standin/kept", engine="onnxruntime")
    hub.stop()  # the network goes away
    again = qa_kit.load("hf:standin/kept", engine="onnxruntime", timeout=2)
    assert again.model_dir == first.model_dir
    assert "using the copy downloaded before" in capsys.readouterr().err


@pytest.mark.slow
def test_a_download_killed_halfway_leaves_nothing_taken_for_whole(hub, tmp_path):
    hub.add_folder("standin/big", DEMO)
    hub.hang.add("model.onnx")
    env = {**os.environ, "HF_ENDPOINT": hub.url, "QA_KIT_CACHE": str(tmp_path / "cache")}
    code = "import qa_kit; qa_kit.load('hf:standin/big', engine='onnxruntime', timeout=30)"
    child = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hf = tmp_path / "cache" / "hf"
    deadline = time.time() + 60
    while not list(hf.rglob("*.incomplete")) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    child.kill()
    child.wait()
    assert list(hf.rglob("*.incomplete")), "the download never started"
    assert not list(hf.rglob("snapshots/*/model.onnx"))  # the half file is not in the snapshot
    hub.hang.clear()
    os.environ["QA_KIT_CACHE"] = str(tmp_path / "cache")
    reader = qa_kit.load("hf:standin/big", engine="onnxruntime")
    want = hashlib.sha256((DEMO / "model.onnx").read_bytes()).hexdigest()
    assert hashlib.sha256((reader.model_dir / "model.onnx").read_bytes()).hexdigest() == want
    assert reader.ask(QUESTION, CONTEXT)[0].text == "Anna Novak"


# ---- local checkpoints and `qa-kit export` -----------------------------------------------------

def tiny_checkpoint(folder, prune=0.0, head=True):
    """A 2-layer BERT with random (seeded) weights, blocks of 4 zeroed in its encoder if `prune`."""
    from transformers import AutoConfig, AutoTokenizer, BertForQuestionAnswering, BertModel

    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(str(TINY))
    model = (BertForQuestionAnswering if head else BertModel)(config).eval()
    if prune:
        from qa_kit.sparsify import magnitude_mask

        with torch.no_grad():
            for name, module in model.named_modules():
                if "encoder.layer" in name and isinstance(module, torch.nn.Linear):
                    keep = magnitude_mask(module.weight.numpy(), prune, block=4, axis=1)
                    module.weight.mul_(torch.from_numpy(keep))
    model.save_pretrained(str(folder))
    AutoTokenizer.from_pretrained(str(TINY)).save_pretrained(str(folder))
    return model


def test_a_local_pruned_checkpoint_exports_sparse_and_matches_pytorch(tmp_path):
    from qa_kit.cli import main
    from qa_kit.sparsify import measure_sparsity

    model = tiny_checkpoint(tmp_path / "ckpt", prune=0.9)
    assert main(["export", str(tmp_path / "ckpt"), str(tmp_path / "onnx")]) == 0
    assert measure_sparsity(tmp_path / "onnx")["sparsity"] > 0.89  # zeros stay zeros
    start, end, n = torch_logits(model, tmp_path / "ckpt", QUESTION, CONTEXT)
    for engine in ("deepsparse", "onnxruntime"):
        window = qa_kit.load(str(tmp_path / "onnx"), engine=engine, sequence_length=96, doc_stride=32).ask(
            QUESTION, CONTEXT).windows[0]
        np.testing.assert_allclose(window.start_logits[:n], start, atol=1e-3, err_msg=engine)
        np.testing.assert_allclose(window.end_logits[:n], end, atol=1e-3, err_msg=engine)
    # loading the checkpoint folder itself exports it too, and leaves the folder as it was
    before = files_of(tmp_path / "ckpt")
    reader = qa_kit.load(str(tmp_path / "ckpt"), engine="onnxruntime", sequence_length=64, doc_stride=16)
    assert (reader.model_dir / "model.onnx").is_file() and files_of(tmp_path / "ckpt") == before


def test_export_refuses_an_existing_folder_and_a_model_without_a_qa_head(tmp_path, capsys):
    from qa_kit.cli import main

    tiny_checkpoint(tmp_path / "ckpt")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert main(["export", str(tmp_path / "ckpt"), str(tmp_path / "taken")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]
    tiny_checkpoint(tmp_path / "base", head=False)
    with pytest.raises(qa_kit.SourceError, match="lacks its question-answering head"):
        qa_kit.load(str(tmp_path / "base"))


def test_without_torch_the_error_says_what_to_install(tmp_path):
    tiny_checkpoint(tmp_path / "ckpt")
    code = ("import sys; sys.modules['torch'] = None\nimport qa_kit\n"
            f"try:\n    qa_kit.load({str(tmp_path / 'ckpt')!r})\nexcept qa_kit.SourceError as e:\n    print(e)\n")
    env = {**os.environ, "QA_KIT_CACHE": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120).stdout
    assert "needs torch: pip install 'qa-kit[export]'" in out, out
