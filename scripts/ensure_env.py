"""Create or update the project's virtualenv (.venv) when its pinned requirements changed.

Run by ``make setup`` (and so by ``make report`` and ``make test``) with the
system Python 3.11. The venv is (re)installed only when ``requirements.lock``,
``pyproject.toml`` or the Python version differ from what the last install
recorded in ``.venv/.installed``, so ``make -B report`` does not reinstall it.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".installed"


def _python() -> Path:
    return VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def _fingerprint() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def main() -> int:
    if sys.version_info[:2] != (3, 11):
        print(f"Python 3.11 is required, found {sys.version.split()[0]}", file=sys.stderr)
        return 1
    wanted = _fingerprint()
    if _python().is_file() and STAMP.is_file() and STAMP.read_text(encoding="utf-8").strip() == wanted:
        return 0
    print("installing the pinned dependencies into .venv (once; about 1-2 minutes) ...", flush=True)
    if not _python().is_file():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-r", str(ROOT / "requirements.lock")], check=True, cwd=ROOT)
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", "-e", str(ROOT)], check=True, cwd=ROOT)
    subprocess.run([str(_python()), "-m", "analysis", "kernel"], check=True, cwd=ROOT)
    STAMP.write_text(wanted + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
