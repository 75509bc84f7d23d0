"""Mutation testing of foxden's rule-bearing code, in shards a small shared machine can run.

Each shard is one module (or a few) of protocol/, server/areas/, server/limits.py, store/ or
sim/'s control code, with the tests that exercise it. A shard runs mutmut in its own scratch
copy of the repository (``.mutation/SHARD/``) under ``nice -n 15``, so the rest of the machine
keeps its share. mutmut keeps every verdict in the copy's ``mutants/`` folder, so a shard
stopped by ``--minutes`` (or by anything else) carries on where it left off when it is run
again: the script is resumable, and ``--report`` prints the figures gathered so far without
running anything.

    python tools/mutation.py --list
    python tools/mutation.py signing timefmt --minutes 20
    python tools/mutation.py --report
    python tools/mutation.py signing --survivors      # then: mutmut show NAME in .mutation/signing
    python tools/mutation.py signing --again          # survivors only, with the new tests

The table gives, per module: mutants, killed (a test failed or timed out), survived (every
selected test passed), no tests (no selected test calls the mutated function), not yet run,
and killed as a share of the mutants that ran with a test to catch them.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / ".mutation"
NO_TESTS = 33
"""mutmut's exit code for a mutant no selected test reaches."""


@dataclass(frozen=True)
class Shard:
    name: str
    sources: tuple[str, ...]
    """Files under src/ to mutate."""
    tests: tuple[str, ...]
    """The test files (or node ids) that exercise them: the selection mutmut runs."""
    only: tuple[str, ...] = ()
    """Mutant name patterns (fnmatch) to run and count; empty: every mutant of ``sources``.
    For a module of which only some functions carry rules the shard's tests can reach."""
    postgres: bool = False
    """Pass ``FOXDEN_TEST_POSTGRES_URL`` on (the other shards run on SQLite only)."""

    def counts(self, name: str) -> bool:
        return not self.only or any(fnmatch.fnmatchcase(name, p) for p in self.only)


_STORE_TELEMETRY_TESTS = ("tests/telemetry/test_store_rules.py",)
"""One rule a test on a SQLite file, under a second for the file: test_store.py and
test_tail.py (property tests, a fleet, a killed process) spend 5 to 25 s a mutant."""

_ACCOUNT_RULES = (
    "create_account",
    "set_key_hash",
    "account_by_key_hash",
    "account_by_name",
    "accounts",
    "usage",
    "save_usage",
    "_cached",
    "_sync_changes",
)
"""The functions of sqlite.py that carry the account and key rules (and the cache a key
look-up goes through); the rest of the module is plumbing the other store shards reach."""

SHARDS = (
    Shard("signing", ("src/foxden/protocol/signing.py",), ("tests/protocol/test_signing.py",)),
    Shard("timefmt", ("src/foxden/protocol/timefmt.py",), ("tests/protocol/test_timefmt.py",)),
    Shard(
        "identities",
        ("src/foxden/protocol/identities.py",),
        ("tests/protocol/test_identities.py",),
    ),
    Shard(
        "catalogue",
        ("src/foxden/protocol/catalogue.py", "src/foxden/protocol/errno.py"),
        ("tests/protocol/test_catalogue.py", "tests/protocol/test_contract.py"),
    ),
    Shard(
        "limits",
        ("src/foxden/server/limits.py",),
        ("tests/server/test_limits_rules.py",),
    ),
    Shard(
        "control",
        ("src/foxden/sim/control.py",),
        ("tests/sim/test_control_rules.py",),
    ),
    Shard(
        "codec",
        ("src/foxden/store/codec.py",),
        ("tests/telemetry/test_codec.py", "tests/telemetry/test_store.py::test_codec_round_trip"),
    ),
    Shard(
        "days",
        ("src/foxden/store/days.py",),
        ("tests/telemetry/test_days.py",),
    ),
    Shard(
        "areas-settings",
        ("src/foxden/server/areas/settings.py",),
        ("tests/server/test_settings_handlers.py",),
    ),
    Shard(
        "areas-plant",
        ("src/foxden/server/areas/plant.py",),
        ("tests/server/test_plant_handlers.py",),
    ),
    Shard(
        "scheduling",
        ("src/foxden/server/scheduling.py",),
        ("tests/server/test_scheduling_cases.py", "tests/server/test_scheduler_handlers.py"),
    ),
    Shard(
        "areas-scheduler",
        ("src/foxden/server/areas/scheduler.py",),
        ("tests/server/test_scheduler_handlers.py",),
    ),
    Shard(
        "areas-devices",
        (
            "src/foxden/server/areas/battery.py",
            "src/foxden/server/areas/peak_shaving.py",
            "src/foxden/server/areas/battery_heating.py",
            "src/foxden/server/areas/device.py",
            "src/foxden/server/areas/module.py",
        ),
        ("tests/server/test_device_handlers.py",),
    ),
    Shard(
        "areas-telemetry",
        ("src/foxden/server/areas/telemetry.py",),
        ("tests/server/test_telemetry_handlers.py",),
    ),
    Shard(
        "store-reads",
        ("src/foxden/store/sql_telemetry.py",),
        _STORE_TELEMETRY_TESTS,
    ),
    Shard(
        "store-ingest",
        ("src/foxden/store/telemetry_write.py",),
        # with the readers let in between an ingest's parts (a quarter of a second)
        (*_STORE_TELEMETRY_TESTS, "tests/telemetry/test_ingest_turns.py"),
    ),
    Shard(
        "store-changes",
        ("src/foxden/store/changes.py",),
        ("tests/server/test_account_store.py",),
        # the PostgreSQL listener (its own connection, in a thread) is left to the
        # live tests of tests/server/test_caches.py
        only=(
            "foxden.store.changes.x*TopicCaches*",
            "foxden.store.changes.x*WalMarker*",
            "foxden.store.changes.x_payload__*",
            "foxden.store.changes.x_parse_payload__*",
        ),
    ),
    Shard(
        "store-snapshot",
        ("src/foxden/store/snapshot.py",),
        ("tests/server/test_account_store.py",),
    ),
    Shard(
        "store-accounts",
        ("src/foxden/store/sqlite.py",),
        ("tests/server/test_account_store.py",),
        only=(
            *(f"foxden.store.sqlite.xǁSqlStoreǁ{name}__mutmut_*" for name in _ACCOUNT_RULES),
            "foxden.store.sqlite.xǁSQLiteStoreǁ_sync_changes__mutmut_*",
        ),
    ),
    Shard(
        "store-postgres",
        ("src/foxden/store/postgres.py", "src/foxden/store/waiting.py"),
        (
            "tests/server/test_postgres_store.py",
            "tests/server/test_change_checks.py",
            "tests/server/test_loop_reads.py",
            "tests/telemetry/test_ingest_turns.py",  # the lock readers take turns on
            "tests/server/test_read_connections.py",  # readers on connections of their own
        ),
        postgres=True,
    ),
)
BY_NAME = {shard.name: shard for shard in SHARDS}


def _config(shard: Shard) -> str:
    sources = ", ".join(json.dumps(s) for s in shard.sources)
    tests = ", ".join(json.dumps(t) for t in shard.tests)
    return (
        "\n[tool.mutmut]\n"
        f"source_paths = [{sources}]\n"
        f"pytest_add_cli_args_test_selection = [{tests}]\n"
        'also_copy = ["src", "tests", "tools", "docs"]\n'
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]\n'
    )


def _sync(work: Path) -> None:
    """Bring the copy's tests (and mutmut's own copy of them) up to the repository's, so
    tests written to kill survivors take part when the shard runs again; and its sources,
    with their times kept (``copy2``): mutmut makes the mutants of a source file newer than
    its mutants again, and forgets the verdicts of the functions whose text changed (it keeps
    a hash of each), so a run after a change tests those functions' mutants afresh."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for source, target in (
        ("tests", work / "tests"),
        ("tests", work / "mutants" / "tests"),
        ("src", work / "src"),
    ):
        if target.exists():
            shutil.rmtree(target)
            shutil.copytree(ROOT / source, target, ignore=ignore)


def prepare(shard: Shard) -> Path:
    """The shard's scratch copy; made once, so mutmut's verdicts in it survive a stop."""
    work = SCRATCH / shard.name
    text = (ROOT / "pyproject.toml").read_text("utf-8") + _config(shard)
    if (work / "pyproject.toml").exists():
        _sync(work)
    else:
        work.mkdir(parents=True, exist_ok=True)
        for folder in ("src", "tests", "tools", "docs"):
            shutil.copytree(
                ROOT / folder,
                work / folder,
                ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
            )
    (work / "pyproject.toml").write_text(text, "utf-8")  # the selection as it is now
    return work


def run(shard: Shard, minutes: float, children: int, again: bool) -> None:
    work = prepare(shard)
    env = {**os.environ, "PYTHONPATH": str(work / "src")}
    if not shard.postgres:  # SQLite only: PostgreSQL cases skip
        env.pop("FOXDEN_TEST_POSTGRES_URL", None)
    elif not env.get("FOXDEN_TEST_POSTGRES_URL"):
        raise SystemExit(f"{shard.name} needs FOXDEN_TEST_POSTGRES_URL (a PostgreSQL server)")
    # the vendor's material sits beside the repository, not beside the scratch copy
    env.setdefault("FOXDEN_SHARED_DIR", str(ROOT.parent / "shared"))
    command = ["nice", "-n", "15", sys.executable, "-m", "mutmut", "run"]
    command += ["--max-children", str(children)]
    if again:  # the survivors and the untested, against the tests as they are now
        names = survivors(shard) + (_keys(shard, lambda code: code == NO_TESTS) or [])
        if not names:
            return
        # which test reaches which function is kept from the first run and only new test
        # functions are added to it: a changed test must be traced again to be selected
        (work / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
        command += names
    elif shard.only:  # mutmut runs named mutants again, so name only those not yet run
        _generate(work, env)  # first: the mutants of functions changed since are not yet run
        pending = _keys(shard, lambda code: code is None)
        if pending is not None and not pending:
            return
        command += list(shard.only) if pending is None else pending
    print(f"{shard.name}: mutmut in {work} for at most {minutes:g} min", flush=True)
    # in a session of its own, so that a stop ends mutmut's forked children with it (one
    # left behind would go on running a mutant's tests, and hold the store's files)
    proc = subprocess.Popen(
        command,
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        proc.wait(timeout=minutes * 60)
    except subprocess.TimeoutExpired:
        print(f"{shard.name}: stopped after {minutes:g} min; run it again to carry on")
    finally:
        if proc.poll() is None or _group_alive(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()


_GENERATE = """
import mutmut.__main__ as m
m.set_mutant_under_test("mutant_generation")
m.copy_src_dir()
m.copy_also_copy_files()
m.setup_source_paths()
m.store_lines_covered_by_tests()
m.create_mutants(1)
"""
"""mutmut's first step alone (as ``mutmut run`` takes it): the mutants made afresh from the
sources, the verdicts of the functions whose text changed forgotten."""


def _generate(work: Path, env: dict[str, str]) -> None:
    """Bring the copy's mutants up to its sources without running any: a shard that names
    its mutants (``only``) must know which of them a change left to run before naming them."""
    if (work / "mutants").exists():
        command = ["nice", "-n", "15", sys.executable, "-c", _GENERATE]
        subprocess.run(command, cwd=work, env=env, check=True, stdout=subprocess.DEVNULL)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def verdicts(shard: Shard) -> dict[str, Counter[str]]:
    """Per mutated module, how many mutants ended each way (``not run`` for pending)."""
    from mutmut.stats import status_by_exit_code

    found: dict[str, Counter[str]] = {}
    for source in shard.sources:
        meta = SCRATCH / shard.name / "mutants" / (source + ".meta")
        counts: Counter[str] = Counter()
        if meta.exists():
            codes = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
            for key, code in codes.items():
                if not shard.counts(key):
                    continue
                counts["not run" if code is None else status_by_exit_code[code]] += 1
        found[source.removeprefix("src/foxden/")] = counts
    return found


def report(shards: list[Shard]) -> None:
    columns = ("mutants", "killed", "survived", "no tests", "not run", "killed %")
    print(f"{'module':36} " + " ".join(f"{c:>9}" for c in columns))
    totals: Counter[str] = Counter()
    for shard in shards:
        for module, counts in verdicts(shard).items():
            killed = counts["killed"] + counts["timeout"]
            ran = killed + counts["survived"]
            share = f"{100 * killed / ran:.1f}" if ran else "-"
            row = (sum(counts.values()), killed, counts["survived"], counts["no tests"],
                   counts["not run"])  # fmt: skip
            print(f"{module:36} " + " ".join(f"{v:>9}" for v in row) + f" {share:>9}")
            totals.update(counts)
    killed = totals["killed"] + totals["timeout"]
    ran = killed + totals["survived"]
    share = f"{100 * killed / ran:.1f}" if ran else "-"
    total = (sum(totals.values()), killed, totals["survived"], totals["no tests"],
             totals["not run"])  # fmt: skip
    print(f"{'all':36} " + " ".join(f"{v:>9}" for v in total) + f" {share:>9}")


def _keys(shard: Shard, keep: Callable[[int | None], bool]) -> list[str] | None:
    """The shard's mutants whose exit code (None: not run) ``keep`` accepts; None before
    mutmut made any."""
    names: list[str] = []
    metas = [SCRATCH / shard.name / "mutants" / (s + ".meta") for s in shard.sources]
    if not any(meta.exists() for meta in metas):
        return None
    for meta in metas:
        if meta.exists():
            codes = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
            names += [k for k, v in codes.items() if shard.counts(k) and keep(v)]
    return names


def survivors(shard: Shard) -> list[str]:
    """The names of the surviving mutants (``mutmut show NAME`` in the scratch copy)."""
    from mutmut.stats import status_by_exit_code

    found = _keys(shard, lambda code: code is not None and status_by_exit_code[code] == "survived")
    return found or []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shards", nargs="*", help="shard names (default: every shard)")
    parser.add_argument("--list", action="store_true", help="list the shards and exit")
    parser.add_argument("--report", action="store_true", help="only print the figures")
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    parser.add_argument("--minutes", type=float, default=30.0, help="time limit per shard")
    parser.add_argument("--children", type=int, default=2, help="mutants run at once")
    parser.add_argument(
        "--again",
        action="store_true",
        help="run only the survivors and the untested again (after new tests)",
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.shards if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown shard {', '.join(unknown)} (--list lists them)")
    chosen = [BY_NAME[n] for n in args.shards] or list(SHARDS)
    if args.list:
        for shard in chosen:
            print(f"{shard.name:16} {' '.join(shard.sources)}  <-  {' '.join(shard.tests)}")
        return 0
    if not args.report and not args.survivors:
        for shard in chosen:
            run(shard, args.minutes, args.children, args.again)
    if args.survivors:
        for shard in chosen:
            for name in survivors(shard):
                print(f"{shard.name}: {name}")
        return 0
    report(chosen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
