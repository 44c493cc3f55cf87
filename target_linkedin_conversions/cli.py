"""Console-script entry points: the SDK's command line, with unreadable config files reported in
one line instead of a traceback.

singer-sdk reads `--config` files before the plugin starts, outside the plugin's own error
handling; a mistyped path or a stray comma there is the commonest first-run mistake.
"""

from __future__ import annotations

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
    except (json.JSONDecodeError, simplejson.JSONDecodeError) as exc:
        sys.exit(f"{prog}: a --config file is not valid JSON (line {exc.lineno}, column "
                 f"{exc.colno}: {exc.msg}).")


def target_main() -> None:
    """`target-linkedin-conversions`."""
    from target_linkedin_conversions.target import TargetLinkedInConversions

    _run(TargetLinkedInConversions, "target-linkedin-conversions")


def tap_main() -> None:
    """`tap-linkedin-conversions`."""
    from target_linkedin_conversions.tap import TapLinkedInConversions

    _run(TapLinkedInConversions, "tap-linkedin-conversions")
