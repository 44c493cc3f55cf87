"""Benchmark: the full target against the SDK floor, on the same input, in the same run.

For each size N the runner alternates the pipelines round after round (floor, floor with the
SDK's validation, target, target with added latency, floor, ...), so drift of a shared machine
hits all of them alike, and reports per pipeline the median records/s (whole process: start-up,
reading, validation, mapping, sending, final drain), the events the endpoint accepted, the peak
RSS (exact, from `os.wait4` of each child) and the ratio to the floor of the same run.

Run it with the project's virtualenv, from anywhere:

    .venv/bin/python benchmarks/run.py --records 100000 1000000 --repeat 3

`--profile` instead runs the target once under cProfile on 100k records and prints its top costs.
See benchmarks/README.md for what the numbers mean.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tarfile
import time
import typing as t
import urllib.request
from pathlib import Path

import generate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
RESULTS = HERE / "RESULTS.md"
TARGET_SCRIPT = "target-linkedin-conversions"
RULE_ID = "104001"


@dataclasses.dataclass(frozen=True)
class Pipeline:
    """One thing to time: a floor variant, or the target with a given added latency."""

    key: str
    title: str
    latency_ms: float | None = None  # None: no endpoint (the floors send nothing)

    @property
    def is_target(self) -> bool:
        """The target talks to the endpoint; the floors do not."""
        return self.latency_ms is not None


@dataclasses.dataclass
class Run:
    """One process run and what it proved."""

    seconds: float
    peak_rss_mb: float
    events: int | None = None
    problems: list[str] = dataclasses.field(default_factory=list)


FLOOR = Pipeline("floor", "SDK floor (do-nothing BatchSink, SDK defaults, validation off)")
FLOOR_MSGSPEC = Pipeline("floor-msgspec", "SDK floor with the msgspec reader (context)")
FLOOR_VALIDATED = Pipeline("floor-validated", "SDK floor with the SDK's default validation on")


def target_pipeline(latency_ms: float) -> Pipeline:
    """The full target, validation on, against the endpoint with LATENCY_MS per request."""
    return Pipeline(f"target-{latency_ms:g}ms", f"target, +{latency_ms:g} ms per request",
                    latency_ms)


# --- running one child ------------------------------------------------------------------------


def run_child(argv: list[str], *, input_path: Path, stem: Path,
              env: dict[str, str]) -> tuple[float, float, int]:
    """Run ARGV with INPUT_PATH as stdin; (wall seconds, peak RSS MB, exit code).

    `os.wait4` returns the rusage of exactly this child, so its `ru_maxrss` is the child's peak
    resident set (KiB on Linux), with no external tool and no other process mixed in.
    """
    with input_path.open("rb") as stdin, stem.with_suffix(".out").open("wb") as stdout, \
            stem.with_suffix(".err").open("wb") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, proc.returncode


class Endpoint:
    """The loopback endpoint in its own process, so it never competes for the target's GIL."""

    def __init__(self, latency_ms: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "endpoint.py"), "--latency-ms", str(latency_ms)],
            stdout=subprocess.PIPE, text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("listening on "):
            self.close()
            raise SystemExit(f"the benchmark endpoint did not start: {line!r}")
        self.url = line.split()[-1]

    def stats(self) -> dict[str, int]:
        """The endpoint's counts so far."""
        with urllib.request.urlopen(self.url + "/__stats", timeout=10) as response:
            return json.load(response)

    def close(self) -> None:
        """Stop the endpoint process this runner started."""
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- the pipelines ----------------------------------------------------------------------------


class Bench:
    """Runs pipelines on one input file and checks that each run did the whole job."""

    def __init__(self, args: argparse.Namespace, env: dict[str, str]) -> None:
        self.args = args
        self.env = env
        self.venv_bin = Path(sys.executable).parent
        self.runs_dir = OUT / "runs"
        self.runs_dir.mkdir(parents=True, exist_ok=True)

    def floor(self, pipeline: Pipeline, input_path: Path, n: int, label: str) -> Run:
        """One run of a floor variant."""
        config = {"validate_records": pipeline is FLOOR_VALIDATED,
                  "batch_size_rows": self.args.batch_size}
        stem = self.runs_dir / f"{label}-{pipeline.key}"
        config_path = self._write_config(stem, config)
        argv = [sys.executable, str(HERE / "floor_target.py"), "--config", str(config_path)]
        if pipeline is FLOOR_MSGSPEC:
            argv.append("--msgspec")
        seconds, rss, code = run_child(argv, input_path=input_path, stem=stem, env=self.env)
        run = Run(seconds, rss)
        self._check_exit(run, code, stem)
        self._check_state(run, stem, n)
        return run

    def target(self, pipeline: Pipeline, input_path: Path, n: int, label: str) -> Run:
        """One run of the full target against a fresh endpoint with the pipeline's latency."""
        stem = self.runs_dir / f"{label}-{pipeline.key}"
        rejects = stem.with_suffix(".rejects.jsonl")
        rejects.unlink(missing_ok=True)
        with Endpoint(pipeline.latency_ms or 0.0) as endpoint:
            config = {
                "access_token": "benchmark-token",
                "api_base_url": endpoint.url,
                "conversion_rule_id": RULE_ID,
                "check_rules": False,
                "requests_per_minute": self.args.requests_per_minute,
                "batch_size_rows": self.args.batch_size,
                "rejects_path": str(rejects),
            }
            config_path = self._write_config(stem, config)
            argv = [str(self.venv_bin / TARGET_SCRIPT), "--config", str(config_path)]
            seconds, rss, code = run_child(argv, input_path=input_path, stem=stem,
                                           env=self.env)
            counts = endpoint.stats()
        run = Run(seconds, rss, events=counts["events"])
        self._check_exit(run, code, stem)
        self._check_state(run, stem, n)
        if counts["events"] != n:
            run.problems.append(f"endpoint accepted {counts['events']} events, expected {n}")
        duplicates = counts["events"] - counts["distinct_event_ids"] - counts["events_without_id"]
        if duplicates:
            run.problems.append(f"{duplicates} events were sent more than once")
        if counts["refused_requests"]:
            run.problems.append(f"{counts['refused_requests']} requests were not BATCH_CREATE")
        if rejects.exists() and rejects.stat().st_size:
            lines = len(rejects.read_bytes().splitlines())
            run.problems.append(f"{lines} records rejected (see {rejects.name})")
        return run

    def _write_config(self, stem: Path, config: dict[str, t.Any]) -> Path:
        path = stem.with_suffix(".config.json")
        path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return path

    def _check_exit(self, run: Run, code: int, stem: Path) -> None:
        if code != 0:
            tail = stem.with_suffix(".err").read_text(errors="replace").splitlines()[-5:]
            run.problems.append(f"exit code {code}; stderr ends: " + " | ".join(tail))

    def _check_state(self, run: Run, stem: Path, n: int) -> None:
        """The last STATE written must be the input's last one: every record was delivered."""
        lines = stem.with_suffix(".out").read_text().splitlines()
        last = json.loads(lines[-1]) if lines else None
        if last != generate.final_state(n):
            run.problems.append(f"last STATE written was {last}, not the input's last")


def measure(args: argparse.Namespace, env: dict[str, str]) -> list[dict[str, t.Any]]:
    """Every size, every round, the pipelines in the same order each round (ABAB...)."""
    bench = Bench(args, env)
    pipelines = [FLOOR, FLOOR_MSGSPEC]
    if not args.skip_validated_floor:
        pipelines.append(FLOOR_VALIDATED)
    pipelines += [target_pipeline(ms) for ms in args.latency_ms]
    rows = []
    for n in args.records:
        input_path = generate.ensure(OUT, n, seed=args.seed, force=args.regenerate)
        repeat = args.repeat_large if (args.repeat_large and n >= 1_000_000) else args.repeat
        runs: dict[str, list[Run]] = {p.key: [] for p in pipelines}
        for round_no in range(1, repeat + 1):
            for pipeline in pipelines:
                if pipeline is FLOOR_VALIDATED and round_no > args.validated_rounds:
                    continue
                label = f"{n}-r{round_no}"
                measure_one = bench.target if pipeline.is_target else bench.floor
                run = measure_one(pipeline, input_path, n, label)
                runs[pipeline.key].append(run)
                status = "ok" if not run.problems else "FAILED: " + "; ".join(run.problems)
                print(f"  N={n:>9,} round {round_no}/{repeat} {pipeline.key:<16} "
                      f"{run.seconds:7.2f} s {n / run.seconds:>9,.0f} rec/s "
                      f"{run.peak_rss_mb:6.0f} MB  {status}", flush=True)
        rows += summarise(n, pipelines, runs)
    return rows


def summarise(n: int, pipelines: list[Pipeline],
              runs: dict[str, list[Run]]) -> list[dict[str, t.Any]]:
    """One row per pipeline for size N, with the ratio to the floor of the same run."""
    floor_rate = n / statistics.median(r.seconds for r in runs[FLOOR.key])
    rows = []
    for pipeline in pipelines:
        mine = runs[pipeline.key]
        rate = n / statistics.median(r.seconds for r in mine)
        events = [r.events for r in mine if r.events is not None]
        rows.append({
            "records": n,
            "pipeline": pipeline,
            "rate": rate,
            "ratio": rate / floor_rate,
            "events": events,
            "peak_rss_mb": max(r.peak_rss_mb for r in mine),
            "seconds": [r.seconds for r in mine],
            "problems": sorted({p for r in mine for p in r.problems}),
        })
    return rows


# --- reporting --------------------------------------------------------------------------------


def table(rows: list[dict[str, t.Any]]) -> str:
    """The results as a markdown table."""
    lines = [
        "| N | pipeline | records/s (median) | x floor | events accepted | peak RSS (MB) "
        "| wall s per run |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        events = row["events"]
        if not events:
            accepted = "—"
        elif len(set(events)) == 1:
            accepted = f"{events[0]:,}"
        else:
            accepted = " / ".join(f"{e:,}" for e in events)
        if row["problems"]:
            accepted += " **FAILED**"
        walls = ", ".join(f"{s:.2f}" for s in row["seconds"])
        lines.append(
            f"| {row['records']:,} | {row['pipeline'].title} | {row['rate']:,.0f} "
            f"| {row['ratio']:.2f} | {accepted} | {row['peak_rss_mb']:.0f} | {walls} |")
    return "\n".join(lines)


def goals(rows: list[dict[str, t.Any]], latency_ms: list[float]) -> list[str]:
    """Issue 7's targets, checked against these rows (validation on for the target)."""
    by = {(r["records"], r["pipeline"].key): r for r in rows}
    out = []
    base_key = target_pipeline(0).key if 0 in latency_ms else None
    for n in sorted({r["records"] for r in rows}):
        floor = by[(n, FLOOR.key)]
        for ms in latency_ms:
            row = by[(n, target_pipeline(ms).key)]
            if row["problems"]:
                out.append(_goal(f"N={n:,}, +{ms:g} ms", False, "runs FAILED: "
                                 + "; ".join(row["problems"])))
                continue
            out.append(_goal(f"N={n:,}, +{ms:g} ms: ≥ 0.85 x floor",
                             row["ratio"] >= 0.85, f"{row['ratio']:.2f}"))
            out.append(_goal(f"N={n:,}, +{ms:g} ms: peak RSS ≤ 1.25 x floor's",
                             row["peak_rss_mb"] <= 1.25 * floor["peak_rss_mb"],
                             f"{row['peak_rss_mb']:.0f} vs {floor['peak_rss_mb']:.0f} MB"))
            if ms and base_key:
                base = by[(n, base_key)]
                share = row["rate"] / base["rate"]
                out.append(_goal(f"N={n:,}, +{ms:g} ms: ≥ 0.85 x the no-latency target",
                                 share >= 0.85, f"{share:.2f}"))
        if n == 100_000 and base_key:
            rate = by[(n, base_key)]["rate"]
            out.append(_goal("N=100,000: ≥ 50,000 records/s", rate >= 50_000, f"{rate:,.0f}"))
    sizes = sorted({r["records"] for r in rows})
    if base_key and len(sizes) > 1:
        small, large = by[(sizes[0], base_key)], by[(sizes[-1], base_key)]
        grow = large["peak_rss_mb"] / small["peak_rss_mb"]
        out.append(_goal(f"peak RSS the same at {sizes[0]:,} and {sizes[-1]:,} (≤ 1.10x)",
                         grow <= 1.10, f"{grow:.2f}x"))
    return out


def _goal(what: str, met: bool, value: str) -> str:
    """A checklist line; the caller passes met=False for rows whose runs failed."""
    return f"- [{'x' if met else ' '}] {what}: {value}"


def machine() -> list[str]:
    """What the numbers depend on: CPU, cores, Python, SDK, and the code measured."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, singer-sdk "
        f"{importlib.metadata.version('singer-sdk')}, msgspec "
        f"{importlib.metadata.version('msgspec')}, requests "
        f"{importlib.metadata.version('requests')}",
    ]


def command_line() -> str:
    """The command as typed from the repository root, without this machine's paths."""
    return " ".join([".venv/bin/python", "benchmarks/run.py", *map(shlex.quote, sys.argv[1:])])


def write_results(label: str, body: str) -> None:
    """Replace the section LABEL of RESULTS.md (between its markers), or append it."""
    start, end = f"<!-- results:{label} -->", f"<!-- /results:{label} -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text, encoding="utf-8")


# --- the code under test ----------------------------------------------------------------------


def code_under_test(rev: str | None, env: dict[str, str]) -> str:
    """Put revision REV of the package first on the children's path; describe what is measured.

    Without REV the children import the package as installed in the venv (an editable install
    of the work tree, which others may be editing). With REV, `git archive` extracts that
    revision's package into out/ and PYTHONPATH puts it ahead of the editable install.
    """
    if rev is None:
        head = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--", "target_linkedin_conversions")
        return f"work tree at {head}" + (" with uncommitted changes" if dirty else "")
    commit = _git("rev-parse", "--short", f"{rev}^{{commit}}")
    tree = OUT / f"tree-{commit}"
    if not (tree / "target_linkedin_conversions").exists():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit, "target_linkedin_conversions"],
            cwd=ROOT, check=True, capture_output=True).stdout
        tar_path = tree / "package.tar"
        tar_path.write_bytes(archive)
        with tarfile.open(tar_path) as tar:
            tar.extractall(tree, filter="data")
        tar_path.unlink()
    env["PYTHONPATH"] = str(tree)
    return f"commit {commit}"


def _git(*argv: str) -> str:
    return subprocess.run(["git", *argv], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()


def child_env() -> dict[str, str]:
    """The runner's environment without settings that would change what the target does."""
    prefixes = ("TARGET_LINKEDIN_CONVERSIONS_", "TARGET_BENCHMARK_FLOOR_", "SINGER_SDK_LOG")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.pop("LOGLEVEL", None)
    env.pop("PYTHONPATH", None)
    return env


# --- profiling --------------------------------------------------------------------------------


def profile(args: argparse.Namespace, env: dict[str, str]) -> None:
    """Run the target once under the profiler on 100k records; print and save its top costs."""
    n = args.profile_records
    if args.profiler == "pyinstrument" and importlib.util.find_spec("pyinstrument") is None:
        print("pyinstrument is not installed; installing it into this venv (a benchmark-only "
              "tool, not a dependency of the package): pip install pyinstrument", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "pyinstrument"],
                       check=True)
    input_path = generate.ensure(OUT, n, seed=args.seed, force=args.regenerate)
    stem = OUT / "runs" / f"profile-{n}"
    stem.parent.mkdir(parents=True, exist_ok=True)
    with Endpoint(0.0) as endpoint:
        config = {
            "access_token": "benchmark-token", "api_base_url": endpoint.url,
            "conversion_rule_id": RULE_ID, "check_rules": False,
            "requests_per_minute": args.requests_per_minute, "batch_size_rows": args.batch_size,
            "rejects_path": str(stem.with_suffix(".rejects.jsonl")),
        }
        config_path = stem.with_suffix(".config.json")
        config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        report = stem.with_suffix(f".{args.profiler}.txt")
        argv = [sys.executable, str(HERE / "profile_target.py"), "--profiler", args.profiler,
                "--report", str(report), "--", "--config", str(config_path)]
        seconds, rss, code = run_child(argv, input_path=input_path, stem=stem, env=env)
        counts = endpoint.stats()
    print(report.read_text())
    print(f"profiled run: {seconds:.1f} s (profiler overhead included), {rss:.0f} MB peak, "
          f"exit {code}, {counts['events']:,} events accepted of {n:,}")
    print(f"saved: {report.relative_to(ROOT)}")


# --- main -------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Full target vs the singer-sdk floor, same input, same run.")
    parser.add_argument("--records", type=int, nargs="+", default=[100_000, 1_000_000],
                        help="input sizes (default: 100000 1000000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per size (default 3)")
    parser.add_argument("--repeat-large", type=int, default=0,
                        help="rounds for sizes of 1M and more, when fewer than --repeat")
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 100.0],
                        help="target runs, one per added latency (default: 0 100)")
    parser.add_argument("--skip-validated-floor", action="store_true",
                        help="leave out the floor with the SDK's validation (slow at 1M)")
    parser.add_argument("--validated-rounds", type=int, default=1,
                        help="rounds of the validated floor, shown for context only (default 1)")
    parser.add_argument("--batch-size", type=int, default=5000,
                        help="batch_size_rows for the target and the floors (default 5000)")
    parser.add_argument("--requests-per-minute", type=int, default=0,
                        help="the target's pacing; 0 (default) disables it")
    parser.add_argument("--rev", help="measure this git revision of the package instead of the "
                        "work tree (e.g. HEAD)")
    parser.add_argument("--label", default="latest",
                        help="section of RESULTS.md to write or replace (default: latest)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--regenerate", action="store_true", help="rewrite the cached inputs")
    parser.add_argument("--profile", action="store_true",
                        help="profile one target run instead of benchmarking")
    parser.add_argument("--profiler", choices=("cprofile", "pyinstrument"), default="cprofile")
    parser.add_argument("--profile-records", type=int, default=100_000)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not (Path(sys.executable).parent / TARGET_SCRIPT).exists():
        raise SystemExit(f"run this with the project's venv python ({TARGET_SCRIPT} must be "
                         "beside it): .venv/bin/python benchmarks/run.py ...")
    env = child_env()
    code = code_under_test(args.rev, env)
    if args.profile:
        profile(args, env)
        return

    started = dt.datetime.now(dt.timezone.utc)
    load_at_start = os.getloadavg()[0]
    print(f"measuring {code}; {', '.join(f'{n:,}' for n in args.records)} records, "
          f"{args.repeat} rounds", flush=True)
    rows = measure(args, env)
    elapsed = (dt.datetime.now(dt.timezone.utc) - started).total_seconds()
    result = table(rows)
    checks = goals(rows, args.latency_ms)
    print()
    print(result)
    print()
    print("\n".join(checks))
    if args.no_write:
        return
    body = "\n".join([
        f"## {args.label}",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC; the matrix took {elapsed / 60:.1f} min",
        f"- Code measured: {code}",
        *machine(),
        f"- Load average (1 min): {load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} "
        "at the end (other work on the machine shows here)",
        f"- Command: `{command_line()}`",
        "",
        result,
        "",
        "Issue 7's goals on these numbers (the target validates records):",
        "",
        *checks,
    ])
    write_results(args.label, body)
    print(f"\nwritten to {RESULTS.relative_to(ROOT)} (section '{args.label}')")


if __name__ == "__main__":
    main()
