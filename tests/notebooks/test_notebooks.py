"""Every notebook in notebooks/ runs top to bottom offline without an error, and is committed clean.

Each notebook runs in a fresh python3 kernel (this interpreter: jupyter_client starts "python"
kernels with sys.executable) with notebooks/ as its working folder, as JupyterLab runs it, and
with the test run's private model cache (conftest sets QA_KIT_CACHE before any kernel starts).
"""
from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import nbformat

pytestmark = [pytest.mark.notebook, pytest.mark.slow]
# nbformat is imported inside the tests: it takes seconds (its JSON-schema checks), and the quick
# subset, which deselects these tests, still collects this module.

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds; a cell that takes this long is a bug on the kit's small models
WIDGET = "application/vnd.jupyter.widget-view+json"

# What each teaching notebook must show once run: text found in its outputs (any mime type).
EXPECTED = {
    "01_ask": [WIDGET, "<mark", "This notebook runs"],
    "02_zoo_stub_anatomy": [WIDGET, "SparseZoo", "12layer_pruned80_quant-none-vnni", "pruned80"],
    "03_compare_models": ["<mark", "image/png", "exact match"],
    "04_long_documents": ["<mark", "image/png", "windows: [", "sequence_length"],
    "05_speed": ["image/png", "DeepSparse", "ONNX Runtime", "Dask dashboard: http", "speed-up on Dask"],
    "07_your_documents": ["<mark", "railway_tunnel.pdf", "page 2", "1 dropped", "unreadable PDF"],
}


def _load_strip_script():
    spec = importlib.util.spec_from_file_location("strip_notebooks", REPO / "scripts" / "strip_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _outputs_text(nb: nbformat.NotebookNode) -> str:
    """Every output of every code cell as one searchable string: mime types, texts and data."""
    return json.dumps([cell.get("outputs", []) for cell in nb.cells if cell.cell_type == "code"])


def test_notebooks_run_on_this_interpreter():
    from jupyter_client.manager import KernelManager

    assert KernelManager(kernel_name="python3").format_kernel_cmd()[0] == sys.executable


def test_there_are_notebooks():
    names = {path.stem for path in NOTEBOOKS}
    assert set(EXPECTED) <= names, f"missing notebooks: {sorted(set(EXPECTED) - names)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    found = _load_strip_script().problems(nb)
    assert not found, f"{path.name} is not clean ({'; '.join(found)}): run python scripts/strip_notebooks.py"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, record_property):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    began = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, on the first error
    seconds = time.perf_counter() - began
    record_property("seconds", round(seconds, 1))
    print(f"{path.name}: {seconds:.1f} s")

    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    outputs = _outputs_text(nb)
    assert "Traceback" not in outputs
    for expected in EXPECTED.get(path.stem, []):
        assert expected in outputs, f"{path.name} ran but its outputs never show {expected!r}"


def test_strip_removes_what_a_run_leaves(tmp_path):
    import nbformat

    strip = _load_strip_script()
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"},
                                            "language_info": {"name": "python", "version": "3.11.2"},
                                            "widgets": {"application/vnd.jupyter.widget-state+json": {}}})
    cell = nbformat.v4.new_code_cell("1 + 1", execution_count=3,
                                     outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=3)])
    cell.metadata["execution"] = {"iopub.execute_input": "2024-01-01T00:00:00Z"}
    cell.metadata["tags"] = ["keep-me"]
    nb.cells = [nbformat.v4.new_markdown_cell("# title"), cell]
    path = tmp_path / "dirty.ipynb"
    nbformat.write(nb, str(path))

    assert strip.main(["--check", str(path)]) == 1
    assert len(strip.problems(nbformat.read(str(path), as_version=4))) == 5
    assert strip.main([str(path)]) == 0
    clean = nbformat.read(str(path), as_version=4)
    assert strip.problems(clean) == []
    assert clean.cells[1].outputs == [] and clean.cells[1].execution_count is None
    assert clean.cells[1].metadata == {"tags": ["keep-me"]}  # what the author set stays
    assert clean.cells[1].source == "1 + 1"
    assert set(clean.metadata) == {"kernelspec", "language_info"}
    assert clean.metadata["language_info"] == {"name": "python"}
    assert strip.main(["--check", str(path)]) == 0
