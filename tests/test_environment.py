"""Set-up files agree: pyproject, environment.yml and the lock file pin the same versions."""

from __future__ import annotations

import re
import tomllib

import yaml

from analysis import paths


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def _pyproject_pins():
    deps = tomllib.loads((paths.PROJECT_ROOT / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
    pins = _pins(deps)
    assert len(pins) == len(deps), "every dependency in pyproject.toml must be pinned with =="
    return pins


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((paths.PROJECT_ROOT / "environment.yml").read_text("utf-8"))
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda_python = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert conda_python == ["python=3.11"]
    assert _pins(pip_section) == _pyproject_pins()


def test_lock_file_pins_the_same_versions():
    lock = _pins((paths.PROJECT_ROOT / "requirements.lock").read_text("utf-8").splitlines())
    for name, version in _pyproject_pins().items():
        assert lock.get(name) == version, f"{name}: pyproject {version}, requirements.lock {lock.get(name)}"
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.+\-]*", v) for v in lock.values())
