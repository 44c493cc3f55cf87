"""The console scripts: a config file that cannot be read is one clear line, not a traceback."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest


def venv_bin() -> pathlib.Path:
    """The console scripts installed beside the interpreter running the tests."""
    return pathlib.Path(sys.executable).parent


@pytest.mark.parametrize("script", ["target-linkedin-conversions", "tap-linkedin-conversions"])
def test_a_missing_config_file_is_one_line(tmp_path, script: str) -> None:
    done = subprocess.run([str(venv_bin() / script), "--config", str(tmp_path / "nope.json")],
                          input="", capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == (f"{script}: File at '{tmp_path / 'nope.json'}' was not found. "
                           "Check the path given to --config.\n")


def test_a_config_file_that_is_not_json_is_one_line(tmp_path) -> None:
    good, config = tmp_path / "good.json", tmp_path / "config.json"
    good.write_text('{"conversion_rule_id": "104001"}')
    config.write_text('{"access_token": "s3cret-token\n",\n "api_base_url": }')
    done = subprocess.run([str(venv_bin() / "target-linkedin-conversions"), "--config",
                           str(good), "--config", str(config)], input="", capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == (f"target-linkedin-conversions: --config file {str(config)!r} is not "
                           "valid JSON: Invalid control character (line 1, column 31).\n")
    assert "s3cret" not in done.stderr
