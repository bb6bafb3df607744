"""Cached virtual environments for heavy test servers (one per ``scripts/deps/venvs/NAME.txt``).

A venv lives in ``$LEAKMAP_VENV_DIR/NAME-HASH`` (default ``~/.cache/leakmap/venvs``), HASH
being a digest of the requirements file, so an edited file builds a new venv and an unchanged
one is reused across test sessions and CI runs on the same machine. A venv counts as built only
once its ``.complete`` marker exists (an interrupted build is redone).

``python3 -m tests.venvs ensure [NAME...]`` builds what is missing (in parallel, two at a time);
fixtures call :func:`venv_bin` and skip (a failure in CI) when the venv is absent.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = ["REQUIREMENTS_DIR", "ensure", "venv_bin", "venv_dir"]

REQUIREMENTS_DIR = Path(__file__).resolve().parent.parent / "scripts" / "deps" / "venvs"


def _root() -> Path:
    env = os.environ.get("LEAKMAP_VENV_DIR", "").strip()
    return Path(env) if env else Path.home() / ".cache" / "leakmap" / "venvs"


def _requirements(name: str) -> Path:
    path = REQUIREMENTS_DIR / f"{name}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"no requirements file {path}")
    return path


def venv_dir(name: str) -> Path:
    """Where the venv for ``name`` lives (built or not)."""
    digest = hashlib.sha256(_requirements(name).read_bytes()).hexdigest()[:12]
    return _root() / f"{name}-{digest}"


def venv_bin(name: str, program: str = "python") -> Path | None:
    """The path of ``program`` in the built venv ``name``, or None when it is not built."""
    directory = venv_dir(name)
    exe = directory / "bin" / program
    if (directory / ".complete").exists() and exe.exists():
        return exe
    return None


def _build(name: str) -> str:
    directory = venv_dir(name)
    if (directory / ".complete").exists():
        return f"{name}: cached ({directory})"
    if directory.exists():
        shutil.rmtree(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True)
    pip = [str(directory / "bin" / "python"), "-m", "pip", "install", "-q"]
    pip += ["--disable-pip-version-check", "-r", str(_requirements(name))]
    proc = subprocess.run(pip, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        raise RuntimeError(f"{name}: pip install failed:\n{tail}")
    (directory / ".complete").write_text("ok\n")
    return f"{name}: built ({directory})"


def ensure(names: list[str] | None = None) -> int:
    """Build the named venvs (all when None); returns a process exit code."""
    if names is None:
        names = sorted(p.stem for p in REQUIREMENTS_DIR.glob("*.txt"))
    status = 0
    with ThreadPoolExecutor(max_workers=2) as pool:
        for name, future in [(n, pool.submit(_build, n)) for n in names]:
            try:
                print(f"venvs: {future.result()}", flush=True)
            except Exception as exc:
                print(f"venvs: {name}: {exc}", file=sys.stderr, flush=True)
                status = 1
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.venvs")
    parser.add_argument("command", choices=["ensure", "path"])
    parser.add_argument("names", nargs="*")
    args = parser.parse_args(argv)
    if args.command == "path":
        for name in args.names:
            print(venv_dir(name))
        return 0
    return ensure(args.names or None)


if __name__ == "__main__":
    sys.exit(main())
