"""The package's shape, read from source with `ast` (nothing is imported): one-way layers, short functions.

Layers, lowest first; a module may import from its own layer or a lower one:

    base (errors, findings, resources, versions, the package's __init__) → config → iam → model → checks → render
    → sandbox → run → drift = report = adopt = pipeline → cli (and __main__, which only starts the cli)

What counts as an import:
- every `import` and `from … import …` naming a module of the package, wherever it stands: an import inside
  a function is as much a dependency as one at the top, it only runs later;
- `from pkg.a import b` depends on `pkg.a.b` when that is a module, else on `pkg.a`; the packages a module
  sits in (whose `__init__` Python runs first) are not counted, so a package may gather its own modules;
- an import under `if TYPE_CHECKING:` never runs, so it cannot close a cycle and is left out of the cycle
  checks; it still names a module's types, so it must respect the layers like any other.

A private name is one with a leading underscore that is not a dunder (`__version__` is public). A module may
import a private submodule of its own package (`pkg.cli._shared` from `pkg.cli.drift`), nothing else private
of another module. Only the package's own modules are checked; tests may reach into private names.

A function is too long when it runs over 80 lines from its `def` line to its last line (decorators and the
blank lines after it not counted).
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "securecart_tf"
MAX_FUNCTION_LINES = 80
LAYERS: tuple[tuple[str, ...], ...] = (
    ("", "errors", "findings", "resources", "versions"),
    ("config",),
    ("iam",),
    ("model",),
    ("checks",),
    ("render",),
    ("sandbox",),
    ("run",),
    ("drift", "report", "adopt", "pipeline"),
    ("cli", "__main__"),
)
"""Top-level parts of the package, lowest layer first; "" is the package's own __init__."""
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module

    @property
    def package(self) -> str:
        """The package a relative import starts from, and whose private submodules this module may use."""
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Import:
    """One imported name: `source` (at `path:line`) depends on the module `target`."""

    source: str
    path: Path
    line: int
    target: str
    name: str
    """What the statement names: `pkg.a.b` for `import pkg.a.b` and for `from pkg.a import b`."""
    private: bool
    """It takes a private name (or private module) of another module."""
    typing_only: bool


def read_package(root: Path) -> dict[str, Module]:
    """Every module of the package in folder `root`, by dotted name."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = Module(name, path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return modules


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _typing_only_lines(tree: ast.Module) -> set[int]:
    """The lines inside the body of an `if TYPE_CHECKING:` (or `if typing.TYPE_CHECKING:`) block."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            for stmt in node.body:
                lines.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    return lines


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _private_module(module: Module, target: str) -> bool:
    """`target` is a private module, or sits in one, that is not a submodule of `module`'s own package."""
    parts = target.split(".")
    return any(_is_private(parts[i]) and ".".join(parts[:i]) != module.package for i in range(1, len(parts)))


def _targets(module: Module, node: ast.Import | ast.ImportFrom, known: set[str]) -> Iterator[tuple[str, str, bool]]:
    """The modules of the package an import statement depends on: (module, name imported, is it private)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            parts = alias.name.split(".")
            found = next((".".join(parts[:n]) for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in known), None)
            if found:
                yield found, alias.name, _private_module(module, alias.name)
        return
    base = _absolute(module, node)
    for alias in node.names:
        name = f"{base}.{alias.name}"
        if name in known:
            yield name, name, _private_module(module, name)
        elif base in known:
            yield base, name, _is_private(alias.name) or _private_module(module, base)


def imports_of(modules: dict[str, Module]) -> list[Import]:
    known = set(modules)
    found = []
    for module in modules.values():
        typing_only = _typing_only_lines(module.tree)
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target, name, private in _targets(module, node, known):
                if target != module.name:
                    line, typing = node.lineno, node.lineno in typing_only
                    found.append(Import(module.name, module.path, line, target, name, private, typing))
    return sorted(found, key=lambda i: (i.source, i.line, i.target))


def _where(imp: Import) -> str:
    return f"{imp.path.relative_to(ROOT) if imp.path.is_relative_to(ROOT) else imp.path}:{imp.line}"


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            nxt = next((s for s in successors if s not in index or s in on_stack), None)
            if nxt is not None and nxt not in index:
                index[nxt] = low[nxt] = len(index)
                stack.append(nxt)
                on_stack.add(nxt)
                work.append((nxt, iter(sorted(graph.get(nxt, ())))))
            elif nxt is not None:
                low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    members = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        members.append(member)
                        if member == node:
                            break
                    if len(members) > 1:
                        found.append(sorted(members))
    return found


def _shortest_cycle(graph: dict[str, set[str]], members: list[str]) -> list[str]:
    """The shortest path from the first member back to itself, staying among `members`."""
    start, inside = members[0], set(members)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & inside):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"{members} is not a cycle")


def _cycles(edges: dict[tuple[str, str], Import], kind: str) -> list[str]:
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    reports = []
    for members in _components(graph):
        cycle = _shortest_cycle(graph, members)
        steps = [edges[a, b] for a, b in pairwise(cycle)]
        text = f"{kind} import cycle {' → '.join(cycle)}:" + "".join(
            f"\n    {_where(s)}: {s.source} imports {s.target}" for s in steps
        )
        rest = sorted(set(members) - set(cycle))
        reports.append(text + (f"\n    (tangled with it: {', '.join(rest)})" if rest else ""))
    return reports


def module_cycles(imports: Iterable[Import]) -> list[str]:
    edges: dict[tuple[str, str], Import] = {}
    for imp in imports:
        if not imp.typing_only:
            edges.setdefault((imp.source, imp.target), imp)
    return _cycles(edges, "module")


def _part(module: str) -> str:
    """The top-level part of the package a module belongs to: `pkg.run.ledger` → `run`, `pkg` → ``."""
    return module.split(".")[1] if "." in module else ""


def package_cycles(imports: Iterable[Import]) -> list[str]:
    edges: dict[tuple[str, str], Import] = {}
    for imp in imports:
        source, target = _part(imp.source), _part(imp.target)
        if not imp.typing_only and source != target:
            edges.setdefault((source or "(package __init__)", target or "(package __init__)"), imp)
    return _cycles(edges, "package")


def upward_imports(imports: Iterable[Import], modules: Iterable[str]) -> list[str]:
    problems = [f"{m}: `{_part(m)}` is in no layer (add it to LAYERS)" for m in modules if _part(m) not in RANK]
    for imp in imports:
        source, target = _part(imp.source), _part(imp.target)
        if source in RANK and target in RANK and RANK[target] > RANK[source]:
            problems.append(
                f"{_where(imp)}: {imp.source} ({source or 'base'}) imports {imp.target} "
                f"from the higher layer {target}" + (" (under TYPE_CHECKING)" if imp.typing_only else "")
            )
    return problems


def private_imports(imports: Iterable[Import]) -> list[str]:
    return [f"{_where(i)}: {i.source} imports {i.name}, which is private to {i.target}" for i in imports if i.private]


def long_functions(modules: Iterable[Module], limit: int = MAX_FUNCTION_LINES) -> list[str]:
    problems = []
    for module in modules:
        for node, qualname in _functions(module.tree, ""):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                where = module.path.relative_to(ROOT) if module.path.is_relative_to(ROOT) else module.path
                problems.append(f"{where}:{node.lineno}: {qualname} is {length} lines (at most {limit})")
    return problems


def hidden_state(modules: Iterable[Module]) -> list[str]:
    """Every `global` statement: module state that functions rebind, which a caller cannot see or reset."""
    problems = []
    for module in modules:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Global):
                where = module.path.relative_to(ROOT) if module.path.is_relative_to(ROOT) else module.path
                problems.append(f"{where}:{node.lineno}: global {', '.join(node.names)}")
    return problems


def _functions(node: ast.AST, prefix: str) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]]:
    """Every function and method under `node`, nested ones too, named like `Class.method.inner`."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            yield child, prefix + child.name
            yield from _functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")
        else:
            yield from _functions(child, prefix)


def _report(problems: list[str]) -> str:
    return f"{len(problems)} found:\n" + "\n".join(problems)


# The package as it is.


@pytest.fixture(scope="module")
def package() -> dict[str, Module]:
    return read_package(PACKAGE)


@pytest.fixture(scope="module")
def imports(package: dict[str, Module]) -> list[Import]:
    return imports_of(package)


def test_every_module_and_every_import_of_the_package_is_read(
    package: dict[str, Module], imports: list[Import]
) -> None:
    assert {m.path for m in package.values()} == set(PACKAGE.rglob("*.py"))
    statements = {
        (path, number)
        for path in PACKAGE.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if line.lstrip().startswith(("from securecart_tf", "import securecart_tf", "from ."))
    }
    assert statements == {(i.path, i.line) for i in imports}


def test_no_module_imports_itself_back(imports: list[Import]) -> None:
    problems = module_cycles(imports)
    assert not problems, _report(problems)


def test_no_package_imports_itself_back(imports: list[Import]) -> None:
    problems = package_cycles(imports)
    assert not problems, _report(problems)


def test_no_module_imports_from_a_higher_layer(imports: list[Import], package: dict[str, Module]) -> None:
    problems = upward_imports(imports, package)
    assert not problems, _report(problems)


def test_no_module_imports_another_modules_private_names(imports: list[Import]) -> None:
    problems = private_imports(imports)
    assert not problems, _report(problems)


def test_every_function_fits_in_80_lines(package: dict[str, Module]) -> None:
    problems = long_functions(package.values())
    assert not problems, _report(problems)


def test_no_function_rebinds_module_state(package: dict[str, Module]) -> None:
    problems = hidden_state(package.values())
    assert not problems, _report(problems)


# Each check on a small made-up package that breaks it, so none of them passes for want of looking.


def fake_package(tmp_path: Path, files: dict[str, str]) -> dict[str, Module]:
    """A package `securecart_tf` in tmp_path: `files` maps paths inside it to their (dedented) source."""
    root = tmp_path / "securecart_tf"
    for rel in ["__init__.py", *files]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or rel in files:
            path.write_text(textwrap.dedent(files.get(rel, "")))
        for parent in path.relative_to(root).parents:
            (root / parent / "__init__.py").touch()
    return read_package(root)


def test_a_cycle_closed_by_an_import_inside_a_function_is_found_and_placed(tmp_path: Path) -> None:
    package = fake_package(
        tmp_path,
        {
            "cli/__init__.py": "from securecart_tf.cli import drift\n\nmain = 1\n",
            "cli/drift.py": '"""Drift."""\n\n\ndef command():\n    from securecart_tf.cli import main\n',
            "cli/options.py": "from securecart_tf.cli import drift\n",
        },
    )
    (problem,) = module_cycles(imports_of(package))
    assert problem.startswith("module import cycle securecart_tf.cli → securecart_tf.cli.drift → securecart_tf.cli:")
    assert f"{tmp_path}/securecart_tf/cli/__init__.py:1: securecart_tf.cli imports securecart_tf.cli.drift" in problem
    assert f"{tmp_path}/securecart_tf/cli/drift.py:5: securecart_tf.cli.drift imports securecart_tf.cli" in problem


def test_a_cycle_through_three_modules_is_found_and_one_way_imports_are_not(tmp_path: Path) -> None:
    package = fake_package(
        tmp_path,
        {
            "run/a.py": "from . import b\n",
            "run/b.py": "from .c import thing\n",
            "run/c.py": "import securecart_tf.run.a\nthing = 1\n",
            "run/d.py": "from securecart_tf.run import a, b, c\n",
        },
    )
    assert module_cycles(imports_of(package)) == [
        "module import cycle securecart_tf.run.a → securecart_tf.run.b → securecart_tf.run.c → securecart_tf.run.a:"
        f"\n    {tmp_path}/securecart_tf/run/a.py:1: securecart_tf.run.a imports securecart_tf.run.b"
        f"\n    {tmp_path}/securecart_tf/run/b.py:1: securecart_tf.run.b imports securecart_tf.run.c"
        f"\n    {tmp_path}/securecart_tf/run/c.py:1: securecart_tf.run.c imports securecart_tf.run.a"
    ]


def test_an_import_for_type_checking_alone_closes_no_cycle_but_must_keep_to_the_layers(tmp_path: Path) -> None:
    package = fake_package(
        tmp_path,
        {
            "config/load.py": (
                "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from securecart_tf.iam.lint import X\n"
            ),
            "iam/lint.py": "from securecart_tf.config import load\n",
        },
    )
    found = imports_of(package)
    assert module_cycles(found) == [] and package_cycles(found) == []
    assert upward_imports(found, package) == [
        f"{tmp_path}/securecart_tf/config/load.py:4: securecart_tf.config.load (config) imports securecart_tf.iam.lint "
        "from the higher layer iam (under TYPE_CHECKING)"
    ]


def test_a_package_cycle_is_found_where_no_module_cycle_is(tmp_path: Path) -> None:
    package = fake_package(
        tmp_path,
        {
            "config/load.py": "from securecart_tf.iam.lint import rules\n",
            "config/schema.py": "",
            "iam/lint.py": "rules = []\n\n\ndef later():\n    from securecart_tf.config import schema\n",
        },
    )
    found = imports_of(package)
    assert module_cycles(found) == []
    assert package_cycles(found) == [
        "package import cycle config → iam → config:"
        f"\n    {tmp_path}/securecart_tf/config/load.py:1: securecart_tf.config.load imports securecart_tf.iam.lint"
        f"\n    {tmp_path}/securecart_tf/iam/lint.py:5: securecart_tf.iam.lint imports securecart_tf.config.schema"
    ]


def test_an_upward_import_is_named_and_downward_ones_are_not(tmp_path: Path) -> None:
    package = fake_package(
        tmp_path,
        {
            "__init__.py": '__version__ = "1"\n',
            "__main__.py": "from securecart_tf.cli import main\n",
            "errors.py": "",
            "cli/__init__.py": "from securecart_tf import __version__\nfrom securecart_tf.run import go\nmain = 1\n",
            "run/__init__.py": (
                "from securecart_tf.errors import Error\n\n\ndef go():\n    from securecart_tf.cli import main\n"
            ),
            "report/__init__.py": "from securecart_tf.drift import scan\n",
            "drift/scan.py": "",
        },
    )
    assert upward_imports(imports_of(package), package) == [
        f"{tmp_path}/securecart_tf/run/__init__.py:5: securecart_tf.run (run) imports securecart_tf.cli "
        "from the higher layer cli"
    ]


def test_a_module_outside_every_layer_is_named(tmp_path: Path) -> None:
    package = fake_package(tmp_path, {"extras/more.py": ""})
    assert upward_imports(imports_of(package), package) == [
        "securecart_tf.extras: `extras` is in no layer (add it to LAYERS)",
        "securecart_tf.extras.more: `extras` is in no layer (add it to LAYERS)",
    ]


def test_a_private_name_or_module_of_another_module_is_named(tmp_path: Path) -> None:
    package = fake_package(
        tmp_path,
        {
            "cli/__init__.py": "_options = 1\nname = 2\n",
            "cli/_shared.py": "",
            "cli/drift.py": (
                "from securecart_tf.cli import _options, name\nfrom . import _shared\nfrom .. import __version__\n"
            ),
            "run/go.py": "from securecart_tf.cli._shared import x\nimport securecart_tf.cli._shared\n",
        },
    )
    assert private_imports(imports_of(package)) == [
        f"{tmp_path}/securecart_tf/cli/drift.py:1: securecart_tf.cli.drift imports securecart_tf.cli._options, "
        "which is private to securecart_tf.cli",
        f"{tmp_path}/securecart_tf/run/go.py:1: securecart_tf.run.go imports securecart_tf.cli._shared.x, "
        "which is private to securecart_tf.cli._shared",
        f"{tmp_path}/securecart_tf/run/go.py:2: securecart_tf.run.go imports securecart_tf.cli._shared, "
        "which is private to securecart_tf.cli._shared",
    ]


def test_a_function_of_81_lines_is_named_and_one_of_80_is_not(tmp_path: Path) -> None:
    def function(name: str, lines: int, indent: str = "") -> str:
        body = "".join(f"{indent}    x = {i}\n" for i in range(lines - 1))
        return f"{indent}def {name}():\n{body}"

    source = (
        function("fits", 80)
        + "\n\nclass Shape:\n    @property\n"
        + function("method", 81, "    ")
        + "\n\nasync def outer():\n"
        + function("inner", 81, "    ")
    )
    package = fake_package(tmp_path, {"model/build.py": source})
    assert long_functions(package.values()) == [
        f"{tmp_path}/securecart_tf/model/build.py:85: Shape.method is 81 lines (at most 80)",
        f"{tmp_path}/securecart_tf/model/build.py:168: outer is 82 lines (at most 80)",
        f"{tmp_path}/securecart_tf/model/build.py:169: outer.inner is 81 lines (at most 80)",
    ]


def test_a_global_statement_is_named(tmp_path: Path) -> None:
    package = fake_package(
        tmp_path,
        {"model/cache.py": "_last = None\n\n\ndef build():\n    global _last\n    _last = 1\n    return _last\n"},
    )
    assert hidden_state(package.values()) == [f"{tmp_path}/securecart_tf/model/cache.py:5: global _last"]
