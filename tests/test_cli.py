"""The console scripts: a config file that cannot be read is one clear line, not a traceback."""

from __future__ import annotations

import os
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
    assert done.stderr == (f"{script}: --config file {str(tmp_path / 'nope.json')!r} was not "
                           "found. Check the path given to --config.\n")


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


@pytest.mark.parametrize(("content", "problem"), [
    (b"[1, 2]", "holds a JSON array, not an object of settings."),
    (b'"x"', "holds a JSON string, not an object of settings."),
    (b'{"access_token": "\xff"}', "is not UTF-8 text."),
    (None, "cannot be read: Is a directory."),
])
def test_a_config_file_that_is_no_object_of_settings_is_one_line(tmp_path, content: bytes | None,
                                                                 problem: str) -> None:
    config = tmp_path / "config.json"
    if content is None:
        config.mkdir()
    else:
        config.write_bytes(content)
    done = subprocess.run([str(venv_bin() / "tap-linkedin-conversions"), "--config",
                           str(config)], input="", capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == f"tap-linkedin-conversions: --config file {str(config)!r} {problem}\n"


def test_an_environment_variable_that_is_no_whole_number_is_named_not_shown(tmp_path) -> None:
    env = {**os.environ, "TARGET_LINKEDIN_CONVERSIONS_ACCESS_TOKEN": "t",
           "TARGET_LINKEDIN_CONVERSIONS_MAX_ATTEMPTS": "a-secret-looking-value"}
    done = subprocess.run([str(venv_bin() / "target-linkedin-conversions"), "--config", "ENV"],
                          input="", capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1
    assert ("environment variable TARGET_LINKEDIN_CONVERSIONS_MAX_ATTEMPTS must be a whole "
            "number (max_attempts)") in done.stderr
    assert "a-secret-looking-value" not in done.stderr and "Traceback" not in done.stderr
