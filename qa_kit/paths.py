"""Where the kit's own files are: the one place that knows.

The repository keeps `data/` (the catalog, sample texts and questions, the shipped models) and
`notebooks/` at its root, beside the `qa_kit` package. A wheel ships the same folders *inside* the
package, as `qa_kit/data` and `qa_kit/notebooks` (pyproject.toml maps them), so the layout under
`KIT_ROOT` is the same either way and the notebooks' `../data/...` paths hold in both.

- an installed copy (`pip install .`, a wheel): the package's own `data/` is used;
- a checkout or an editable install (`pip install -e .`): the repo's `data/`, so edits show at once.

This module imports nothing from the kit, so any module may import it.
"""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent  # the qa_kit package folder
IMPORT_ROOT = PACKAGE_DIR.parent  # the folder qa_kit is imported from (the repo, or site-packages)
# The folder that holds data/ and notebooks/: the package itself when installed, else the repo root.
KIT_ROOT = PACKAGE_DIR if (PACKAGE_DIR / "data").is_dir() else IMPORT_ROOT
DATA_DIR = KIT_ROOT / "data"
NOTEBOOKS_DIR = KIT_ROOT / "notebooks"
CATALOG_PATH = DATA_DIR / "catalog.csv"
MODELS_DIR = DATA_DIR / "models"
TEXTS_DIR = DATA_DIR / "texts"
QUESTIONS_DIR = DATA_DIR / "questions"


def missing_data_hint(path: Path) -> str:
    """A sentence for when one of the kit's own files is not where it should be."""
    return (f"The kit's data file {path} is missing: qa-kit looks for its data in {DATA_DIR} "
            f"(the package's own data/ when installed, else the repo's data/ beside {PACKAGE_DIR.name}/). "
            "Reinstall qa-kit from the repo (pip install .) or run it from a full checkout.")


__all__ = ["PACKAGE_DIR", "IMPORT_ROOT", "KIT_ROOT", "DATA_DIR", "NOTEBOOKS_DIR", "CATALOG_PATH",
           "MODELS_DIR", "TEXTS_DIR", "QUESTIONS_DIR", "missing_data_hint"]
