"""Singer input for the benchmark: one stream of fake, valid conversions, written once per size.

The records look like a warehouse export of conversions (people at example.com / example.org,
LinkedIn first-party cookies, amounts with a currency, some optional columns empty), so the
target exercises the same normalisation, hashing and mapping as in production. Every record is
one the target must accept: a benchmark that silently rejects records measures the wrong thing.

The seed is fixed, but the conversion times are relative to the moment of generation (LinkedIn
refuses events older than 90 days), so a cached file is regenerated once it is a week old.

Usage: python benchmarks/generate.py N [--out FILE] [--seed S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import time
import typing as t
import uuid
from pathlib import Path

STREAM = "conversions"
STATE_EVERY = 10_000
DEFAULT_SEED = 20_260_701
MAX_AGE = dt.timedelta(days=7)
"""A cached file older than this is regenerated: its times would drift towards 90 days."""

SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "email": {"type": ["string", "null"]},
        "first_name": {"type": ["string", "null"]},
        "last_name": {"type": ["string", "null"]},
        "company_name": {"type": ["string", "null"]},
        "title": {"type": ["string", "null"]},
        "country_code": {"type": ["string", "null"]},
        "li_fat_id": {"type": ["string", "null"]},
        "ip_address": {"type": ["string", "null"]},
        "conversion_happened_at": {"type": "string", "format": "date-time"},
        "amount": {"type": ["number", "null"]},
        "currency": {"type": ["string", "null"]},
        "plan": {"type": ["string", "null"]},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
    },
    "required": ["id", "conversion_happened_at"],
}

_FIRST = (
    "Ada", "Alan", "Amara", "Ana", "Ben", "Carla", "Chen", "Dara", "David", "Elena", "Emeka",
    "Farah", "Grace", "Hana", "Ivan", "Jana", "Jonas", "Kai", "Laila", "Lucas", "Maya", "Mei",
    "Nadia", "Noah", "Olga", "Omar", "Priya", "Rafael", "Sara", "Sven", "Tariq", "Yuki", "Zoe",
)
_LAST = (
    "Abbott", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Hughes", "Ito",
    "Jansen", "Khan", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Quinn", "Rossi",
    "Schmidt", "Tanaka", "Usman", "Varga", "Weber", "Xu", "Yilmaz", "Zimmermann", "O'Neil",
)
_COMPANIES = (
    "Acme Analytics", "Blue Harbor Ltd", "Cobalt Systems", "Delta Freight", "Evergreen Labs",
    "Fjord Software", "Granite Health", "Helio Energy", "Indigo Retail", "Juniper Bank",
)
_TITLES = (
    "Head of Growth", "Data Engineer", "CFO", "Marketing Manager", "Procurement Lead",
    "Software Engineer", "VP Sales", "Operations Analyst", None,
)
_COUNTRIES = ("US", "GB", "DE", "FR", "NL", "CA", "AU", "se", "jp", None)
_CURRENCIES = ("USD", "EUR", "GBP", "usd")
_PLANS = ("trial", "team", "enterprise")


def records(n: int, *, seed: int = DEFAULT_SEED, now: dt.datetime) -> t.Iterator[dict[str, t.Any]]:
    """N records; the same seed gives the same people, amounts and offsets from NOW."""
    rng = random.Random(seed)
    window = 30 * 86_400 - 3_600  # within the last 30 days, at least an hour ago
    for record_id in range(1, n + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        domain = "example.com" if rng.random() < 0.7 else "example.org"
        email = f"{first}.{last}{rng.randrange(1000)}@{domain}".replace("'", "")
        if rng.random() < 0.1:
            email = f"  {email.upper()} "  # as exported by a CRM: the target normalises it
        happened = now - dt.timedelta(seconds=3_600 + rng.random() * window)
        has_amount = rng.random() < 0.8
        yield {
            "id": record_id,
            "email": email if rng.random() < 0.95 else None,
            "first_name": first,
            "last_name": last,
            "company_name": rng.choice(_COMPANIES) if rng.random() < 0.8 else None,
            "title": rng.choice(_TITLES),
            "country_code": rng.choice(_COUNTRIES),
            "li_fat_id": str(uuid.UUID(int=rng.getrandbits(128), version=4))
            if rng.random() < 0.6 else None,
            "ip_address": f"203.0.113.{rng.randrange(1, 255)}" if rng.random() < 0.3 else None,
            "conversion_happened_at": happened.isoformat(timespec="microseconds"),
            "amount": round(rng.uniform(5, 2_000), 2) if has_amount else None,
            "currency": rng.choice(_CURRENCIES) if has_amount else None,
            "plan": rng.choice(_PLANS),
            "updated_at": (happened + dt.timedelta(seconds=rng.randrange(60, 3_000)))
            .isoformat(timespec="seconds"),
        }


def final_state(n: int) -> dict[str, t.Any]:
    """The last STATE value of a file of N records: what a successful target must emit last."""
    return {"bookmarks": {STREAM: {"replication_key": "id", "replication_key_value": n}}}


def write(path: Path, n: int, *, seed: int = DEFAULT_SEED) -> None:
    """Write SCHEMA, N records and a STATE every 10,000 records (and at the end) to PATH."""
    encode = _encoder()
    now = dt.datetime.now(dt.timezone.utc)
    schema = {"type": "SCHEMA", "stream": STREAM, "schema": SCHEMA, "key_properties": ["id"]}
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        out.write(encode(schema) + b"\n")
        for record in records(n, seed=seed, now=now):
            out.write(encode({"type": "RECORD", "stream": STREAM, "record": record}) + b"\n")
            if record["id"] % STATE_EVERY == 0 or record["id"] == n:
                out.write(encode({"type": "STATE", "value": final_state(record["id"])}) + b"\n")
    tmp.replace(path)
    meta = {"records": n, "seed": seed, "generated_at": now.isoformat()}
    _meta_path(path).write_text(json.dumps(meta) + "\n", encoding="utf-8")


def ensure(directory: Path, n: int, *, seed: int = DEFAULT_SEED, force: bool = False) -> Path:
    """The cached input file for N records, (re)generated when missing, stale or forced."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"input-{n}-seed{seed}.singer.jsonl"
    if not force and path.exists() and _meta_path(path).exists():
        meta = json.loads(_meta_path(path).read_text(encoding="utf-8"))
        age = dt.datetime.now(dt.timezone.utc) - dt.datetime.fromisoformat(meta["generated_at"])
        if meta.get("records") == n and age < MAX_AGE:
            return path
    started = time.perf_counter()
    print(f"generating {n:,} records into {path.name} ...", flush=True)
    write(path, n, seed=seed)
    print(f"  done in {time.perf_counter() - started:.1f} s "
          f"({path.stat().st_size / 1e6:.0f} MB)", flush=True)
    return path


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


def _encoder() -> t.Callable[[t.Any], bytes]:
    """msgspec when present (ships with the SDK's msgspec extra): 1M records in seconds."""
    try:
        import msgspec
    except ImportError:
        return lambda obj: json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    return msgspec.json.Encoder().encode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", type=int)
    parser.add_argument("--out", type=Path, help="file to write (default: cached in out/)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    if args.out:
        write(args.out, args.records, seed=args.seed)
    else:
        print(ensure(Path(__file__).parent / "out", args.records, seed=args.seed, force=True))


if __name__ == "__main__":
    main()
