"""Issue 16, install truth: dev.py checks the interpreter and rebuilds a broken .venv;
the core install imports; missing extras are named.

dev.py is exercised on a copy in a temporary directory (its ROOT is where the file
is), with real interpreters and real venvs; nothing here touches the project's .venv.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def dev_copy(tmp_path: Path) -> ModuleType:
    shutil.copy(ROOT / "dev.py", tmp_path / "dev.py")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    spec = importlib.util.spec_from_file_location(f"dev_{tmp_path.name}", tmp_path / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def older_python() -> str | None:
    """A working Python older than 3.11 (pyenv shims may exist without one behind them)."""
    pyenv = Path.home() / ".pyenv" / "versions"
    candidates = [str(p / "bin" / "python") for p in sorted(pyenv.glob("3.*"))]
    candidates += [w for n in ("python3.10", "python3.9") if (w := shutil.which(n))]
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info < (3, 11))"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate
    return None


def test_dev_py_refuses_an_old_interpreter_before_making_anything(tmp_path: Path) -> None:
    python = older_python()
    if python is None:
        pytest.skip("no Python older than 3.11 on this machine")
    shutil.copy(ROOT / "dev.py", tmp_path / "dev.py")
    done = subprocess.run(
        [python, "dev.py", "demo"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "needs Python 3.11 or newer" in done.stderr
    assert not (tmp_path / ".venv").exists()


def test_check_interpreter_names_the_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = dev_copy(tmp_path)
    dev.check_interpreter()  # this one is fine
    monkeypatch.setattr(dev.sys, "version_info", (3, 10, 4, "final", 0))
    with pytest.raises(SystemExit, match=r"needs Python 3\.11 or newer"):
        dev.check_interpreter()


def test_a_venv_of_a_removed_python_is_found_unusable(tmp_path: Path) -> None:
    dev = dev_copy(tmp_path)
    assert not dev.venv_is_usable()  # no .venv at all
    venv.EnvBuilder(with_pip=False, symlinks=True).create(tmp_path / ".venv")
    assert dev.venv_is_usable()
    python = tmp_path / ".venv" / "bin" / "python"
    python.unlink()
    python.symlink_to(tmp_path / "gone" / "python3.9")  # the Python that made it is gone
    assert not dev.venv_is_usable()


def test_stamps_say_which_extras_are_installed(tmp_path: Path) -> None:
    dev = dev_copy(tmp_path)
    stamp = tmp_path / "stamp"
    assert dev.installed_extras(stamp, "abc") == set()
    stamp.write_text("abc")  # what dev.py wrote before: it always installed [dev]
    assert dev.installed_extras(stamp, "abc") == {"dev"}
    stamp.write_text(json.dumps({"pyproject": "abc", "extras": ["cli"]}))
    assert dev.installed_extras(stamp, "abc") == {"cli"}
    assert dev.installed_extras(stamp, "changed") == set()  # pyproject.toml changed
    stamp.write_text("{not json")
    assert dev.installed_extras(stamp, "abc") == set()


def test_server_helpers_name_the_missing_extra() -> None:
    code = (
        "import sys; sys.modules['fastapi'] = None\n"
        "from chatconduit import *\n"
        "from chatconduit.server import EventBuilder\n"  # no extra needed
        "try:\n"
        "    from chatconduit.server import chat_router\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert done.returncode == 0, done.stderr
    assert "needs FastAPI" in done.stdout and "pip install fastapi" in done.stdout
