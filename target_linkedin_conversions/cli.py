"""Console-script entry points: the SDK's command line, with unusable config files reported in
one line instead of a traceback.

singer-sdk reads `--config` files before the plugin starts, outside the plugin's own error
handling; a mistyped path or a stray comma there is the commonest first-run mistake. The files
are checked here first, and nothing of their content is shown: they hold secrets.
"""

from __future__ import annotations

import itertools
import json
import sys
import typing as t

if t.TYPE_CHECKING:
    from singer_sdk.plugin_base import PluginBase


def _run(plugin: type[PluginBase], prog: str) -> None:
    problem = config_file_problem(sys.argv[1:])
    if problem:
        sys.exit(f"{prog}: {problem}")
    plugin.cli()


def config_file_problem(argv: t.Sequence[str]) -> str | None:
    """Why a `--config` file in ARGV cannot be used as settings, or None."""
    paths = [value for flag, value in itertools.pairwise(argv) if flag == "--config"]
    paths += [arg.split("=", 1)[1] for arg in argv if arg.startswith("--config=")]
    for path in paths:
        if path == "ENV":
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                settings = json.load(handle)
        except FileNotFoundError:
            return f"--config file {path!r} was not found. Check the path given to --config."
        except OSError as exc:
            return f"--config file {path!r} cannot be read: {exc.strerror or type(exc).__name__}."
        except UnicodeDecodeError:
            return f"--config file {path!r} is not UTF-8 text."
        except json.JSONDecodeError as exc:
            what = exc.msg.removesuffix(" at")  # "Invalid control character at"
            return (f"--config file {path!r} is not valid JSON: {what} (line {exc.lineno}, "
                    f"column {exc.colno}).")
        if not isinstance(settings, dict):
            kind = _JSON_KINDS.get(type(settings), "value")
            return f"--config file {path!r} holds a JSON {kind}, not an object of settings."
    return None


_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean",
               type(None): "null"}


def target_main() -> None:
    """`target-linkedin-conversions`."""
    from target_linkedin_conversions.target import TargetLinkedInConversions

    _run(TargetLinkedInConversions, "target-linkedin-conversions")


def tap_main() -> None:
    """`tap-linkedin-conversions`."""
    from target_linkedin_conversions.tap import TapLinkedInConversions

    _run(TapLinkedInConversions, "tap-linkedin-conversions")
