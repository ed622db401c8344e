"""The library's shape: no import circles, and the package docstring lists every module that exists."""
from __future__ import annotations

import ast
from pathlib import Path

import lacibot_lib

PACKAGE = Path(lacibot_lib.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Modules of this package that ``path`` imports (at any depth: lazy imports count too)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("lacibot_lib"):
                for alias in node.names:  # "from . import models" imports the module lacibot_lib.models
                    candidate = f"{target}.{alias.name}"
                    found.add(candidate if _exists(candidate) else target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("lacibot_lib")}
    return {m for m in found if m != name and _exists(m) and m != "lacibot_lib"}


def _exists(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").exists() or (PACKAGE / rel / "__init__.py").exists()


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py") if "metric_scripts" not in p.parts}


def test_no_import_circles():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " → ".join(path + [node, nxt]))
            if nxt not in state:
                visit(nxt, path + [node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_the_checker_finds_a_circle(tmp_path, monkeypatch):
    """The circle check can fail: two modules importing each other are reported."""
    pkg = tmp_path / "lacibot_lib"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from .a import x\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", pkg)
    try:
        test_no_import_circles()
    except AssertionError as err:
        assert "lacibot_lib.a" in str(err) and "lacibot_lib.b" in str(err)
    else:
        raise AssertionError("a circle between a and b was not found")


def test_package_docstring_lists_every_module():
    doc = lacibot_lib.__doc__
    for path in PACKAGE.rglob("*.py"):
        if path.name == "__init__.py" or "metric_scripts" in path.parts:
            continue
        assert f"``{path.stem}``" in doc, f"lacibot_lib/__init__.py does not mention {path.stem}"
