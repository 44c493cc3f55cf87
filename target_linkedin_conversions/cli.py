"""Console-script entry points: the SDK's command line, with unreadable config files reported in
one line instead of a traceback.

singer-sdk reads `--config` files before the plugin starts, outside the plugin's own error
handling; a mistyped path or a stray comma there is the commonest first-run mistake.
"""

from __future__ import annotations

import itertools
import json
import sys
import typing as t

import simplejson  # what singer-sdk reads config files with

if t.TYPE_CHECKING:
    from singer_sdk.plugin_base import PluginBase


def _run(plugin: type[PluginBase], prog: str) -> None:
    try:
        plugin.cli()
    except FileNotFoundError as exc:
        sys.exit(f"{prog}: {exc} Check the path given to --config.")
    except (json.JSONDecodeError, simplejson.JSONDecodeError):
        sys.exit(f"{prog}: {_unreadable_config(sys.argv[1:])}")


def _unreadable_config(argv: t.Sequence[str]) -> str:
    """Which `--config` file in ARGV is not JSON, and where (the parser's message names no
    file, and shows no value: a config file holds secrets)."""
    paths = [value for flag, value in itertools.pairwise(argv) if flag == "--config"]
    paths += [arg.split("=", 1)[1] for arg in argv if arg.startswith("--config=")]
    for path in paths:
        if path == "ENV":
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                json.load(handle)
        except json.JSONDecodeError as exc:
            what = exc.msg.removesuffix(" at")  # "Invalid control character at"
            return (f"--config file {path!r} is not valid JSON: {what} (line {exc.lineno}, "
                    f"column {exc.colno}).")
        except (OSError, UnicodeError):
            continue
    return "a --config file is not valid JSON."


def target_main() -> None:
    """`target-linkedin-conversions`."""
    from target_linkedin_conversions.target import TargetLinkedInConversions

    _run(TargetLinkedInConversions, "target-linkedin-conversions")


def tap_main() -> None:
    """`tap-linkedin-conversions`."""
    from target_linkedin_conversions.tap import TapLinkedInConversions

    _run(TapLinkedInConversions, "tap-linkedin-conversions")
