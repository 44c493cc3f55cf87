#!/usr/bin/env python3
"""Developer entry point: `python3 dev.py sample` and `python3 dev.py test [pytest args]`.

Stdlib only, so a fresh machine needs nothing but python3 >= 3.11: both commands first make
sure `.venv` exists with the project installed (editable, with test extras), reinstalling only
when pyproject.toml changed since the last install.

`sample` runs the whole pipeline the way a user would: the sample Singer tap piped into the
target, which sends to the local LinkedIn emulator; then it asks the emulator what it accepted.
"""

from __future__ import annotations

import sys

if sys.version_info < (3, 11):  # before any import or syntax that needs 3.11
    sys.exit(
        "dev.py needs Python 3.11 or newer; this is Python "
        + ".".join(str(part) for part in sys.version_info[:3])
        + ". Install a newer python3 and run the command again."
    )

import collections
import hashlib
import json
import os
import pathlib
import queue
import re
import subprocess
import tempfile
import threading
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
VENV_PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".dev-py-installed"  # sha256 of the pyproject.toml last installed

OUTPUT = pathlib.Path("output")  # relative to ROOT, as the sample config's paths are
REJECTS = OUTPUT / "rejects.jsonl"
DRY_RUN = OUTPUT / "dry-run.jsonl"
STATE = OUTPUT / "state.json"
EMULATOR_LOG = OUTPUT / "emulator.log"
SAMPLE_TOKEN = "sample-token"  # the emulator's fake token, as in sample_config.json
EMULATOR_START_SECONDS = 30


class DevError(Exception):
    """A step failed in a way the user can fix; the message says how."""


def main(argv: list[str]) -> int:
    """Dispatch to a command; print usage for anything else."""
    if not argv or argv[0] not in COMMANDS:
        print("usage: python3 dev.py sample | test [pytest args]", file=sys.stderr)
        return 2
    os.chdir(ROOT)
    try:
        ensure_venv()
        return COMMANDS[argv[0]](argv[1:])
    except DevError as exc:
        print(f"dev.py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# -- the virtualenv ------------------------------------------------------------------------------


def ensure_venv() -> None:
    """Create .venv and install the project when missing or when pyproject.toml changed."""
    if not VENV_PYTHON.exists():
        _check_venv_module()
        print("Creating .venv (first run only) ...", file=sys.stderr)
        _run([sys.executable, "-m", "venv", str(VENV)],
             "could not create .venv. On Debian/Ubuntu install the venv module first: "
             "sudo apt-get install python3-venv")
        _run([str(VENV_PYTHON), "-m", "ensurepip", "--upgrade", "--default-pip"],
             "pip is missing in .venv and ensurepip could not install it. On Debian/Ubuntu: "
             "sudo apt-get install python3-venv python3-pip", quiet=True, optional=True)
        _run([str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
             "pip could not upgrade itself in .venv (is the network reachable?)")

    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text(encoding="utf-8").strip() == wanted:
        return
    print("Installing the project and its test tools into .venv ...", file=sys.stderr)
    _run([str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "-e", ".[test]"],
         "pip install -e '.[test]' failed; see pip's output above")
    STAMP.write_text(wanted + "\n", encoding="utf-8")


def _check_venv_module() -> None:
    """Fail with an install hint before venv prints its own, less helpful traceback."""
    try:
        import ensurepip  # noqa: F401
        import venv  # noqa: F401
    except ImportError:
        raise DevError(
            "this python3 has no venv/ensurepip module. On Debian/Ubuntu: "
            "sudo apt-get install python3-venv; on Fedora: sudo dnf install python3-pip"
        ) from None


def _run(command: list[str], hint: str, *, quiet: bool = False, optional: bool = False) -> None:
    output = subprocess.DEVNULL if quiet else None
    result = subprocess.run(command, check=False, stdout=output, stderr=output)
    if result.returncode != 0 and not optional:
        raise DevError(hint)


# -- commands ------------------------------------------------------------------------------------


def test(args: list[str]) -> int:
    """Run the test suite with pytest inside .venv."""
    return subprocess.run([str(VENV_PYTHON), "-m", "pytest", *args], check=False).returncode


def sample(args: list[str]) -> int:
    """Sample tap → target → local emulator, then report what the emulator accepted."""
    if args:
        raise DevError("sample takes no arguments")
    OUTPUT.mkdir(exist_ok=True)
    for stale in (REJECTS, DRY_RUN, STATE):  # the target appends; start each run afresh
        stale.unlink(missing_ok=True)

    with open(EMULATOR_LOG, "w", encoding="utf-8") as log, \
            tempfile.TemporaryDirectory(prefix="linkedin-sample-") as tmp:
        emulator = subprocess.Popen(
            [str(BIN / "linkedin-conversions-emulator"), "--port", "0", "--token", SAMPLE_TOKEN],
            stdout=subprocess.PIPE, stderr=log, text=True,
        )
        try:
            url = _emulator_url(emulator)
            overrides = pathlib.Path(tmp) / "emulator.json"
            overrides.write_text(json.dumps({
                "api_base_url": url,
                "rejects_path": str(REJECTS),
                "dry_run_path": str(DRY_RUN),
            }), encoding="utf-8")
            print(f"Emulator listening on {url} (log: {EMULATOR_LOG})", file=sys.stderr)
            pipeline_ok = _run_pipeline(overrides)
            accepted = _get_json(url + "/__emulator/events")
        finally:
            emulator.terminate()
            try:
                emulator.wait(timeout=5)
            except subprocess.TimeoutExpired:
                emulator.kill()
                emulator.wait()

    print(_report(accepted, _rejects_by_reason()))
    return 0 if pipeline_ok and accepted["elements"] else 1


COMMANDS = {"sample": sample, "test": test}


# -- sample job pieces ---------------------------------------------------------------------------


def _emulator_url(emulator: subprocess.Popen[str]) -> str:
    """The URL from the emulator's first stdout line, read with a timeout so a hang fails."""
    lines: queue.Queue[str] = queue.Queue()
    stdout = emulator.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=EMULATOR_START_SECONDS)
    except queue.Empty:
        raise DevError(f"the emulator did not start within {EMULATOR_START_SECONDS} s; "
                       f"see {EMULATOR_LOG}") from None
    match = re.search(r"listening on (http://\S+)", line)
    if match is None:
        raise DevError(f"the emulator did not start; see {EMULATOR_LOG}")
    return match.group(1)


def _run_pipeline(overrides: pathlib.Path) -> bool:
    """`tap | target`, the target's log on our stderr and its STATE in output/state.json."""
    tap = subprocess.Popen([str(VENV_PYTHON), "samples/tap_sample.py"], stdout=subprocess.PIPE)
    with open(STATE, "w", encoding="utf-8") as state:
        target = subprocess.Popen(
            [str(BIN / "target-linkedin-conversions"),
             "--config", "sample_config.json", "--config", str(overrides)],
            stdin=tap.stdout, stdout=state,
        )
        tap.stdout.close()  # only the target reads it now: the tap sees it exit early
        target_code = target.wait()
    tap_code = tap.wait()
    if tap_code != 0:
        print(f"The sample tap failed (exit code {tap_code}).", file=sys.stderr)
    if target_code != 0:
        print(f"The target failed (exit code {target_code}); its log is above.", file=sys.stderr)
    return tap_code == 0 and target_code == 0


def _get_json(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)
    except OSError as exc:
        raise DevError(f"cannot read {url}: {exc}; see {EMULATOR_LOG}") from None


def _rejects_by_reason() -> collections.Counter[str]:
    if not REJECTS.exists():
        return collections.Counter()
    with open(REJECTS, encoding="utf-8") as rows:
        return collections.Counter(json.loads(row)["reason"] for row in rows if row.strip())


def _report(accepted: dict, rejects: collections.Counter[str]) -> str:
    """One human paragraph: what LinkedIn (the emulator) got, and where the rejects are."""
    per_rule = collections.Counter(
        item["event"]["conversion"].rsplit(":", 1)[-1] for item in accepted["elements"]
    )
    rules = ", ".join(f"{rule}: {count}" for rule, count in sorted(per_rule.items()))
    text = (f"\nThe emulator accepted {sum(per_rule.values())} events for {len(per_rule)} "
            f"conversion rules ({rules})" if per_rule else "\nThe emulator accepted no events")
    if accepted.get("duplicateEventIds"):
        text += f", {accepted['duplicateEventIds']} of them repeating an earlier eventId"
    total = sum(rejects.values())
    if total:
        reasons = ", ".join(f"{reason}={count}" for reason, count in sorted(rejects.items()))
        text += f"; {total} records were rejected ({reasons}) — see {REJECTS}"
    return text + "."


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
