"""`zoo:` sources: a SparseZoo stub's deployment folder downloaded under a time limit, or the copy
downloaded whole before when the retired zoo does not answer, and one-line errors naming a way on."""
from __future__ import annotations

import sys
from pathlib import Path

from .cache import cache_dir
from .errors import SourceError
from .network import folder_for, run_with_timeout

ZOO_RETIRED = "SparseZoo, retired by Neural Magic in June 2025, may no longer answer"


def download_zoo(stub: str, timeout: float) -> Path:
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

        folder = Path(Model(stub, download_path=str(download_root / folder_for(stub))).deployment.path)
        if not folder.is_dir() and (folder.parent / "model.onnx").is_file():
            # a model listed without deployment.tar.gz: sparsezoo 1.8 puts its loose deployment
            # files beside the deployment/ folder it names, not in it
            return folder.parent
        return folder

    done = download_root / f"{folder_for(stub)}.done"  # written once a download was whole

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


__all__ = ["ZOO_RETIRED", "download_zoo"]
