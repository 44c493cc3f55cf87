"""`linkedin-conversions-emulator`: run the emulator as a process for manual and end-to-end runs.

Prints exactly one line to stdout once the socket is bound (`listening on http://HOST:PORT`, or
just the port with --print-port) so a parent process can read the port when --port is 0. Logs one
line per request to stderr. Stops cleanly on SIGTERM and SIGINT.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import typing as t

from target_linkedin_conversions.emulator.server import DEFAULT_TOKEN, Emulator

logger = logging.getLogger("target_linkedin_conversions.emulator")


def _parser() -> argparse.ArgumentParser:
    """The command line; loopback by default because the control API has no auth."""
    parser = argparse.ArgumentParser(
        prog="linkedin-conversions-emulator",
        description="Local emulator of LinkedIn's Conversions REST API (no sandbox exists).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port, 0 = any free port")
    parser.add_argument("--token", action="append", dest="tokens", metavar="T",
                        help=f"a valid access token; repeatable (default: {DEFAULT_TOKEN})")
    parser.add_argument("--refresh-token", action="append", dest="refresh_tokens", default=[],
                        metavar="R", help="a valid OAuth refresh token; repeatable")
    parser.add_argument("--client-id", default=None, help="OAuth client id")
    parser.add_argument("--client-secret", default=None, help="OAuth client secret")
    parser.add_argument("--scenario", metavar="FILE.json",
                        help="faults to apply at start: one control-API fault object, a list of "
                             'them, or {"faults": [...]}')
    parser.add_argument("--print-port", action="store_true",
                        help="print only the bound port number instead of the listening line")
    return parser


def load_scenario(path: str) -> list[dict[str, t.Any]]:
    """The fault objects of a scenario file."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if isinstance(data, dict) and "faults" in data:
        data = data["faults"]
    specs = data if isinstance(data, list) else [data]
    if not all(isinstance(spec, dict) for spec in specs):
        raise ValueError("a scenario holds fault objects")
    return specs


def main(argv: t.Sequence[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT."""
    args = _parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")

    emulator = Emulator(tokens=set(args.tokens or [DEFAULT_TOKEN]), host=args.host,
                        port=args.port, refresh_tokens=set(args.refresh_tokens),
                        client_id=args.client_id, client_secret=args.client_secret)
    if args.scenario:
        try:
            for spec in load_scenario(args.scenario):
                emulator.faults.apply(spec)
        except (OSError, ValueError) as exc:
            logger.error("Scenario file %s is unusable: %s", args.scenario, exc)
            return 2

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())

    try:
        emulator.start()
    except OSError as exc:
        logger.error("Cannot listen on %s:%s: %s", args.host, args.port, exc)
        return 1
    # The one stdout line is the interface to a parent process, not a log line.
    ready = str(emulator.port) if args.print_port else f"listening on {emulator.url}"
    print(ready, flush=True)  # noqa: T201

    while not stopping.wait(0.5):
        pass
    logger.info("Stopping the emulator")
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
