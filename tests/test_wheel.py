"""The wheel users install: it builds, installs into a clean venv, and its commands work.

The rest of the suite runs against the editable install in .venv, which would hide a module
left out of the wheel, a console script pointing at a wrong path, or a version that only the
source tree knows. So this builds the wheel as `pip` would, installs it (with its dependencies
from the package index, as a user gets them) into a fresh venv, and runs every console script
from outside the checkout. Slow (a fresh venv), so it is marked `slow`.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import typing as t
import zipfile

import pytest
import tomllib

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
VERSION = PROJECT["version"]


def run(command: list[str], cwd: pathlib.Path, timeout: int = 600) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False,
                            timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command[-3:])} failed:\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """`pip wheel .` with only the project itself, into a temp dir."""
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist),
         str(ROOT)], cwd=dist)
    [built] = dist.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def venv_bin(wheel: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A new venv with the wheel installed, as `pip install dist/*.whl` does for a user."""
    venv = tmp_path_factory.mktemp("wheel-venv")
    run([sys.executable, "-m", "venv", str(venv)], cwd=venv)
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        cwd=venv, timeout=900)
    return venv / "bin"


def test_wheel_holds_the_package_and_its_entry_points(wheel: pathlib.Path) -> None:
    assert wheel.name == f"target_linkedin_conversions-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read(
            f"target_linkedin_conversions-{VERSION}.dist-info/entry_points.txt").decode()
    assert "target_linkedin_conversions/emulator/server.py" in names
    assert not [name for name in names if name.startswith(("tests/", "samples/", "scripts/"))]
    for script in PROJECT["scripts"]:
        assert f"{script} = " in entry_points


def test_installed_from_the_wheel_not_the_checkout(venv_bin: pathlib.Path) -> None:
    location = run([str(venv_bin / "python"), "-c",
                    "import target_linkedin_conversions as p; print(p.__file__)"],
                   cwd=venv_bin.parent)
    assert pathlib.Path(location.strip()).is_relative_to(venv_bin.parent)


@pytest.mark.parametrize("plugin", ["target-linkedin-conversions", "tap-linkedin-conversions"])
def test_plugins_report_the_package_version(venv_bin: pathlib.Path, plugin: str) -> None:
    version = run([str(venv_bin / plugin), "--version"], cwd=venv_bin.parent)
    assert f"{plugin} v{VERSION}" in version

    about: dict[str, t.Any] = json.loads(
        run([str(venv_bin / plugin), "--about", "--format=json"], cwd=venv_bin.parent))
    assert about["name"] == plugin
    assert about["version"] == VERSION
    assert about["settings"]["properties"]["access_token"]["secret"] is True


@pytest.mark.parametrize("tool", ["linkedin-conversions-emulator", "linkedin-conversions-replay"])
def test_tools_start(venv_bin: pathlib.Path, tool: str) -> None:
    assert "usage:" in run([str(venv_bin / tool), "--help"], cwd=venv_bin.parent)
