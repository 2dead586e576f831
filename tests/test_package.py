"""The package: every module loads on first use; importing the package alone is cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

import analysis


@pytest.mark.parametrize("name", analysis._MODULES)
def test_each_module_is_reachable_from_the_package(name):
    module = getattr(analysis, name)
    assert module.__name__ == f"analysis.{name}"
    assert module.__doc__, f"analysis.{name} starts with a docstring saying its job"
    assert hasattr(module, "__all__"), f"analysis.{name} declares __all__"


def test_every_module_file_is_listed():
    from pathlib import Path

    files = {p.stem for p in Path(analysis.__file__).parent.glob("*.py") if not p.stem.startswith("_")}
    assert files == set(analysis._MODULES)


def test_importing_the_package_loads_no_heavy_dependency():
    code = "import sys, analysis; print(sorted(m for m in ('pandas', 'jieba', 'sklearn', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'tables'"):
        analysis.tables  # noqa: B018
