"""The house's import rules, read from the source with ast: no import cycles, the product never imports the
provider simulator, and the apps' layers point one way (storyboards -> generations -> billing -> accounts)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "billing", "generations", "webhooks", "seedance_saas", "provider_simulator", "storyboards")
PRODUCT = ("accounts", "billing", "generations", "webhooks", "seedance_saas")
# importer app -> apps it must never import (directly or through other modules of ours)
FORBIDDEN = {
    **{app: ("provider_simulator",) for app in PRODUCT},
    "accounts": ("provider_simulator", "billing", "generations", "storyboards"),
    "billing": ("provider_simulator", "generations", "storyboards"),
    "generations": ("provider_simulator", "storyboards"),
}

Graph = dict[str, dict[str, int]]  # module -> {imported module: line of the first such import}


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(tree: ast.AST, *, typing_too: bool):
    """Every import statement at any depth (module, function, method); `if TYPE_CHECKING:` blocks only when
    `typing_too`, since they never run."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if _is_type_checking_block(node) and not typing_too:
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _resolve(name: str, modules: set[str]) -> str | None:
    """The longest prefix of a dotted name that is one of our modules (None: a third-party or stdlib name)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph(root: Path, apps: tuple[str, ...] = APPS, *, typing_too: bool = False) -> Graph:
    files = {
        _module_name(root, path): path
        for app in apps
        if (root / app).is_dir()
        for path in sorted((root / app).rglob("*.py"))
    }
    modules = set(files)
    graph: Graph = {}
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        edges: dict[str, int] = {}
        for node in _imports(ast.parse(path.read_text(), filename=str(path)), typing_too=typing_too):
            if isinstance(node, ast.Import):
                targets = [_resolve(alias.name, modules) for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: from the importing module's package, up level-1 more
                    package = module.split(".") if is_package else module.split(".")[:-1]
                    package = package[: len(package) - (node.level - 1)]
                    base = ".".join([*package, base] if base else package)
                # `from pkg import name` imports the submodule pkg.name when there is one, else pkg itself.
                targets = [_resolve(f"{base}.{alias.name}", modules) or _resolve(base, modules) for alias in node.names]
            for target in targets:
                if target is not None and target != module:
                    edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, {})))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def path_between(graph: Graph, start: str, goal, *, within: set[str] | None = None) -> list[str] | None:
    """The shortest import chain from `start` to a module for which `goal(module)` holds (breadth first)."""
    previous: dict[str, str | None] = {start: None}
    queue = [start]
    for node in queue:
        for child in sorted(graph.get(node, {})):
            if within is not None and child not in within:
                continue
            if goal(child):
                chain = [node]
                while previous[chain[-1]] is not None:
                    chain.append(previous[chain[-1]])
                return [*chain[::-1], child]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    return None


def describe(graph: Graph, chain: list[str]) -> str:
    return " -> ".join(
        f"{module} (line {graph[module][chain[i + 1]]})" if i + 1 < len(chain) else module
        for i, module in enumerate(chain)
    )


def cycle_problems(graph: Graph) -> list[str]:
    problems = []
    for component in cycles(graph):
        members = set(component)
        start = component[0]
        chain = path_between(graph, start, lambda module, start=start: module == start, within=members)
        problems.append(f"import cycle among {', '.join(component)}: {describe(graph, chain)}")
    return problems


def _app(module: str) -> str:
    return module.split(".")[0]


def layering_problems(graph: Graph) -> list[str]:
    problems = []
    for module in sorted(graph):
        forbidden = FORBIDDEN.get(_app(module), ())
        if not forbidden:
            continue
        chain = path_between(graph, module, lambda target, forbidden=forbidden: _app(target) in forbidden)
        # Report the module whose own import leaves its app, not every module of the app that reaches it.
        if chain is not None and _app(chain[1]) != _app(module):
            problems.append(f"{_app(module)} must not import {_app(chain[-1])}: {describe(graph, chain)}")
    return problems


def test_no_import_cycles_between_our_modules():
    graph = import_graph(ROOT)
    assert "provider_simulator.simulator" in graph and "generations.eachlabs.client" in graph
    problems = cycle_problems(graph)
    assert not problems, "\n".join(problems)


def test_the_product_never_imports_the_simulator_and_layers_point_one_way():
    # Typing-only imports count here: a product module that names the simulator even for a type knows of it.
    problems = layering_problems(import_graph(ROOT, typing_too=True))
    assert not problems, "\n".join(problems)


# --- the checks themselves can fail ---------------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_cycle_through_a_function_level_import_is_reported_with_its_chain(tmp_path):
    root = _tree(
        tmp_path,
        {
            "billing/__init__.py": "",
            "billing/models.py": "from billing import services\n",
            "billing/services.py": "import os\n\n\ndef charge():\n    from billing.models import Price\n",
            "billing/prices.py": "from .models import Price\n",
        },
    )
    problems = cycle_problems(import_graph(root))
    assert problems == [
        "import cycle among billing.models, billing.services: "
        "billing.models (line 1) -> billing.services (line 5) -> billing.models"
    ]


def test_typing_only_imports_make_no_cycle(tmp_path):
    text = "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from webhooks.a import A\n"
    root = _tree(tmp_path, {"webhooks/__init__.py": "", "webhooks/a.py": "import webhooks.b\n", "webhooks/b.py": text})
    assert cycle_problems(import_graph(root)) == []
    assert cycle_problems(import_graph(root, typing_too=True)) != []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"generations/client.py": "def build():\n    from provider_simulator import get_simulator\n"},
            "generations must not import provider_simulator: generations.client (line 2) -> provider_simulator",
        ),
        (
            {
                "accounts/views.py": "from seedance_saas import helpers\n",
                "seedance_saas/helpers.py": "import generations.models\n",
            },
            "accounts must not import generations: "
            "accounts.views (line 1) -> seedance_saas.helpers (line 1) -> generations.models",
        ),
    ],
)
def test_a_forbidden_import_is_reported_with_its_chain(tmp_path, files, expected):
    root = _tree(
        tmp_path,
        {
            "accounts/__init__.py": "",
            "generations/__init__.py": "",
            "generations/models.py": "",
            "seedance_saas/__init__.py": "",
            "provider_simulator/__init__.py": "",
            **files,
        },
    )
    assert expected in layering_problems(import_graph(root, typing_too=True))
