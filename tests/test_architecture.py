"""The kit's imports flow one way: apps -> studies -> views -> reading -> models -> engines -> ground.

Every import in qa_kit, at module level or inside a function, is read with `ast` and checked
against the layer of the module it comes from. Two kinds of edge are allowed to point up:
- a display hook: a data class shows itself (`_repr_html_`, `save_html`, `save_csv`) through a
  view, imported inside that method, as pandas' DataFrame draws itself through its formatters;
- the package itself (`from . import __version__`), which every layer may read.
The import graph, display hooks left out, has no cycles, and the light modules import light:
render, stubs and the catalog run without deepsparse, nothing below widgets imports ipywidgets,
nothing below charts imports matplotlib.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

KIT = Path(__file__).resolve().parent.parent / "qa_kit"
LAYERS = ["ground", "engines", "models", "reading", "views", "studies", "apps"]
LAYER_OF = {
    # ground: no kit module above it
    "errors": "ground", "paths": "ground", "text": "ground", "cache": "ground", "cores": "ground",
    "http_deadline": "ground",
    # engines: ONNX graphs to logits
    "engines": "engines", "flops": "engines", "int8": "engines",
    # models: what a source string means and what a model folder holds
    "network": "models", "model_folder": "models", "zoo": "models", "hub": "models", "sources": "models",
    "export": "models", "glossary": "models", "stub_grammar": "models", "catalog": "models",
    "describe": "models", "stubs": "models",
    # reading: questions and texts to answers
    "reading": "reading", "ranking": "reading", "results": "reading", "reader": "reading", "server": "reading",
    "reader_protocol": "reading",
    "server_process": "reading", "sparsify": "reading",
    # views: HTML, Figures, files
    "render": "views", "charts": "views", "report": "views", "stub_html": "views", "bench_chart": "views",
    # studies: many questions, many models
    "metrics": "studies", "squad": "studies", "evaluate": "studies", "compare": "studies", "calibrate": "studies",
    "bench": "studies", "bench_child": "studies", "bench_report": "studies", "bench_inputs": "studies",
    "bench_summary": "studies", "sparsity_sweep": "studies", "scale": "studies", "library": "studies", "documents": "studies",
    # apps: what a person runs
    "cli": "apps", "cli_ask": "apps", "cli_stub": "apps", "cli_bench": "apps", "cli_serve": "apps", "cli_library": "apps", "widgets": "apps",
}
DISPLAY_HOOKS = {"_repr_html_", "save_html", "save_csv"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(KIT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _kit_modules() -> Dict[str, Path]:
    return {_module_name(p): p for p in KIT.rglob("*.py") if "__pycache__" not in p.parts}


def _imports(name: str, path: Path, modules: Dict[str, Path]) -> List[Tuple[str, str, bool]]:
    """(imported kit module or outside top-level package, where, is a display hook) for every import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: List[Tuple[str, str, bool]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.dump(child.test):
                continue  # annotations only, never run
            hook = inner in DISPLAY_HOOKS
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append((alias.name, f"{name}:{child.lineno}", hook))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - (child.level - 1)] if child.level > 1 else package
                    target = ".".join(base + ([child.module] if child.module else []))
                    target = "qa_kit" + ("." + target if target else "") if not target.startswith("qa_kit") else target
                else:
                    target = child.module or ""
                for alias in child.names:
                    sub = f"{target}.{alias.name}"
                    found.append((sub if sub[len("qa_kit."):] in modules else target, f"{name}:{child.lineno}", hook))
            visit(child, inner)

    visit(tree, "")
    return found


def _layer(module: str) -> str:
    top = module.split(".")[0]
    return "apps" if top.startswith("cli") else LAYER_OF[top]  # every cli_* module is the command line


def _graph() -> Tuple[Dict[str, Set[str]], List[str], Dict[str, List[Tuple[str, str, bool]]]]:
    modules = _kit_modules()
    raw = {name: _imports(name, path, modules) for name, path in modules.items()}
    edges: Dict[str, Set[str]] = {name: set() for name in modules}
    for name, found in raw.items():
        for target, _, hook in found:
            if target.startswith("qa_kit.") and not hook:
                edges[name].add(target[len("qa_kit."):])
    return edges, list(modules), raw


def test_every_module_has_a_layer() -> None:
    missing = sorted({name.split(".")[0] for name in _kit_modules() if name and not name.startswith("cli")} - set(LAYER_OF))
    assert not missing, f"give these modules a layer in LAYER_OF (and in DESIGN.md): {missing}"


def test_imports_point_down_the_layers() -> None:
    _, _, raw = _graph()
    upward = []
    for name, found in raw.items():
        if not name:
            continue  # the package's own face re-exports from every layer
        for target, where, hook in found:
            if not target.startswith("qa_kit.") or hook:
                continue
            other = target[len("qa_kit."):]
            if LAYERS.index(_layer(other)) > LAYERS.index(_layer(name)):
                upward.append(f"{where} ({_layer(name)}) imports {other} ({_layer(other)})")
    assert not upward, "imports that reach up a layer:\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    edges, names, _ = _graph()
    edges = {n: {t for t in ts if t in edges and t} for n, ts in edges.items() if n}
    state: Dict[str, int] = {}
    cycles: List[List[str]] = []

    def walk(node: str, path: List[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                walk(nxt, path + [nxt])
        state[node] = 2

    for name in sorted(edges):
        if name not in state:
            walk(name, [name])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("package, highest", [("ipywidgets", "apps"), ("matplotlib", "views")])
def test_heavy_ui_packages_stay_up_top(package: str, highest: str) -> None:
    _, _, raw = _graph()
    below = [where for name, found in raw.items() if name for target, where, _ in found
             if target.split(".")[0] == package and LAYERS.index(_layer(name)) < LAYERS.index(highest)]
    assert not below, f"{package} imported below {highest}: {below}"


def test_render_stubs_and_catalog_import_without_deepsparse() -> None:
    code = (
        "import sys\n"
        "class Refuse:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('deepsparse', 'onnxruntime', 'transformers', 'ipywidgets', 'matplotlib'):\n"
        "            raise ImportError('refused: ' + name)\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "import qa_kit.render, qa_kit.stubs, qa_kit.catalog, qa_kit.stub_html\n"
        "from qa_kit import stubs\n"
        "stub = stubs.parse('zoo:nlp/question_answering/bert-base/pytorch/huggingface/squad/pruned90-none')\n"
        "assert stub._repr_html_().startswith('<div')\n"
        "assert len(stubs.catalog()) > 0\n"
        "print('ok', sorted(m for m in sys.modules if m.split('.')[0] == 'deepsparse'))\n"
    )
    # qa_kit/__init__ loads the reader (and so numpy and the engines' module, not deepsparse itself)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=str(KIT.parent))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok []"
