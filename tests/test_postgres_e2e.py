"""Warehouse to LinkedIn the way users run it: PostgreSQL → `meltano run` → target → emulator.

Every part is real except LinkedIn: a PostgreSQL server started for this module, the
MeltanoLabs PostgreSQL tap from PyPI, Meltano itself with its state backend, and this checkout
installed by `meltano install` as the loader (through the hub definition in plugins/). The
local emulator stands in for LinkedIn and tells exactly which events it accepted.

Three runs of one job, sharing Meltano's state:

1. the modelled `conversions` table becomes exactly the expected events;
2. after new rows arrive, the incremental run sends only them (plus the row at the bookmark:
   Singer's incremental replication re-reads it, and its stable eventId makes LinkedIn drop
   the repeat);
3. with a stream map in meltano.yml (rename a column, filter rows, derive a field), the next
   run shows each effect.

Slow (about a minute once Meltano is cached), so it is marked `slow`. PostgreSQL and Meltano
missing make it skip with the reason, except when LINKEDIN_CONVERSIONS_REQUIRE_POSTGRES=1
(set by .ci/run), where that is a failure: CI must never skip it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import glob
import hashlib
import json
import os
import pathlib
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import typing as t

import pytest
import yaml

from target_linkedin_conversions.emulator import Emulator

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parent.parent
REQUIRED = os.environ.get("LINKEDIN_CONVERSIONS_REQUIRE_POSTGRES") == "1"
CACHE = pathlib.Path(os.environ.get("LINKEDIN_CONVERSIONS_E2E_CACHE",
                                    ROOT / ".venv" / "meltano-e2e"))
# Pinned so a run is the same tomorrow; uv is Meltano's fast installer backend.
MELTANO_REQUIREMENTS = ["meltano==4.4.1", "uv==0.13.9"]
TAP_POSTGRES = "meltanolabs-tap-postgres==0.10.0"

TOKEN = "e2e-token"  # the emulator's fake token
STREAM = "public-conversions"  # the tap names streams <schema>-<table>
STATE_ID = "dev:tap-postgres-to-target-linkedin-conversions"  # <environment>:<tap>-to-<target>
RULE = "urn:lla:llaPartnerConversion:"
RULE_MAP = {"demo_request": "104001", "purchase": "104002", "signup": "104003"}
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def unavailable(reason: str) -> t.NoReturn:
    """Skip with REASON, or fail when CI requires the end-to-end run."""
    if REQUIRED:
        pytest.fail(f"{reason} (LINKEDIN_CONVERSIONS_REQUIRE_POSTGRES=1: CI must run this test)")
    pytest.skip(reason)


# -- PostgreSQL ------------------------------------------------------------------------------------


def postgres_bindir() -> pathlib.Path | None:
    """Where initdb and pg_ctl are: pg_config's bindir, Debian's versioned dirs, or PATH."""
    candidates = []
    if shutil.which("pg_config"):
        result = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                check=False)
        candidates.append(result.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if shutil.which("initdb"):
        candidates.append(str(pathlib.Path(shutil.which("initdb")).resolve().parent))
    for candidate in candidates:
        path = pathlib.Path(candidate)
        if candidate and (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclasses.dataclass
class Postgres:
    """A throwaway server on loopback, trusting local connections as `postgres`."""

    bindir: pathlib.Path
    port: int

    def sql(self, statements: str) -> str:
        result = subprocess.run(
            [str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-At", "-c", statements],
            capture_output=True, text=True, check=False, timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture(scope="module")
def postgres() -> t.Iterator[Postgres]:
    """initdb + pg_ctl into a temp dir; as root, the server runs as an unprivileged user.

    PostgreSQL refuses to run as root, so the data dir belongs to `postgres` (created by
    Debian's package) or else `nobody`, and lives outside pytest's root-only tmp tree.
    """
    bindir = postgres_bindir()
    if bindir is None:
        unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found; "
                    "on Debian: apt-get install postgresql")
    home = pathlib.Path(tempfile.mkdtemp(prefix="linkedin-e2e-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        user = next((name for name in ("postgres", "nobody") if _user_exists(name)), None)
        if user is None or shutil.which("runuser") is None:
            unavailable("running as root without a `postgres`/`nobody` user or runuser")
        entry = pwd.getpwnam(user)
        os.chown(home, entry.pw_uid, entry.pw_gid)
        run_as = ["runuser", "-u", user, "--"]

    port = free_port()
    data, log = home / "data", home / "postgres.log"
    steps = [
        [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
         "-E", "UTF8", "--no-locale", "--no-sync"],
        [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
         f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
    ]
    try:
        for step in steps:
            result = subprocess.run(run_as + step, capture_output=True, text=True, check=False,
                                    timeout=120)
            if result.returncode != 0:
                server_log = log.read_text(errors="replace") if log.exists() else ""
                unavailable(f"PostgreSQL did not start ({pathlib.Path(step[0]).name}): "
                            f"{result.stderr.strip()} {server_log[-2000:]}")
        yield Postgres(bindir, port)
    finally:
        subprocess.run(run_as + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                 "-w", "stop"], capture_output=True, check=False, timeout=60)
        shutil.rmtree(home, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


# -- the warehouse table ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    """One row of `conversions`; times are offsets from NOW so the data never ages."""

    id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    li_fat_id: str | None
    converted_hours_ago: float
    amount: str | None
    currency: str | None
    kind: str
    updated_minutes_ago: float

    @property
    def converted_at(self) -> dt.datetime:
        return NOW - dt.timedelta(hours=self.converted_hours_ago)

    @property
    def updated_at(self) -> dt.datetime:
        return NOW - dt.timedelta(minutes=self.updated_minutes_ago)

    def insert(self) -> str:
        values = [self.id, self.email, self.first_name, self.last_name, self.li_fat_id,
                  self.converted_at.isoformat(), self.amount, self.currency, self.kind,
                  self.updated_at.isoformat()]
        literals = ", ".join("NULL" if v is None else
                             str(v) if isinstance(v, int) else "'" + v.replace("'", "''") + "'"
                             for v in values)
        return ("INSERT INTO conversions (id, email, first_name, last_name, li_fat_id, "
                f"converted_at, amount, currency, kind, updated_at) VALUES ({literals});")


TABLE = """
CREATE TABLE conversions (
    id serial PRIMARY KEY,
    email text,
    first_name text,
    last_name text,
    li_fat_id text,
    converted_at timestamptz NOT NULL,
    amount numeric(12, 2),
    currency char(3),
    kind text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""
FIRST_ROWS = [
    Row(1, "  Ada.Lovelace@Example.COM ", "Ada", "Lovelace", None, 26, "129.90", "EUR",
        "purchase", 50),
    Row(2, "grace.hopper@example.org", "Grace", "Hopper", "df6c5a3e-6d0c-4f4e-9a1c-2b7f0e9d8c11",
        5, None, None, "demo_request", 40),
    Row(3, "alan.turing@example.net", None, None, None, 72, None, None, "signup", 30),
    Row(4, "katherine.johnson@example.com", "Katherine", "Johnson", None, 1, "1499.00", "USD",
        "purchase", 20),
]
SECOND_ROWS = [
    Row(5, "margaret.hamilton@example.com", "Margaret", "Hamilton", None, 0.5, "49.50", "GBP",
        "signup", 5),
    Row(6, "dorothy.vaughan@example.com", None, None, None, 0.2, None, None, "demo_request", 4),
]
THIRD_ROWS = [
    Row(7, "hedy.lamarr@example.com", "Hedy", "Lamarr", None, 0.3, "19.90", "EUR", "purchase",
        2),
    Row(8, "qa+e2e@example.com", "Test", "Order", None, 0.1, "1.00", "EUR", "test", 1),
]
ROWS = {row.id: row for row in FIRST_ROWS + SECOND_ROWS + THIRD_ROWS}


# -- what LinkedIn should receive, derived from the documented rules -------------------------------


def expected_event(row: Row, *, external_id: str | None = None) -> dict[str, t.Any]:
    """The event README's mapping rules give for ROW (times in epoch ms, exact amounts)."""
    rule = RULE + RULE_MAP[row.kind]
    key = json.dumps([STREAM, [row.id], rule], separators=(",", ":")).encode()
    user: dict[str, t.Any] = {"userIds": [
        {"idType": "SHA256_EMAIL",
         "idValue": hashlib.sha256(row.email.strip().lower().encode()).hexdigest()},
    ]}
    if row.li_fat_id:
        user["userIds"].append({"idType": "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID",
                                "idValue": row.li_fat_id})
    if row.first_name and row.last_name:
        user["userInfo"] = {"firstName": row.first_name, "lastName": row.last_name}
    if external_id:
        user["externalIds"] = [external_id]
    event = {
        "conversion": rule,
        "conversionHappenedAt": int(row.converted_at.timestamp() * 1000),
        "eventId": "sg-" + hashlib.sha256(key).hexdigest()[:40],
        "user": user,
    }
    if row.amount is not None:
        event["conversionValue"] = {"currencyCode": row.currency, "amount": row.amount}
    return event


def by_event_id(events: t.Iterable[dict[str, t.Any]]) -> dict[str, dict[str, t.Any]]:
    return {event["eventId"]: event for event in events}


# -- Meltano ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def meltano() -> pathlib.Path:
    """Meltano in its own cached venv (its pins clash with the project's): the executable."""
    venv = CACHE / "venv"
    stamp = venv / ".requirements"
    executable = venv / "bin" / "meltano"
    wanted = "\n".join(MELTANO_REQUIREMENTS)
    if executable.exists() and stamp.exists() and stamp.read_text() == wanted:
        return executable
    shutil.rmtree(venv, ignore_errors=True)
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
              *MELTANO_REQUIREMENTS]]
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True, check=False, timeout=900)
        if result.returncode != 0:
            unavailable(f"could not install Meltano into {venv}: {result.stderr[-2000:]}")
    stamp.write_text(wanted)
    return executable


def tap_postgres_lock() -> dict[str, t.Any]:
    """The MeltanoLabs variant's definition, as `meltano lock` would store it.

    Meltano looks a variant up on Meltano Hub unless the project has its lock file, and the
    hub is not reachable from CI; the lock keeps the run offline apart from PyPI.
    """
    return {
        "plugin_type": "extractors", "name": "tap-postgres", "namespace": "tap_postgres",
        "variant": "meltanolabs", "label": "PostgreSQL", "pip_url": TAP_POSTGRES,
        "executable": "tap-postgres",
        "capabilities": ["about", "activate-version", "batch", "catalog", "discover",
                         "schema-flattening", "state", "stream-maps"],
        "settings": [
            {"name": "host", "kind": "string"}, {"name": "port", "kind": "integer"},
            {"name": "user", "kind": "string"},
            {"name": "password", "kind": "string", "sensitive": True},
            {"name": "database", "kind": "string"}, {"name": "filter_schemas", "kind": "array"},
        ],
    }


def target_lock() -> tuple[str, dict[str, t.Any]]:
    """This repository's generated hub definition, used by Meltano as is: (variant, lock)."""
    [path] = (ROOT / "plugins" / "loaders").glob("target-linkedin-conversions--*.yml")
    definition = yaml.safe_load(path.read_text(encoding="utf-8"))
    return definition["variant"], {"plugin_type": "loaders", **definition}


def loader_config(tmp: pathlib.Path, emulator_url: str, *, mapped: bool) -> dict[str, t.Any]:
    """The loader's config as a user writes it; with MAPPED, the stream map replaces the
    `converted_at` field mapping by renaming the column to the event field's own name."""
    stream: dict[str, t.Any] = {"rule_field": "kind", "rule_map": RULE_MAP}
    config: dict[str, t.Any] = {
        "api_base_url": emulator_url,
        "ad_account_id": "512345678",
        "check_rules": True,
        "rejects_path": str(tmp / "rejects.jsonl"),
        "streams": {STREAM: stream},
    }
    if mapped:
        config["stream_maps"] = {STREAM: {
            "conversion_happened_at": "converted_at",
            "converted_at": "__NULL__",
            "external_id": "'crm-' + str(id)",
            "__filter__": "kind != 'test'",
        }}
    else:
        stream["field_mapping"] = {"conversion_happened_at": "converted_at"}
    return config


def write_project(project: pathlib.Path, db: Postgres, emulator_url: str, *,
                  mapped: bool) -> None:
    variant, lock = target_lock()
    project_yml = {
        "requires_meltano": ">=4.0",
        "default_environment": "dev",
        "send_anonymous_usage_stats": False,
        "project_id": "linkedin-conversions-e2e",
        "venv": {"backend": "uv"},
        "environments": [{"name": "dev"}],
        "plugins": {
            "extractors": [{
                "name": "tap-postgres", "variant": "meltanolabs", "pip_url": TAP_POSTGRES,
                "config": {"host": "127.0.0.1", "port": db.port, "user": "postgres",
                           "database": "postgres", "filter_schemas": ["public"]},
                "select": [f"{STREAM}.*"],
                "metadata": {STREAM: {"replication-method": "INCREMENTAL",
                                      "replication-key": "updated_at"}},
            }],
            "loaders": [{
                "name": "target-linkedin-conversions", "variant": variant,
                "pip_url": f"-e {ROOT}",
                "config": loader_config(project, emulator_url, mapped=mapped),
            }],
        },
    }
    (project / "meltano.yml").write_text(yaml.safe_dump(project_yml, sort_keys=False))
    for plugin in (tap_postgres_lock(), lock):
        path = (project / "plugins" / plugin["plugin_type"]
                / f"{plugin['name']}--{plugin['variant']}.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(plugin, indent=2))


@dataclasses.dataclass
class Run:
    """One `meltano run`: its exit code and log, and what the emulator accepted during it."""

    returncode: int
    log: str
    events: list[dict[str, t.Any]]
    duplicates: int
    bookmark: str | None


class Pipeline:
    """The throwaway Meltano project, the database and the emulator the runs share."""

    def __init__(self, meltano: pathlib.Path, project: pathlib.Path, db: Postgres,
                 emulator: Emulator) -> None:
        self.meltano, self.project, self.db, self.emulator = meltano, project, db, emulator
        self.env = {name: value for name, value in os.environ.items()
                    if not name.startswith(("TARGET_LINKEDIN_", "TAP_POSTGRES_", "MELTANO_"))}
        self.env.update({
            "TARGET_LINKEDIN_CONVERSIONS_ACCESS_TOKEN": TOKEN,  # secrets via env, as README says
            "TAP_POSTGRES_PASSWORD": "unused-with-trust-auth",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_DISABLE_TRACKING": "true",
            "NO_COLOR": "1",
        })

    def meltano_cmd(self, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.meltano), *args], cwd=self.project, env=self.env,
                              capture_output=True, text=True, check=False, timeout=timeout)

    def run(self) -> Run:
        seen, duplicates = len(self.emulator.accepted_events), self.emulator.duplicate_event_ids
        result = self.meltano_cmd("run", "tap-postgres", "target-linkedin-conversions")
        state = self.meltano_cmd("state", "get", STATE_ID)
        bookmark = None
        if state.returncode == 0 and state.stdout.strip():
            bookmarks = json.loads(state.stdout)["singer_state"]["bookmarks"]
            bookmark = bookmarks[STREAM]["replication_key_value"]
        return Run(result.returncode, result.stdout + result.stderr,
                   self.emulator.accepted_events[seen:],
                   self.emulator.duplicate_event_ids - duplicates, bookmark)


@dataclasses.dataclass
class Runs:
    """The three runs of the job, and the loader's rejects file."""

    first: Run
    second: Run
    third: Run
    rejects: pathlib.Path


@pytest.fixture(scope="module")
def runs(postgres: Postgres, meltano: pathlib.Path,
         tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Runs]:
    """The three runs, in order; each test reads the one it is about."""
    project = tmp_path_factory.mktemp("meltano-project")
    with Emulator(tokens={TOKEN}) as emulator:
        pipeline = Pipeline(meltano, project, postgres, emulator)
        write_project(project, postgres, emulator.url, mapped=False)
        installed = pipeline.meltano_cmd("install", timeout=900)
        assert installed.returncode == 0, installed.stdout + installed.stderr

        postgres.sql(TABLE + "".join(row.insert() for row in FIRST_ROWS))
        first = pipeline.run()

        postgres.sql("".join(row.insert() for row in SECOND_ROWS))
        second = pipeline.run()

        write_project(project, postgres, emulator.url, mapped=True)
        postgres.sql("".join(row.insert() for row in THIRD_ROWS))
        third = pipeline.run()
        yield Runs(first, second, third, project / "rejects.jsonl")


def succeeded(run: Run) -> None:
    assert run.returncode == 0, "meltano run failed:\n" + run.log[-6000:]


# -- the tests -------------------------------------------------------------------------------------


def test_first_run_sends_every_row_as_its_exact_event(runs: Runs) -> None:
    run = runs.first
    succeeded(run)
    assert by_event_id(run.events) == by_event_id(expected_event(row) for row in FIRST_ROWS)
    assert run.duplicates == 0
    assert "Run succeeded: 4 records read" in run.log


def test_the_exact_values_linkedin_receives(runs: Runs) -> None:
    """Spelled out once for a reader: hashed trimmed email, epoch ms, decimal string amount."""
    [ada] = [e for e in runs.first.events if e["conversion"] == RULE + "104002"
             and e["conversionValue"]["currencyCode"] == "EUR"]
    assert ada["user"]["userIds"] == [{
        "idType": "SHA256_EMAIL",
        "idValue": hashlib.sha256(b"ada.lovelace@example.com").hexdigest(),
    }]
    assert ada["conversionValue"] == {"currencyCode": "EUR", "amount": "129.90"}
    assert ada["conversionHappenedAt"] == int((NOW - dt.timedelta(hours=26)).timestamp()) * 1000
    assert ada["eventId"].startswith("sg-") and len(ada["eventId"]) == 43


def test_state_lets_the_second_run_send_only_new_rows(runs: Runs) -> None:
    """Rows 5 and 6 are new; row 4 sits at the bookmark and is re-read (Singer's incremental
    replication is inclusive), so it is sent again with the same eventId: a duplicate LinkedIn
    drops, not a second conversion."""
    run = runs.second
    succeeded(run)
    sent = by_event_id(run.events)
    assert sent == by_event_id(expected_event(ROWS[i]) for i in (4, 5, 6))
    assert run.duplicates == 1
    assert dt.datetime.fromisoformat(runs.first.bookmark) == ROWS[4].updated_at
    assert dt.datetime.fromisoformat(run.bookmark) == ROWS[6].updated_at


def test_stream_map_renames_filters_and_derives(runs: Runs) -> None:
    """`conversion_happened_at: converted_at` renames, `__filter__` drops the QA row, and
    `external_id: 'crm-' + str(id)` reaches LinkedIn as user.externalIds."""
    run = runs.third
    succeeded(run)
    assert by_event_id(run.events) == by_event_id(
        expected_event(ROWS[i], external_id=f"crm-{i}") for i in (6, 7)
    )
    assert run.duplicates == 1  # row 6, at the bookmark, as in the second run
    assert dt.datetime.fromisoformat(run.bookmark) == ROWS[8].updated_at  # filtered, still read
    assert not runs.rejects.exists() or runs.rejects.read_text() == ""


def test_no_token_or_personal_data_in_meltanos_log(runs: Runs) -> None:
    log = runs.first.log + runs.second.log + runs.third.log
    assert TOKEN not in log
    emails = [row.email.strip() for row in ROWS.values() if row.email]
    assert [email for email in emails if email in log] == []
