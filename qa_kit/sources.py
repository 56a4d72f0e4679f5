"""What a model source string means, and how it becomes a local model folder the kit may run.

Sources: a local folder (model.onnx + config.json + tokenizer files), a single .onnx file in such
a folder, a `zoo:` SparseZoo stub, an `hf:` Hugging Face repo (ONNX at its root or in `onnx/`, or
a PyTorch checkpoint, exported to ONNX once; a local checkpoint folder is exported the same way),
or a short name from the kit's catalog (data/catalog.csv). Every source ends as a *cached copy*
under one cache folder: DeepSparse rewrites model.onnx in place, so the user's own files are only
ever read. Network sources run under a time limit, so an offline machine fails fast, never hangs.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from .cache import build_entry, cache_dir, file_sha256
from .errors import InputError, SourceError, positive_seconds
from .paths import DATA_DIR, MODELS_DIR, QUESTIONS_DIR, TEXTS_DIR

DEFAULT_TIMEOUT = 10.0  # seconds a network source may take before we give up
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
    "vocab.json", "merges.txt", "added_tokens.json", "spiece.model",
)
T = TypeVar("T")


@dataclass(frozen=True)
class ResolvedModel:
    """A source turned into a private local folder holding model.onnx, config.json and a tokenizer."""

    source: str  # what the user asked for
    model_dir: Path  # the cached copy the kit runs (never the user's folder)
    origin: str  # where it came from: a local path, a stub, a repo
    kind: str  # "path", "zoo", "hf" or "catalog"


def sample_texts(folder: Path = TEXTS_DIR) -> Dict[str, str]:
    """The kit's sample texts by file stem (data/texts/*.txt), read as UTF-8."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))}


def sample_questions(stem: str, folder: Path = QUESTIONS_DIR) -> List[str]:
    """The questions of a sample text's SQuAD-style set, in order (empty when it has none)."""
    path = folder / f"{stem}.json"
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [qa["question"] for article in data["data"] for para in article["paragraphs"] for qa in para["qas"]]


def default_model() -> str:
    """The catalog name notebooks and the Explorer start with: the real demo model when it ships."""
    if (MODELS_DIR / "demo-minilm" / "model.onnx").is_file():
        return "demo-minilm"
    return "tiny-random-bert"


def network_timeout(timeout: Optional[float] = None) -> float:
    """The time limit for network sources: the argument, else $QA_KIT_TIMEOUT, else 10 s."""
    if timeout is not None:
        return positive_seconds(timeout, "timeout")
    value = os.environ.get("QA_KIT_TIMEOUT")
    if value is None:
        return DEFAULT_TIMEOUT
    try:
        return positive_seconds(float(value), "QA_KIT_TIMEOUT")
    except ValueError:  # not a number at all (InputError is a ValueError too, and says the same)
        raise InputError(f"QA_KIT_TIMEOUT={value!r} is not a time limit: give seconds above 0, a number such as 30.") from None


def source_kind(source: str) -> str:
    """Classify a source string: "zoo", "hf", "url", "path" or "catalog"."""
    from .catalog import kind_of

    return kind_of(source)


def resolve(source: str, *, timeout: Optional[float] = None, revision: Optional[str] = None) -> ResolvedModel:
    """Turn any source string into a private cached model folder (downloading, or exporting a
    PyTorch checkpoint to ONNX, if needed). `revision` pins an hf: repo to a branch, tag or commit."""
    if not isinstance(source, str) or not source.strip():
        raise SourceError("The model source is empty: give a local folder, a zoo: stub, an hf: repo or a catalog name.")
    source = source.strip()
    kind = source_kind(source)
    if revision is not None and kind not in ("hf", "catalog"):
        raise SourceError(f"revision= pins a Hugging Face repo; '{source}' is not one (write hf:OWNER/NAME).")
    if kind == "catalog":
        return _resolve_catalog(source, timeout, revision)
    if kind == "zoo":
        folder = _download_zoo(source, network_timeout(timeout))
    elif kind == "hf":
        folder = _download_hf(source, network_timeout(timeout), revision)
    elif kind == "url":
        raise SourceError(f"'{source}' is a server URL, not a model folder: ask it through a server reader instead.")
    else:
        folder = _local_checkpoint(Path(source).expanduser())
    model_dir = private_copy(folder, label=_label_for(source))
    return ResolvedModel(source=source, model_dir=model_dir, origin=str(folder), kind=kind)


def _local_checkpoint(path: Path) -> Path:
    """A local folder as it is, or, when it is a PyTorch checkpoint with no ONNX file, its ONNX
    export (made once into the cache, keyed on the checkpoint's files)."""
    from .export import export_checkpoint, is_checkpoint

    try:
        plain = not path.is_dir() or find_onnx_or_none(path) is not None or not is_checkpoint(path)
    except OSError:
        return path  # private_copy names the problem
    if plain:
        return path
    digest = hashlib.sha256()
    for file in sorted(f for f in path.iterdir() if f.is_file()):
        digest.update(f"{file.name}:{file_sha256(file)}\n".encode())
    target = cache_dir() / "exported" / f"{_label_for(str(path))}-{digest.hexdigest()[:16]}"
    return build_entry(target, lambda out: export_checkpoint(path, out, origin=str(path)))


def _resolve_catalog(name: str, timeout: Optional[float], revision: Optional[str] = None) -> ResolvedModel:
    from .catalog import catalog_source

    target = catalog_source(name)
    if target is None:
        raise SourceError(
            f"'{name}' is neither an existing path nor a name in the kit's catalog: "
            "see qa_kit.stubs.catalog() for names, or give a folder, zoo: stub or hf: repo."
        )
    if not re.match(r"^(zoo:|hf:|https?://)", target):
        target = str(DATA_DIR / target)  # local catalog entries are relative to data/
    resolved = resolve(target, timeout=timeout, revision=revision)
    return ResolvedModel(source=name, model_dir=resolved.model_dir, origin=resolved.origin, kind="catalog")


def _label_for(source: str) -> str:
    """A short, filesystem-safe name for a source, to make cache folders readable."""
    tail = source.rstrip("/").split("/")[-1].split("?")[0].split("@")[0] or "model"
    if tail.endswith(".onnx"):  # a model file: name the copy after its folder
        tail = source.rstrip("/").split("/")[-2] if source.count("/") else "model"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", tail)[:60] or "model"


def _folder_for(name: str) -> str:
    """A cache folder name unique to a whole repo id or stub (hf:alice/x and hf:bob/x differ), still readable."""
    return f"{_label_for(name)}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"


def find_onnx_or_none(folder: Path) -> Optional[Path]:
    """The model file of a folder: model.onnx, onnx/model.onnx, or the folder's only .onnx file; None if it has none."""
    for candidate in (folder / "model.onnx", folder / "onnx" / "model.onnx"):
        if candidate.is_file():
            return candidate
    found = sorted(folder.glob("*.onnx")) or sorted((folder / "onnx").glob("*.onnx"))
    if len(found) > 1:
        names = ", ".join(f.name for f in found)
        raise SourceError(f"{folder} holds several ONNX files ({names}): pass the one to run as a file path.")
    return found[0] if found else None


def find_onnx(folder: Path) -> Path:
    """The model file of a folder, or a SourceError saying what a model folder needs."""
    found = find_onnx_or_none(folder)
    if found is None:
        raise SourceError(f"No ONNX model in {folder}: it needs model.onnx (or onnx/model.onnx) beside config.json and "
                          "tokenizer files, or PyTorch weights (model.safetensors) to export.")
    return found


def private_copy(path: Path, *, label: str = "model") -> Path:
    """Copy a model (folder or .onnx file) into the cache once; return the copy's folder.

    The copy is keyed on the content of its files (SHA-256, computed once per file version), so
    replacing the user's weights makes a fresh copy even when size and time stay the same, and
    loading the same model again costs nothing. The copy is built whole or not at all.
    """
    path = Path(path)
    try:
        exists, is_file = path.exists(), path.is_file()
    except OSError as error:  # a symlink loop, a name too long
        raise SourceError(f"Model path {path} cannot be read ({error.strerror}): give a real folder.") from None
    if not exists:
        raise SourceError(f"Model path {path} does not exist: give a folder with model.onnx, config.json and tokenizer files.")
    if is_file:
        if path.suffix != ".onnx":
            raise SourceError(f"{path} is not an .onnx file: give the model folder or its model.onnx.")
        onnx_file, folder = path, path.parent
    else:
        folder = path
        onnx_file = find_onnx(folder)
    if not (folder / "config.json").is_file():
        raise SourceError(f"{folder} has no config.json: save the model's config beside {onnx_file.name}.")
    tokenizer_files = [folder / name for name in TOKENIZER_FILES if (folder / name).is_file()]
    if not any(f.name in ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model") for f in tokenizer_files):
        raise SourceError(f"{folder} has no tokenizer (tokenizer.json or vocab.txt): save the model's tokenizer beside it.")
    # ONNX models over 2 GB keep their weights in external data files beside the graph.
    external = [f for f in onnx_file.parent.glob("*.data")] + [f for f in onnx_file.parent.glob("*.onnx_data")]
    files = {"model.onnx": onnx_file, "config.json": folder / "config.json"}
    files.update({f.name: f for f in tokenizer_files})
    files.update({f.name: f for f in external})

    try:
        digest = hashlib.sha256()
        for name, file in sorted(files.items()):
            digest.update(f"{name}:{file_sha256(file)}\n".encode())
    except OSError as error:
        raise SourceError(f"Could not read the model in {folder} ({error.strerror}): check its files can be read.") from None

    def fill(staging: Path) -> None:
        check_onnx(onnx_file)  # a truncated or corrupt model is named now, not as an engine's protobuf error
        for name, file in files.items():
            shutil.copyfile(file, staging / name)

    return build_entry(cache_dir() / "models" / f"{label}-{digest.hexdigest()[:16]}", fill)


def check_onnx(onnx_file: Path) -> None:
    """Refuse a file that is not a whole ONNX model, naming it (the engines' own errors do not)."""
    import onnx

    try:
        model = onnx.load(str(onnx_file), load_external_data=False)
    except Exception:
        raise SourceError(f"{onnx_file} is not a readable ONNX model (truncated or corrupt?): export or copy it again.") from None
    if not model.graph.node:
        raise SourceError(f"{onnx_file} holds no ONNX graph: export the model again.")


def run_with_timeout(work: Callable[[], T], timeout: float, what: str) -> T:
    """Run network work in a daemon thread and give up after `timeout` seconds.

    The SparseZoo client sets no timeout on its requests, so a dropped network would hang the
    caller forever; a thread we can stop waiting for is the only bound we can put on it.
    """
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as error:  # handed to the caller's thread below
            box["error"] = error

    thread = threading.Thread(target=target, name=f"qa-kit {what}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise SourceError(
            f"{what} gave no answer within {timeout:g} s (offline?): download the model where there is "
            "a network and pass its local folder, or raise the limit with timeout= or QA_KIT_TIMEOUT."
        )
    if "error" in box:
        raise box["error"]
    return box["value"]


def _offline_error(what: str, error: BaseException) -> SourceError:
    reason = type(error).__name__
    return SourceError(
        f"Could not fetch {what} ({reason}): this machine seems to be offline or the name is wrong; "
        "download the model where there is a network and pass its local folder instead."
    )


ZOO_RETIRED = "SparseZoo, retired by Neural Magic in June 2025, may no longer answer"


def _download_zoo(stub: str, timeout: float) -> Path:
    """Download a SparseZoo stub's deployment folder (model.onnx, config, tokenizer).

    The client asks the zoo's API about the stub on every load (even when its files are cached),
    then downloads each file; when the zoo does not answer, a copy downloaded whole before is used;
    else the failure becomes one line that says what happened, that the zoo has been retired, and
    where to go instead (a Hub counterpart from the catalog, if known).
    """
    from .stub_grammar import parse

    stub = str(parse(stub))  # a malformed stub fails here, naming the bad part; adds a missing zoo:
    download_root = cache_dir() / "zoo"

    def fetch() -> Path:
        from sparsezoo import Model

        folder = Path(Model(stub, download_path=str(download_root / _folder_for(stub))).deployment.path)
        if not folder.is_dir() and (folder.parent / "model.onnx").is_file():
            # a model listed without deployment.tar.gz: sparsezoo 1.8 puts its loose deployment
            # files beside the deployment/ folder it names, not in it
            return folder.parent
        return folder

    done = download_root / f"{_folder_for(stub)}.done"  # written once a download was whole

    def offline_copy(failure: str) -> Path:
        try:
            folder = Path(done.read_text(encoding="utf-8").strip())
        except OSError:
            folder = None
        if folder is None or not (folder / "model.onnx").is_file():
            raise _zoo_error(stub, failure)
        print(f"{failure}; using the copy downloaded before.", file=sys.stderr)
        return folder

    try:
        folder = run_with_timeout(fetch, timeout, f"SparseZoo for '{stub}'")
    except SourceError:  # only the time limit raises one here
        return offline_copy(f"SparseZoo gave no answer for '{stub}' within {timeout:g} s")
    except Exception as error:
        failure = _zoo_failure(stub, error)
        if "no model" in failure:
            raise _zoo_error(stub, failure) from error
        return offline_copy(failure)
    from .cache import write_text_atomic

    write_text_atomic(done, str(folder))
    return folder


def _zoo_failure(stub: str, error: BaseException) -> str:
    """What went wrong asking SparseZoo for a stub, in a few words, from the client's exception."""
    import requests

    name = type(error).__name__
    status = getattr(getattr(error, "response", None), "status_code", None)
    if status in (401, 403):
        return f"SparseZoo refused '{stub}' (HTTP {status})"
    if status is not None:
        return f"SparseZoo answered HTTP {status} for '{stub}'"
    if isinstance(error, requests.RequestException):
        return f"Cannot reach SparseZoo for '{stub}' ({name}: offline?)"
    if isinstance(error, ValueError) and str(error).startswith("No matching models"):
        return f"SparseZoo has no model '{stub}'"
    if name == "InvalidQueryException":  # the reply held GraphQL "errors"
        return f"SparseZoo rejected the query for '{stub}'"
    return f"Could not fetch '{stub}' from SparseZoo ({name})"


def _zoo_error(stub: str, what_happened: str) -> SourceError:
    """One line: what happened, that the zoo is retired, and the way on (the Hub, or a local folder).

    Ordered so that the Explorer's status line, which clips at 300 characters, keeps the Hub name.
    """
    from .catalog import hub_counterpart

    found = hub_counterpart(stub)
    if found:
        repo, match = found
        way = f"Try {repo} ({'the same model' if match == 'exact' else 'a related model'}) from the Hugging Face Hub"
    else:
        way = "Look for the model on the Hugging Face Hub (hf:OWNER/NAME)"
    return SourceError(f"{what_happened}. {ZOO_RETIRED}. {way}, or pass a local folder.")


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


def _download_hf(source: str, timeout: float, revision: Optional[str] = None) -> Path:
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

        return build_entry(cache_dir() / "hf-flat" / _folder_for(key), flatten)
    if is_checkpoint(snapshot):
        return build_entry(cache_dir() / "hf-export" / _folder_for(key),
                           lambda out: export_checkpoint(snapshot, out, origin=f"hf:{key}"))
    return snapshot  # private_copy names what is missing


def _refs_file(repo: str, revision: Optional[str]) -> Path:
    key = f"{repo}@{revision or 'default'}"
    return cache_dir() / "hf-refs" / f"{_folder_for(key)}.txt"


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
