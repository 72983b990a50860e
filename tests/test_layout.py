"""The layout holds (issue 16): one home per stage, data flowing one way, a thin pipeline.

Read from the source with ``ast`` (nothing is imported), so a layering slip fails here with the module and line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "caseaudit_batch"
TOP_LEVEL_MODULES = {"__init__", "cli", "pipeline", "session"}
STAGE_PACKAGES = {"allocation", "ingest", "moderation", "actions", "followups", "reports", "retention"}
MAX_LINES = 700
PIPELINE_MAX_LINES = 300
#: Declarative catalogues, exempt from the module size limit: data, one entry after another.
CATALOGUES = {"caseaudit_batch.core.messages"}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str  # the module imported (a name imported from a package resolves to its module where one exists)
    line: int
    top_level: bool  # at module level (not inside a function), outside ``if TYPE_CHECKING:``


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _walk(tree: ast.Module) -> Iterator[tuple[ast.AST, bool]]:
    """Every node, with whether it runs when the module is imported (top level, not under TYPE_CHECKING)."""

    def visit(node: ast.AST, top: bool) -> Iterator[tuple[ast.AST, bool]]:
        for child in ast.iter_child_nodes(node):
            inner = top and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            inner = inner and not _type_checking_block(child)
            yield child, inner
            yield from visit(child, inner)

    yield from visit(tree, True)


def imports_of(name: str) -> list[Import]:
    path = MODULES[name]
    tree = ast.parse(path.read_text("utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node, top in _walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("caseaudit_batch"):
                    found.append(Import(name, alias.name, node.lineno, top))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            if not base.startswith("caseaudit_batch"):
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.append(Import(name, candidate if candidate in MODULES else base, node.lineno, top))
    return found


ALL_IMPORTS = [imp for name in sorted(MODULES) for imp in imports_of(name)]


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def _graph(*, lazy_too: bool) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for imp in ALL_IMPORTS:
        if (imp.top_level or lazy_too) and imp.imported != imp.importer and imp.imported in MODULES:
            # Importing a package runs its __init__ only; a module of the package is its own node.
            edges.setdefault(imp.importer, set()).add(imp.imported)
    return edges


def test_the_import_graph_has_no_cycle() -> None:
    """Data flows one way: no chain of imports, at module level or inside functions, comes back on itself."""
    assert _cycle(_graph(lazy_too=False)) is None, f"import cycle: {' -> '.join(_cycle(_graph(lazy_too=False)) or [])}"
    cycle = _cycle(_graph(lazy_too=True))
    assert cycle is None, f"import cycle (counting imports inside functions): {' -> '.join(cycle or [])}"


def test_only_the_cli_and_the_demo_import_the_pipeline() -> None:
    importers = {imp.importer for imp in ALL_IMPORTS if imp.imported == "caseaudit_batch.pipeline"}
    allowed = {"caseaudit_batch.cli"} | {m for m in MODULES if m.startswith("caseaudit_batch.demo")}
    assert importers <= allowed, f"only cli.py and the demo may import pipeline: {sorted(importers - allowed)}"


def test_no_stage_package_imports_another_stages_stage_module() -> None:
    wrong = []
    for imp in ALL_IMPORTS:
        parts = imp.importer.split(".")
        target = imp.imported.split(".")
        other_stage = len(target) == 3 and target[2] == "stage" and target[1] in STAGE_PACKAGES
        if other_stage and len(parts) >= 2 and parts[1] in STAGE_PACKAGES and parts[1] != target[1]:
            wrong.append(f"{imp.importer} (line {imp.line}) imports {imp.imported}")
    assert not wrong, "a stage's stage.py is its command; other stages use its lower modules:\n" + "\n".join(wrong)


def test_the_pipeline_runs_no_sql_and_builds_no_workbook() -> None:
    path = MODULES["caseaudit_batch.pipeline"]
    tree = ast.parse(path.read_text("utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {n for n in names if n.split(".")[0] in {"sqlalchemy", "sqlite3", "openpyxl", "xlsxwriter", "docx"}}
    calls = {
        node.func.attr for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & {"execute", "executemany", "exec_driver_sql", "scalar", "save"}, calls
    assert "caseaudit_batch.core.register" not in {imp.imported for imp in imports_of("caseaudit_batch.pipeline")}


def test_the_pipeline_is_short() -> None:
    lines = len(MODULES["caseaudit_batch.pipeline"].read_text("utf-8").splitlines())
    assert lines <= PIPELINE_MAX_LINES, f"pipeline.py has {lines} lines: it should only order the stages"


@pytest.mark.parametrize("name", sorted(set(MODULES) - CATALOGUES))
def test_no_module_is_over_700_lines(name: str) -> None:
    lines = len(MODULES[name].read_text("utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(ROOT)} has {lines} lines (at most {MAX_LINES}): split it"


def test_the_only_top_level_modules_are_the_shell_the_pipeline_and_the_session() -> None:
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top == TOP_LEVEL_MODULES, f"everything else lives in a package: {sorted(top - TOP_LEVEL_MODULES)}"
    for package in STAGE_PACKAGES - {"followups"}:
        assert (PACKAGE / package / "stage.py").is_file(), f"{package}/ has no stage.py for its command"


def test_the_checks_see_real_imports() -> None:
    """The graph is not empty: the checks above would pass vacuously on a parser that found nothing."""
    assert len(MODULES) > 40
    assert any(imp.imported == "caseaudit_batch.pipeline" for imp in ALL_IMPORTS)
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


# --- Every user-facing line comes from the message catalogue ---------------------------------------------------
#: Where ``lines`` are the lines of an e-mail being built (headers and MIME parts), not lines a person reads.
MIME_BUILDERS = {"caseaudit_batch.core.notify", "caseaudit_batch.ingest.feedback"}
SUMMARY_TARGETS = ("lines", "attention")


def _literal_words(node: ast.AST) -> bool:
    """Whether ``node`` puts words of its own on screen: a literal (or f-string) with letters in it, anywhere
    outside a ``messages.text``/``render`` call. Indentation and punctuation are allowed."""
    if isinstance(node, ast.Call):
        if ast.unparse(node.func).startswith("messages."):
            return False
        return any(_literal_words(a) for a in node.args)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(c.isalpha() for c in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(_literal_words(v) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        return _literal_words(node.value)
    if isinstance(node, ast.BinOp):
        return _literal_words(node.left) or _literal_words(node.right)
    if isinstance(node, ast.List | ast.Tuple):
        return any(_literal_words(e) for e in node.elts)
    if isinstance(node, ast.ListComp | ast.GeneratorExp):
        return _literal_words(node.elt)
    if isinstance(node, ast.IfExp):
        return _literal_words(node.body) or _literal_words(node.orelse)
    return False


def _screen_text(name: str) -> list[str]:
    """Lines of module ``name`` that add literal words to a result's ``lines``/``attention`` or print them."""
    tree = ast.parse(MODULES[name].read_text("utf-8"))
    mime = name in MIME_BUILDERS
    found = []
    for node in ast.walk(tree):
        said: ast.AST | None = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = ast.unparse(node.func.value)
            to_summary = owner.split(".")[-1] in SUMMARY_TARGETS and ("." in owner or not mime)
            if node.func.attr in ("append", "extend", "insert") and to_summary and node.args:
                said = node.args[-1]
            elif owner == "ui" and node.func.attr in ("say", "warn") and node.args:
                said = node.args[0]
        elif isinstance(node, ast.AugAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AugAssign) else node.targets
            for target in targets:
                attr = isinstance(target, ast.Attribute) and target.attr in SUMMARY_TARGETS
                local = isinstance(target, ast.Name) and target.id in SUMMARY_TARGETS and not mime
                if attr or local:
                    said = node.value
        if said is not None and _literal_words(said):
            found.append(f"{MODULES[name].relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:100]}")
    return found


def test_every_line_a_command_prints_comes_from_the_catalogue() -> None:
    """Summaries, lists and exit meanings are catalogued (``core/messages.py``): none is written in a stage."""
    found = [line for name in sorted(MODULES) for line in _screen_text(name)]
    assert not found, "put these in the message catalogue:\n" + "\n".join(found)


def test_the_catalogue_check_catches_literal_text(tmp_path: Path) -> None:
    tree = ast.parse('result.lines.append(f"Made {n} forms.")\nresult.lines.append(messages.text("SUM001"))')
    calls = [
        node for node in ast.walk(tree) if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("append")
    ]
    assert [_literal_words(call.args[0]) for call in calls] == [True, False]
