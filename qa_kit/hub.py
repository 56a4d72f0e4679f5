"""`hf:` sources: a Hugging Face Hub repo as a local model folder (its ONNX export, or its PyTorch
checkpoint exported once), said before it downloads, and found again offline once downloaded."""
from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any, List, Optional, Tuple

from .cache import build_entry, cache_dir
from .errors import SourceError
from .model_folder import TOKENIZER_FILES, find_onnx
from .network import folder_for, run_with_timeout

def _hf_repo(source: str, revision: Optional[str]) -> Tuple[str, Optional[str]]:
    """(OWNER/NAME, revision) from "hf:OWNER/NAME" or "hf:OWNER/NAME@REVISION" and the revision= argument."""
    repo, _, pinned = source[len("hf:"):].strip().strip("/").partition("@")
    if not re.fullmatch(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?", repo):
        raise SourceError(f"'{source}' is not a Hugging Face repo id: write it as hf:OWNER/NAME (or hf:OWNER/NAME@REVISION).")
    if pinned and revision and pinned != revision:
        raise SourceError(f"'{source}' pins revision {pinned!r} but revision={revision!r} was given too: give one.")
    return repo, (revision or pinned or None)


def hub_files(names: List[str]) -> Tuple[str, List[str]]:
    """What to download from a Hub repo holding these files: ("onnx", [...]) when it has an ONNX
    export (at its root or in onnx/), else ("pytorch", [...]) for a transformers checkpoint."""
    names = sorted(set(names))
    support = [n for n in names if n.rsplit("/", 1)[-1] in ("config.json",) + TOKENIZER_FILES
               and n.count("/") <= (1 if n.startswith("onnx/") else 0)]
    graphs = [n for n in names if n.endswith(".onnx") and (n.count("/") == 0 or (n.startswith("onnx/") and n.count("/") == 1))]
    for preferred in ("model.onnx", "onnx/model.onnx"):
        if preferred in graphs:
            graphs = [preferred]
    if len(graphs) > 1:
        raise SourceError(f"The repo holds several ONNX files ({', '.join(graphs[:4])}) and none is model.onnx: "
                          "download the one you want and pass its folder.")
    if graphs:
        data = [n for n in names if n.startswith(graphs[0]) and n.endswith(("_data", ".data"))]
        return "onnx", support + graphs + data
    if "config.json" in names:
        for weights in ("model.safetensors", "pytorch_model.bin"):
            shards = [n for n in names if "/" not in n and (n == weights or (n.startswith(weights.split(".")[0] + "-")
                                                                             and n.endswith(weights.split(".")[-1])))]
            index = [n for n in names if n == weights + ".index.json"]
            if weights in names or (index and shards):
                return "pytorch", [n for n in support if "/" not in n] + shards + index
    raise SourceError("The repo holds neither an ONNX model (model.onnx, onnx/model.onnx) nor a transformers "
                      "checkpoint (config.json with model.safetensors or pytorch_model.bin): the kit cannot run it.")


def _offline_error(what: str, error: BaseException) -> SourceError:
    reason = type(error).__name__
    return SourceError(
        f"Could not fetch {what} ({reason}): this machine seems to be offline or the name is wrong; "
        "download the model where there is a network and pass its local folder instead."
    )


def _hub_error(what: str, error: BaseException) -> SourceError:
    """The Hub client's exceptions as one line that says what to do."""
    name = type(error).__name__
    status = getattr(getattr(error, "response", None), "status_code", None)
    if name == "GatedRepoError":
        return SourceError(f"{what} is gated: accept its terms on the Hub and log in (huggingface-cli login), then load again.")
    if name == "RepositoryNotFoundError":
        return SourceError(f"{what} was not found on the Hub (or it is private): check the OWNER/NAME spelling.")
    if name == "RevisionNotFoundError":
        return SourceError(f"{what}: no such revision on the Hub: give a branch, tag or commit the repo has.")
    if name == "EntryNotFoundError":
        return SourceError(f"{what}: a file the repo lists could not be downloaded (404): try again, or download it by hand.")
    if status in (401, 403):
        return SourceError(f"The Hub refused {what} ({status}): it may be private or gated; log in (huggingface-cli login) or pick another repo.")
    if status is not None:
        return SourceError(f"The Hub answered {status} for {what}: try again later, or download it elsewhere and pass its folder.")
    return _offline_error(f"{what} from the Hugging Face Hub", error)


def download_hf(source: str, timeout: float, revision: Optional[str] = None) -> Path:
    """A Hugging Face repo as a local folder with model.onnx: its ONNX export (root or onnx/), or its
    PyTorch checkpoint exported to ONNX once. Says the size before downloading; the Hub client shows
    progress and writes each file under a temporary name first."""
    repo, revision = _hf_repo(source, revision)
    what = f"hf:{repo}" + (f"@{revision}" if revision else "")
    endpoint = os.environ.get("HF_ENDPOINT") or None  # read now: the client reads it only once, at import

    def look() -> Any:
        from huggingface_hub import HfApi

        return HfApi(endpoint=endpoint).model_info(repo, revision=revision, files_metadata=True, timeout=timeout)

    try:
        info = run_with_timeout(look, timeout, f"the Hugging Face Hub for '{what}'")
    except SourceError:
        raise
    except Exception as error:
        cached = _cached_hf(repo, revision)
        if cached is None or getattr(getattr(error, "response", None), "status_code", None) is not None:
            raise _hub_error(what, error) from error
        print(f"{what}: the Hub did not answer ({type(error).__name__}); using the copy downloaded before.", file=sys.stderr)
        return _runnable_hf(cached, f"{repo}@{cached.name}")
    sizes = {s.rfilename: s.size for s in info.siblings or []}
    try:
        kind, files = hub_files(list(sizes))
    except SourceError as error:
        raise SourceError(f"{what}: {error}") from None
    known = [sizes[f] for f in files if sizes.get(f)]
    total = f"{sum(known) / 1e6:,.1f} MB" if len(known) == len(files) else "size unknown"
    then = "; exported to ONNX once it is here" if kind == "pytorch" else ""
    print(f"{what} at {info.sha[:10]}: {len(files)} files, {total} ({'ONNX' if kind == 'onnx' else 'PyTorch'}{then})", file=sys.stderr)
    try:
        from huggingface_hub import constants, hf_hub_download

        constants.HF_HUB_DOWNLOAD_TIMEOUT = timeout  # a stalled transfer fails after this many idle seconds
        for name in files:
            path = hf_hub_download(repo, name, revision=info.sha, cache_dir=str(cache_dir() / "hf"),
                                   endpoint=endpoint, etag_timeout=timeout)
        snapshot = Path(path).parents[name.count("/")]
        _remember_hf(repo, revision, info.sha)
    except Exception as error:
        raise _hub_error(what, error) from error
    return _runnable_hf(snapshot, f"{repo}@{info.sha}")


def _runnable_hf(snapshot: Path, key: str) -> Path:
    """A downloaded snapshot as a folder the kit can copy: as it is, flattened from onnx/, or exported."""
    from .export import export_checkpoint, is_checkpoint

    if (snapshot / "model.onnx").is_file():
        return snapshot
    onnx_dir = snapshot / "onnx"
    if onnx_dir.is_dir() and list(onnx_dir.glob("*.onnx")):
        # Exports that keep the graph in onnx/ often keep config and tokenizer at the root:
        # assemble one flat folder so the rest of the kit sees the usual layout.
        def flatten(flat: Path) -> None:
            shutil.copyfile(find_onnx(onnx_dir), flat / "model.onnx")
            for name in ("config.json",) + TOKENIZER_FILES:
                for where in (onnx_dir / name, snapshot / name):
                    if where.is_file():
                        shutil.copyfile(where, flat / name)
                        break

        return build_entry(cache_dir() / "hf-flat" / folder_for(key), flatten)
    if is_checkpoint(snapshot):
        return build_entry(cache_dir() / "hf-export" / folder_for(key),
                           lambda out: export_checkpoint(snapshot, out, origin=f"hf:{key}"))
    return snapshot  # private_copy names what is missing


def _refs_file(repo: str, revision: Optional[str]) -> Path:
    key = f"{repo}@{revision or 'default'}"
    return cache_dir() / "hf-refs" / f"{folder_for(key)}.txt"


def _remember_hf(repo: str, revision: Optional[str], sha: str) -> None:
    """Which commit `repo` at `revision` was last downloaded at, so an offline load finds it again."""
    from .cache import write_text_atomic

    write_text_atomic(_refs_file(repo, revision), sha)


def _cached_hf(repo: str, revision: Optional[str]) -> Optional[Path]:
    """The snapshot folder downloaded before for this repo and revision, if any."""
    try:
        sha = _refs_file(repo, revision).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    snapshot = cache_dir() / "hf" / f"models--{repo.replace('/', '--')}" / "snapshots" / sha
    return snapshot if sha and snapshot.is_dir() else None


__all__ = ["hub_files", "download_hf"]
