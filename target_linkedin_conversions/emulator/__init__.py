"""A local emulator of LinkedIn's REST API for conversion events, rules and discovery.

LinkedIn has no sandbox, so this package is the independent oracle the project's tests trust. It
imports nothing from the rest of `target_linkedin_conversions` and needs only the stdlib.

Python:
    with Emulator(tokens={"test-token"}) as emu:
        emu.url, emu.accepted_events, emu.requests, emu.faults.script(...), emu.reset()

Fault step (one per request, consumed in order per (method, path); exhausted = normal):
    "pass" | {"status": int, "retry_after": seconds, "daily": bool, "code": str, "body": any,
              "delay": seconds, "drop": true | "before" | "after"}
    `status` answers with LinkedIn's body for that status (429 throttle, 401 by `code`, ...).
    `delay` handles the request, then waits before answering (a client timeout sees a request
    LinkedIn did process). `drop` cuts the connection mid-headers, before or after handling.

Control API (no auth): GET /__emulator/health, /__emulator/events, /__emulator/requests;
POST /__emulator/reset; POST /__emulator/faults with one object or a list of:
    {"path": "/rest/conversionEvents", "method": "POST", "steps": [...]}
    {"expire_token_after": 3}
    {"reject_elements": {"<eventId>": "ERROR :: /path :: reason"}}   (422 for the whole batch)
    {"fail_elements": {"<eventId>": "reason"}, "status": 400}       (200; that element fails)
    {"clear": true}
"""

from __future__ import annotations

from target_linkedin_conversions.emulator.seed import default_world
from target_linkedin_conversions.emulator.server import Emulator, RecordedRequest
from target_linkedin_conversions.emulator.world import World

__all__ = ["Emulator", "RecordedRequest", "World", "default_world"]
