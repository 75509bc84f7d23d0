"""The attack suite: hostile clients against a real foxden server on loopback.

    python bench/attack.py [--only NAME ...] [--examples 50] [--kills 3] [--no-postgres]

Each attack starts foxden through bench/launcher.py (uvicorn with the HTTP limits, as
``foxden serve`` runs it) on a temporary data dir, on 127.0.0.1 only, with bounded counts
and time, and prints what it tried, what it measured and whether the server held:

- ``slowloris``: 300 connections sending their headers one byte a second, while a normal
  client keeps calling; the normal calls' latency and how many slow connections the
  server closed;
- ``idle-flood``: ``max_connections + 100`` connections that send nothing; the extra ones
  must be refused at once (503), and normal calls work again once the idle ones time out;
- ``huge-header``: one 50 MB header sent as fast as the socket takes it; the bytes sent
  before the server refused it, and the server's memory;
- ``huge-body``: five 100 MB bodies (declared) and one endless chunked body, signed; each
  must get 413 before the body is read, and the server's memory must stay flat;
- ``schemathesis``: tests/server/test_schemathesis.py with ``--examples`` per operation and
  the coverage phase on (every operation, signed; no 5xx, no 41200);
- ``kill``: counted calls from 8 threads, kill -9 at a random moment, restart on the same
  data, ``--kills`` times; the acknowledged calls the quota lost (at most
  ``quota_flush_every - 1``) and that acknowledged plant writes survived;
- ``postgres``: foxden on a private PostgreSQL (started for the run, needs the server
  binaries), the database restarted under load; how long until calls succeed again.

Exit status 0 when every attack held, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

from auth_throughput import Server  # noqa: E402

from foxden import accounts  # noqa: E402
from foxden.clock import RealClock  # noqa: E402
from foxden.config import Settings  # noqa: E402
from foxden.protocol import signing  # noqa: E402
from foxden.store import open_store, url_for  # noqa: E402

PATH = "/op/v0/user/getAccessCount"
COUNTED = "/op/v0/device/list"
DEFAULTS = Settings()
HTTP = ["httptools"]
"""The launcher's --http: httptools (with foxden's limits), unguarded or h11 (without)."""


class Attack:
    """One attack's report: lines printed as it goes, and whether the server held."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failures: list[str] = []
        print(f"\n== {name}", flush=True)

    def note(self, text: str) -> None:
        print(f"   {text}", flush=True)

    def check(self, ok: bool, text: str) -> None:
        print(f"   [{'ok' if ok else 'FAIL'}] {text}", flush=True)
        if not ok:
            self.failures.append(text)


def make_account(data_dir: Path, url: str | None = None) -> str:
    store = open_store(url or url_for(data_dir))
    try:
        now = RealClock().now_ms()
        _, key = accounts.create_account(store, "attack", now)
        accounts.add_device(store, "attack", "ATTACK000001", "H1-5.0-E", now)
    finally:
        store.close()
    return key


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOXDEN_")}
    env.update(
        FOXDEN_DATA_DIR=str(data_dir),
        FOXDEN_LIMIT_PROFILE="off",
        FOXDEN_LOG_LEVEL="warning",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        **extra,
    )
    return env


@contextmanager
def foxden(
    work: Path, data_dir: Path, key: str, name: str = "foxden", **env: str
) -> Iterator[Server]:
    tag = work / name
    tag.mkdir(exist_ok=True)
    server = Server("foxden", tag, "auto", HTTP[0], server_env(data_dir, **env))
    try:
        server.wait_ready(signed(key))
        yield server
    finally:
        server.stop()


@contextmanager
def attacked(work: Path, name: str, **env: str) -> Iterator[tuple[Server, str]]:
    """foxden on a fresh data dir ``work/name`` with one account, and the account's key."""
    data = work / name
    key = make_account(data)
    with foxden(work, data, key, name, **env) as server:
        yield server, key


def check_unharmed(attack: Attack, server: Server, key: str, before_mb: float, memory: str) -> None:
    """After an attack: the server's memory did not grow by 50 MB, and it still answers."""
    after = rss_mb(server.proc.pid)
    works = timed_call(server.port, key) is not None
    attack.note(f"server memory {before_mb:.0f} MB before, {after:.0f} MB after")
    attack.check(after - before_mb < 50, memory)
    attack.check(works, "normal calls still answer")


def signed(key: str, path: str = PATH) -> dict[str, str]:
    return signing.headers(path, key, RealClock().now_ms())


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed_call(port: int, key: str) -> float | None:
    """Seconds one signed call took, None when it failed."""
    start = time.monotonic()
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}{PATH}", headers=signed(key), timeout=30)
    except httpx.HTTPError:
        return None
    if answer.status_code != 200 or answer.json().get("errno") != 0:
        return None  # e.g. the 503 of a full server
    return time.monotonic() - start


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=30)


def closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(65536) == b"" or True
    except BlockingIOError:
        return False
    except OSError:
        return True


# ------------------------------------------------------------------ the attacks


def slowloris(work: Path, args: argparse.Namespace) -> Attack:
    attack = Attack("slowloris: 300 connections sending headers a byte a second")
    with attacked(work, "slowloris", FOXDEN_HEADER_TIMEOUT_S="5") as (server, key):
        baseline = [t for t in (timed_call(server.port, key) for _ in range(20)) if t]
        slow = [connect(server.port) for _ in range(300)]
        for sock in slow:
            sock.sendall(b"GET " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n")
        latencies: list[float] = []
        failed = 0
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            for sock in slow:
                with suppress(OSError):
                    sock.sendall(b"X")
            for _ in range(10):
                t = timed_call(server.port, key)
                if t is None:
                    failed += 1
                else:
                    latencies.append(t)
            time.sleep(0.5)
        closed = sum(closed_by_server(s) for s in slow)
        for sock in slow:
            sock.close()
    latencies.sort()
    median = latencies[len(latencies) // 2] * 1000 if latencies else float("nan")
    attack.note(f"normal calls before: median {sorted(baseline)[len(baseline) // 2] * 1000:.1f} ms")
    attack.note(
        f"normal calls during: {len(latencies)} ok, {failed} failed, median {median:.1f} ms, "
        f"max {latencies[-1] * 1000 if latencies else float('nan'):.1f} ms"
    )
    attack.check(failed == 0, "every normal call during the attack answered errno 0")
    attack.check(closed == 300, f"the server closed {closed} of 300 slow connections (5 s limit)")
    return attack


def idle_flood(work: Path, args: argparse.Namespace) -> Attack:
    limit = 200
    attack = Attack(f"idle-flood: {limit + 100} connections that send nothing (limit {limit})")
    env = {"FOXDEN_MAX_CONNECTIONS": str(limit), "FOXDEN_HEADER_TIMEOUT_S": "3"}
    with attacked(work, "idle", **env) as (server, key):
        idle = [connect(server.port) for _ in range(limit)]
        time.sleep(0.2)
        refused = 0
        start = time.monotonic()
        for _ in range(100):
            sock = connect(server.port)
            sock.settimeout(1)
            with suppress(OSError):
                refused += sock.recv(64).startswith(b"HTTP/1.1 503")
            sock.close()
        took = time.monotonic() - start
        attack.check(refused == 100, f"{refused} of 100 extra connections refused with 503")
        attack.note(f"refusing them took {took * 1000 / 100:.1f} ms each")
        recovered = None
        start = time.monotonic()
        while time.monotonic() - start < 15:
            if timed_call(server.port, key) is not None:
                recovered = time.monotonic() - start
                break
            time.sleep(0.1)
        attack.check(recovered is not None, "normal calls work again once the idle ones time out")
        if recovered is not None:
            attack.note(f"normal calls back after {recovered:.1f} s (header timeout 3 s)")
        for sock in idle:
            sock.close()
    return attack


def huge_header(work: Path, args: argparse.Namespace) -> Attack:
    attack = Attack("huge-header: one 50 MB header as fast as the socket takes it")
    with attacked(work, "header") as (server, key):
        before = rss_mb(server.proc.pid)
        sock = connect(server.port)
        sock.sendall(b"GET " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sent = 0
        piece = b"a" * 65536
        try:
            while sent < 50 * 2**20:
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass
        answer = b""
        try:
            sock.settimeout(5)
            answer = sock.recv(200)
        except OSError:
            pass
        sock.close()
        attack.note(f"sent {sent / 2**20:.1f} MB before the server stopped reading")
        attack.check(
            answer.startswith(b"HTTP/1.1 431") or sent < 50 * 2**20,
            f"refused ({answer[:40]!r})",
        )
        check_unharmed(attack, server, key, before, "the server's memory did not grow")
    return attack


def huge_body(work: Path, args: argparse.Namespace) -> Attack:
    attack = Attack("huge-body: five 100 MB signed bodies and an endless chunked one")
    with attacked(work, "body") as (server, key):
        before = rss_mb(server.proc.pid)
        statuses = []
        for _ in range(5):
            sock = connect(server.port)
            head = "".join(f"{k}: {v}\r\n" for k, v in signed(key, COUNTED).items())
            sock.sendall(
                f"POST {COUNTED} HTTP/1.1\r\nHost: x\r\n{head}"
                f"Content-Length: {100 * 2**20}\r\n\r\n".encode()
            )
            try:
                for _ in range(1600):  # up to 100 MB, until the server closes
                    sock.sendall(b"{" * 65536)
            except OSError:
                pass
            sock.settimeout(5)
            try:
                statuses.append(int(sock.recv(64).split()[1]))
            except (OSError, IndexError, ValueError):
                statuses.append(0)
            sock.close()
        sock = connect(server.port)
        sock.sendall(
            f"POST {COUNTED} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        chunked_sent = 0
        try:
            while chunked_sent < 100 * 2**20:
                sock.sendall(b"10000\r\n" + b"a" * 65536 + b"\r\n")
                chunked_sent += 65536
        except OSError:
            pass
        sock.close()
        attack.note(f"statuses of the five 100 MB bodies: {statuses}")
        attack.note(f"chunked body: {chunked_sent / 2**20:.1f} MB sent before the server closed")
        attack.check(statuses == [413] * 5, "each 100 MB body answered 413")
        check_unharmed(attack, server, key, before, "the server's memory stayed flat")
    return attack


def schemathesis_run(work: Path, args: argparse.Namespace) -> Attack:
    attack = Attack(
        f"schemathesis: every operation of /openapi.json, signed, {args.examples} examples "
        "each plus the coverage phase"
    )
    env = {
        **os.environ,
        "FOXDEN_SCHEMATHESIS_EXAMPLES": str(args.examples),
        "FOXDEN_SCHEMATHESIS_COVERAGE": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/server/test_schemathesis.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600, check=False,
    )  # fmt: skip
    summary = [line for line in done.stdout.splitlines() if "passed" in line or "failed" in line]
    attack.note(summary[-1] if summary else done.stdout[-500:])
    attack.check(done.returncode == 0, "no 5xx and no 41200 for generated input")
    return attack


def kill_during_writes(work: Path, args: argparse.Namespace) -> Attack:
    bound = DEFAULTS.quota_flush_every - 1
    attack = Attack(f"kill: kill -9 during counted calls, {args.kills} times (bound {bound})")
    data = work / "kill"
    key = make_account(data)
    losses = []
    for n in range(args.kills):
        lock = threading.Lock()
        stop = threading.Event()
        with foxden(work, data, key, f"kill{n}") as server:
            used_before = quota_used(server.port, key)

            counts: list[int] = []
            threads = [
                threading.Thread(target=hammer, args=(server.port, key, stop, counts, lock))
                for _ in range(8)
            ]
            for thread in threads:
                thread.start()
            time.sleep(random.uniform(0.5, 2.0))
            os.kill(server.proc.pid, signal.SIGKILL)
            stop.set()
            for thread in threads:
                thread.join()
            acknowledged = sum(counts)
        with foxden(work, data, key, f"kill{n}-after") as again:
            used_after = quota_used(again.port, key)
        counted = used_after - used_before
        lost = max(0, acknowledged - counted)
        losses.append(lost)
        attack.note(
            f"kill {n + 1}: {acknowledged} calls acknowledged, {counted} counted after the "
            f"restart ({lost} lost; a call counted but killed before its answer counts extra)"
        )
    attack.check(max(losses) <= bound, f"at most {bound} counted calls lost (lost {losses})")
    return attack


def hammer(
    port: int, key: str, stop: threading.Event, counts: list[int], lock: threading.Lock
) -> None:
    """Counted calls until stopped or the server dies; appends how many answered errno 0."""
    acknowledged = 0
    body = {"currentPage": 1, "pageSize": 10}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        while not stop.is_set():
            try:
                answer = client.post(COUNTED, headers=signed(key, COUNTED), json=body)
            except httpx.HTTPError:
                break
            if answer.json().get("errno") == 0:
                acknowledged += 1
    with lock:
        counts.append(acknowledged)


def quota_used(port: int, key: str) -> int:
    answer = httpx.get(f"http://127.0.0.1:{port}{PATH}", headers=signed(key), timeout=10).json()
    return int(answer["result"]["total"]) - int(answer["result"]["remaining"])


def postgres_restart(work: Path, args: argparse.Namespace) -> Attack:
    attack = Attack("postgres: the database restarted while clients call")
    from tests.private_postgres import _bin_dir, private_postgres

    if _bin_dir() is None:
        attack.note("skipped: no PostgreSQL server binaries on this machine")
        return attack
    import pytest

    try:
        with private_postgres() as pg:
            key = make_account(work, pg.url)
            data = work / "pg"
            env = {"FOXDEN_DATABASE_URL": pg.url}
            with foxden(work, data, key, "pg", **env) as server:
                ok_before = timed_call(server.port, key) is not None
                pg.stop()
                start = time.monotonic()
                down = [timed_call(server.port, key) for _ in range(5)]
                pg.start()
                restarted = time.monotonic()
                back = None
                while time.monotonic() - restarted < 30:
                    if timed_call(server.port, key) is not None:
                        back = time.monotonic() - restarted
                        break
                    time.sleep(0.05)
                attack.note(
                    f"database away {restarted - start:.1f} s; "
                    f"{sum(d is None for d in down)} of 5 calls failed meanwhile (errno 41200)"
                )
                attack.check(ok_before, "calls worked before")
                attack.check(back is not None, "calls work again without restarting foxden")
                if back is not None:
                    attack.note(f"first successful call {back:.2f} s after the database was up")
    except pytest.skip.Exception as exc:
        attack.note(f"skipped: {exc}")
    return attack


ATTACKS: dict[str, Callable[[Path, argparse.Namespace], Attack]] = {
    "slowloris": slowloris,
    "idle-flood": idle_flood,
    "huge-header": huge_header,
    "huge-body": huge_body,
    "schemathesis": schemathesis_run,
    "kill": kill_during_writes,
    "postgres": postgres_restart,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(ATTACKS), help="run only these")
    parser.add_argument("--examples", type=int, default=50, help="schemathesis examples/op")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--http",
        choices=["httptools", "unguarded", "h11"],
        default="httptools",
        help="server under attack: foxden's limits on httptools (default), or uvicorn's "
        "own httptools or h11 protocol without them, to compare",
    )
    args = parser.parse_args(argv)
    HTTP[0] = args.http
    names = args.only or [n for n in ATTACKS if not (n == "postgres" and args.no_postgres)]
    work = Path(tempfile.mkdtemp(prefix="foxden-attack-"))
    attacks: list[Attack] = []
    try:
        for name in names:
            attacks.append(ATTACKS[name](work, args))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\nsummary:")
    for attack in attacks:
        verdict = "held" if not attack.failures else "FAILED: " + "; ".join(attack.failures)
        print(f"  {attack.name.split(':')[0]:<13} {verdict}")
    print(json.dumps({a.name.split(":")[0]: not a.failures for a in attacks}))
    return 0 if all(not a.failures for a in attacks) else 1


if __name__ == "__main__":
    sys.exit(main())
