"""The layout rules a reader relies on, checked: small modules, one-paragraph package docs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "chatconduit"
MAX_LINES = 500
MODULES = sorted(SRC.rglob("*.py"))
PACKAGES = [path for path in MODULES if path.name == "__init__.py"]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_is_over_the_line_limit(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(SRC)} has {lines} lines; split it"


@pytest.mark.parametrize("path", PACKAGES, ids=lambda p: str(p.parent.relative_to(SRC.parent)))
def test_package_docstrings_are_one_paragraph(path: Path) -> None:
    # The module map lives in docs/architecture.md only; a package says what it is:
    # a summary line and at most one paragraph after it.
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring, f"{path} has no docstring"
    blocks = [block for block in docstring.strip().split("\n\n") if block.strip()]
    assert len(blocks) <= 2, f"{path}: the docstring has {len(blocks)} paragraphs"
