"""Strip outputs, execution counts and saved widget state from notebooks, so they are committed clean.

Committed notebooks carry no outputs: a reader runs them and sees their own machine's results,
diffs stay readable, and nothing stale (old timings, a random model's answers) is ever shown.

    python scripts/strip_notebooks.py            # strip every notebook in notebooks/ in place
    python scripts/strip_notebooks.py A.ipynb    # strip the notebooks named
    python scripts/strip_notebooks.py --check    # only report; exit 1 when any notebook needs stripping
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional, Sequence

import nbformat

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
KEPT_METADATA = ("kernelspec", "language_info")  # notebook metadata worth keeping; the rest is run state
RUN_CELL_METADATA = ("execution", "collapsed", "scrolled")  # cell metadata a run or a click leaves behind


def problems(nb: nbformat.NotebookNode) -> List[str]:
    """What in a notebook is left over from running it (empty when it is clean)."""
    found = []
    for index, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            found.append(f"cell {index} has {len(cell.outputs)} output(s)")
        if cell.get("execution_count") is not None:
            found.append(f"cell {index} has execution count {cell.execution_count}")
        leftover = [key for key in RUN_CELL_METADATA if key in cell.get("metadata", {})]
        if leftover:
            found.append(f"cell {index} has run metadata {leftover}")
    extra = sorted(key for key in nb.metadata if key not in KEPT_METADATA)
    if extra:
        found.append(f"notebook metadata has {extra} (saved widget state or other run state)")
    language = nb.metadata.get("language_info", {})
    if set(language) - {"name"}:
        found.append("language_info holds more than the language name (the kernel's version details)")
    return found


def strip(nb: nbformat.NotebookNode) -> bool:
    """Remove outputs, execution counts, run metadata and widget state in place; True if anything changed."""
    changed = bool(problems(nb))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in RUN_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
    for key in [k for k in nb.metadata if k not in KEPT_METADATA]:
        del nb.metadata[key]
    if "language_info" in nb.metadata:
        nb.metadata["language_info"] = {"name": nb.metadata["language_info"].get("name", "python")}
    return changed


def notebooks(paths: Sequence[str]) -> List[Path]:
    """The notebooks named, or every notebook in notebooks/ when none is."""
    if paths:
        return [Path(p) for p in paths]
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="notebooks (default: every notebook in notebooks/)")
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if any notebook is not clean")
    args = parser.parse_args(argv)
    dirty = 0
    for path in notebooks(args.paths):
        if not path.is_file():
            print(f"{path}: no such notebook", file=sys.stderr)
            return 2
        nb = nbformat.read(str(path), as_version=4)
        if args.check:
            found = problems(nb)
            if found:
                dirty += 1
                print(f"{path}: " + "; ".join(found))
        elif strip(nb):
            nbformat.write(nb, str(path))
            print(f"stripped {path}")
    if args.check and dirty:
        print(f"{dirty} notebook(s) need stripping: run python scripts/strip_notebooks.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
