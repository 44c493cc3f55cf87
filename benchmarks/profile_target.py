"""Run the target's CLI in this process under a profiler and write the top costs to a report.

cProfile (stdlib) by default; pyinstrument when asked and installed (`.venv/bin/pip install
pyinstrument`). Both see only the main thread: work the target moves to sender threads shows
up as waiting, not as the cost of encoding or HTTP, so profile with a synchronous target, or
read the sender's share from the wall-clock difference.

Usage: python benchmarks/profile_target.py [--profiler cprofile|pyinstrument] --report FILE
       -- --config CONFIG < INPUT
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import typing as t

TOP = 25


def run_cli(target_args: list[str]) -> None:
    """The console script's entry point, with its exit turned into a return."""
    from target_linkedin_conversions.target import TargetLinkedInConversions

    sys.argv = ["target-linkedin-conversions", *target_args]
    try:
        TargetLinkedInConversions.cli()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise


def with_cprofile(target_args: list[str]) -> str:
    """Top entries by cumulative and by own time (tottime)."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        run_cli(target_args)
    finally:
        profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    for order in ("cumulative", "tottime"):
        text.write(f"\n=== top {TOP} by {order} ===\n")
        stats.sort_stats(order).print_stats(TOP)
    return text.getvalue()


def with_pyinstrument(target_args: list[str]) -> str:
    """pyinstrument's call tree: sampled, so its overhead does not skew small functions."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        raise SystemExit("pyinstrument is not installed: .venv/bin/pip install pyinstrument") \
            from None
    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        run_cli(target_args)
    finally:
        profiler.stop()
    return t.cast(str, profiler.output_text(unicode=True, show_all=False))


def short_paths(report: str) -> str:
    """Module paths relative to their sys.path entry: readable, and no machine's directories."""
    for entry in sorted({p for p in sys.path if p}, key=len, reverse=True):
        report = report.replace(entry.rstrip("/") + "/", "")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiler", choices=("cprofile", "pyinstrument"), default="cprofile")
    parser.add_argument("--report", required=True, help="file to write the report to")
    parser.add_argument("target_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    target_args = [a for a in args.target_args if a != "--"]
    profile = with_cprofile if args.profiler == "cprofile" else with_pyinstrument
    report = short_paths(profile(target_args))
    with open(args.report, "w", encoding="utf-8") as out:
        out.write(report)


if __name__ == "__main__":
    main()
