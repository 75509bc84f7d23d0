"""``foxden serve --workers 2`` on PostgreSQL and Redis, end to end: the real command in a
subprocess, real sockets, the real client. Each answer names its worker (``X-Foxden-Worker``)
so the tests pin a client to each worker and know they reached both.

The tests share one server and run in file order; the last two kill processes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from foxden import accounts
from foxden.client import ApiError, AuthError, Client, FoxError, RetryPolicy
from foxden.clock import RealClock
from foxden.server.fleet_lease import LOCK_KEY
from foxden.store import Store, open_store
from tests.conftest import fresh_postgres
from tests.redis_server import flush

ROOT = Path(__file__).resolve().parents[2]
NO_RETRY = RetryPolicy(max_retries=0)
QUOTA_PER_DEVICE = 200
DEMO_SN_PATTERN = re.compile(r"^[0-9A-Z]{15}$")


class WorkerTransport(httpx.HTTPTransport):
    """Keeps the worker pid of every answer."""

    def __init__(self) -> None:
        super().__init__()
        self.pids: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        pid = response.headers.get("x-foxden-worker")
        if pid:
            self.pids.append(int(pid))
        return response


@dataclass
class Workers:
    url: str
    data_dir: Path
    database_url: str
    proc: subprocess.Popen[bytes]
    store: Store
    log: Path
    clients: list[Client] = field(default_factory=list)

    @property
    def admin_token(self) -> str:
        return (self.data_dir / "admin-token").read_text().strip()

    @property
    def demo_key(self) -> str:
        return (self.data_dir / "demo-api-key").read_text().strip()

    def client(self, key: str, retry: RetryPolicy = NO_RETRY) -> tuple[Client, WorkerTransport]:
        transport = WorkerTransport()
        c = Client(key, self.url, transport=transport, retry=retry)
        self.clients.append(c)
        return c, transport

    def per_worker(self, key: str, retry: RetryPolicy = NO_RETRY) -> dict[int, Client]:
        """One client kept on each worker (its keep-alive connection stays there)."""
        found: dict[int, Client] = {}
        for _ in range(200):
            c, transport = self.client(key, retry)
            c.access_count()  # not counted against the quota
            found.setdefault(transport.pids[-1], c)
            if len(found) == 2:
                return found
        raise AssertionError(f"200 connections reached only workers {sorted(found)}")

    def worker_pids(self) -> set[int]:
        """The API workers (the supervisor's children but its fleet process)."""
        return set(children(self.proc.pid)) - {self.fleet_process()}

    def fleet_process(self) -> int:
        """The supervisor's fleet process now, from its log (started, or in place of one)."""
        said = re.findall(
            r"the fleet in process (\d+)|fleet process (\d+) started in place",
            self.log.read_text(),
        )
        assert said, self.log.read_text()
        first, replaced = said[-1]
        return int(first or replaced)

    def lease_holders(self) -> list[str]:
        """Who holds the fleet lease, as its connection names itself (``foxden fleet HOST
        PID``), from PostgreSQL's own lock table."""
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as db:
            rows = db.execute(
                "SELECT a.application_name FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.objid = %s AND l.granted "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                (LOCK_KEY,),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def clock(self) -> dict[str, Any]:
        """GET /admin/clock on a fresh connection (so on whichever worker the kernel picks)."""
        answer = httpx.get(
            self.url + "/admin/clock",
            headers={"x-admin-token": self.admin_token},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def fleet_runner(self, timeout: float = 20.0) -> int:
        """The pid of the process that holds the fleet lease now (exactly one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            holders = self.lease_holders()
            assert len(holders) <= 1, holders
            if holders:
                name, host, pid = holders[0].rsplit(" ", 2)
                assert name == "foxden fleet" and host == socket.gethostname()[:32]
                return int(pid)
            time.sleep(0.05)
        raise AssertionError("no process holds the fleet lease")


def children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory, redis_server: str) -> Iterator[Workers]:
    flush(redis_server)
    data_dir = tmp_path_factory.mktemp("workers")
    log = data_dir / "server.log"
    with fresh_postgres() as database_url:
        port = _free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "FOXDEN_DAILY_QUOTA_PER_DEVICE": str(QUOTA_PER_DEVICE),
            "FOXDEN_ACCESS_LOG": "false",
            "FOXDEN_LOG_LEVEL": "warning",
        }
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable, "-m", "foxden", "serve",
                    "--workers", "2",
                    "--port", str(port),
                    "--data-dir", str(data_dir),
                    "--database-url", database_url,
                    "--redis-url", redis_server,
                    "--demo-devices", "2",
                    "--backfill-days", "0",
                    "--speed", "600",
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(url + "/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        store = open_store(database_url)
        server = Workers(url, data_dir, database_url, proc, store, log)
        try:
            yield server
        finally:
            for c in server.clients:
                c.close()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            store.close()
    assert proc.returncode == 0, log.read_text()
    assert not children(proc.pid)


def errno_of(call: Any) -> int:
    try:
        call()
    except ApiError as exc:
        return exc.errno
    return 0


def test_two_workers_answer_and_the_fleet_runs_in_a_process_of_its_own(workers: Workers) -> None:
    assert len(workers.worker_pids()) == 2
    assert len(children(workers.proc.pid)) == 3  # and the fleet's
    pinned = workers.per_worker(workers.demo_key)
    assert set(pinned) == workers.worker_pids()
    assert workers.fleet_process() not in pinned
    for c in pinned.values():
        assert len(c.device_list().data) == 2
    started = workers.log.read_text()
    assert "2 workers, role all" in started
    assert "limits in Redis" in started
    help_text = subprocess.run(
        [sys.executable, "-m", "foxden", "serve", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"},
        check=True,
    ).stdout
    assert "one more process of its own" in re.sub(r"[\s│]+", " ", help_text)


def test_quota_is_exact_across_workers_under_50_callers(workers: Workers) -> None:
    now = RealClock().now_ms()
    _, key = accounts.create_account(workers.store, "quota", now)
    accounts.add_device(workers.store, "quota", "QUOTAH10000001", "H1-5.0-E", now)
    pinned = workers.per_worker(key)
    callers = [workers.client(key)[0] for _ in range(48)] + list(pinned.values())
    with ThreadPoolExecutor(50) as pool:
        results = list(
            pool.map(lambda i: errno_of(callers[i % 50].device_list), range(QUOTA_PER_DEVICE + 50))
        )
    assert Counter(results) == {0: QUOTA_PER_DEVICE, 40402: 50}
    for c in pinned.values():
        count = c.access_count()
        assert (count.total, count.remaining) == (str(QUOTA_PER_DEVICE), "0")


def test_per_path_pacing_is_exact_across_workers_under_50_callers(workers: Workers) -> None:
    now = RealClock().now_ms()
    _, key = accounts.create_account(workers.store, "pacing", now)
    accounts.add_device(workers.store, "pacing", "PACEH100000001", "H1-5.0-E", now)
    pinned = workers.per_worker(key)
    callers = [workers.client(key)[0] for _ in range(48)] + list(pinned.values())
    barrier = threading.Barrier(50)

    def call(c: Client) -> int:
        barrier.wait()
        return errno_of(lambda: c.real_time_v1(["PACEH100000001"]))

    started = time.monotonic()
    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(call, callers))
    elapsed = time.monotonic() - started
    # one call a second per key and path for the two workers together: one admitted in
    # each second the 50 calls took (one in all when they took less than a second)
    admitted = results.count(0)
    assert 1 <= admitted <= 1 + int(elapsed), (admitted, elapsed)
    assert set(results) == {0, 40400}
    remaining = int(pinned[min(pinned)].access_count().remaining)
    assert remaining == QUOTA_PER_DEVICE - admitted  # refused calls cost nothing
    # the second after one admitted call: refused on every worker
    first, second = pinned.values()
    time.sleep(1.0)
    assert errno_of(lambda: first.real_time_v1(["PACEH100000001"])) == 0
    assert errno_of(lambda: second.real_time_v1(["PACEH100000001"])) == 40400


def test_a_write_through_one_worker_is_read_through_every_worker(workers: Workers) -> None:
    now = RealClock().now_ms()
    _, key = accounts.create_account(workers.store, "readback", now)
    sn = "READH100000001"
    accounts.add_device(workers.store, "readback", sn, "H1-5.0-E", now)
    readers = list(workers.per_worker(key).values())
    for value in (91, 87):
        writer = readers[value % 2]
        writer.set_setting(sn, "MaxSoc", value)
        for reader in readers:
            assert float(reader.setting(sn, "MaxSoc").value) == value
        time.sleep(2.0)  # the cloud's spacing of setting writes to one inverter
    # a new key made through one worker works at once on both; the old one is refused
    answer = httpx.post(
        workers.url + "/admin/accounts/readback/key",
        headers={"x-admin-token": workers.admin_token},
        timeout=10,
    )
    new_key = answer.json()["key"]
    for c in readers:
        with pytest.raises(AuthError):
            c.device_list()
    for pid, c in workers.per_worker(new_key).items():
        assert [d.deviceSN for d in c.device_list().data] == [sn], pid


def _history_times(c: Client, sn: str, now_ms: int) -> list[str]:
    history = c.history(sn, now_ms - 6 * 3_600_000, now_ms, ["pvPower"])
    return [p.time for p in history[0].datas[0].data]


def test_one_fleet_runs_and_no_sample_is_stored_twice(workers: Workers) -> None:
    leader = workers.fleet_runner()
    assert leader == workers.fleet_process()
    assert leader not in workers.worker_pids()
    pinned = workers.per_worker(workers.demo_key, RetryPolicy(max_retries=5))
    c = pinned[min(pinned)]
    sn = c.device_list().data[0].deviceSN
    time.sleep(3)  # 600x: a sample per inverter every half second
    times = _history_times(c, sn, workers.clock()["now_ms"])
    assert len(times) >= 4
    assert len(times) == len(set(times))
    assert times == sorted(times)
    # only the fleet's worker stored samples
    stored: dict[int, float] = {}
    for _ in range(100):
        response = httpx.get(workers.url + "/metrics", timeout=10)
        pid = int(response.headers["x-foxden-worker"])
        found = re.search(r"^foxden_samples_stored_total (\S+)$", response.text, re.M)
        stored[pid] = float(found.group(1)) if found else 0.0
        if len(stored) == 2:
            break
    # the API workers stored none: the fleet's process did
    assert set(stored) == workers.worker_pids()
    assert list(stored.values()) == [0.0, 0.0]
    assert workers.store.latest([sn])[sn].time_ms > 0
    for _ in range(20):  # whichever worker answers says it does not run the fleet
        worker = workers.clock()["worker"]
        assert worker["pid"] in workers.worker_pids() and not worker["runs_fleet"]


def test_every_worker_froze_its_start_up_heap_times_its_collections_and_counts_its_readings(
    workers: Workers,
) -> None:
    workers.per_worker(workers.demo_key)  # an Open API call answered by each worker
    frozen: dict[int, float] = {}
    readings: dict[int, float] = {}
    for _ in range(100):
        response = httpx.get(workers.url + "/metrics", timeout=10)
        pid = int(response.headers["x-foxden-worker"])
        found = re.search(r"^foxden_gc_frozen_objects (\S+)$", response.text, re.M)
        assert found is not None
        assert re.search(r'^foxden_gc_pause_seconds_count\{generation="0"\} ', response.text, re.M)
        frozen[pid] = float(found.group(1))
        taken = re.search(r"^foxden_change_readings_total (\S+)$", response.text, re.M)
        assert taken is not None
        readings[pid] = float(taken.group(1))
        if len(frozen) == 2:
            break
    assert set(frozen) == workers.worker_pids()
    # each read the change counters (in Redis) on its loop before answering from its caches
    assert all(n >= 1 for n in readings.values()), readings
    # a forked worker inherits its parent's heap unfrozen: each froze its own before serving
    assert all(n > 10_000 for n in frozen.values()), frozen


def test_a_killed_worker_is_replaced_without_failing_other_calls(workers: Workers) -> None:
    before = workers.worker_pids()
    fleet = workers.fleet_runner()
    victim = min(before)
    failures: list[str] = []
    done = 0
    stop = threading.Event()

    def caller() -> None:
        # getAccessCount is answered by either worker but spends no quota: however fast the
        # machine, the callers cannot use up the demo key's day (the other tests need it)
        nonlocal done
        c, _ = workers.client(workers.demo_key)
        while not stop.is_set():
            try:
                c.access_count()
                done += 1
            except FoxError as exc:
                failures.append(str(exc))

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = workers.worker_pids()
        if len(now) == 2 and victim not in now:
            break
        time.sleep(0.1)
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    after = workers.worker_pids()
    assert len(after) == 2 and victim not in after
    assert len(failures) <= len(threads), failures  # at most the calls in flight
    assert done > 20
    pinned = workers.per_worker(workers.demo_key)
    assert set(pinned) == after
    assert f"worker {victim} killed by SIGKILL" in workers.log.read_text()
    assert workers.fleet_runner() == fleet  # the fleet went on in its own process


def test_a_killed_fleet_process_is_replaced_and_takes_the_fleet_over(workers: Workers) -> None:
    leader = workers.fleet_runner()
    api = workers.worker_pids()
    c, _ = workers.client(workers.demo_key, RetryPolicy(max_retries=5))
    sn = c.device_list().data[0].deviceSN
    os.kill(leader, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            successor = workers.fleet_runner(timeout=1)
        except (AssertionError, httpx.HTTPError):
            continue
        if successor != leader:
            break
    else:
        raise AssertionError("nobody took the fleet over")
    assert successor == workers.fleet_process()
    assert f"fleet process {leader} killed by SIGKILL" in workers.log.read_text()
    assert workers.worker_pids() == api  # the workers went on serving
    first = workers.store.latest([sn])[sn].time_ms
    deadline = time.monotonic() + 30  # the fleet goes on (its new process builds it first)
    while workers.store.latest([sn])[sn].time_ms <= first:
        assert time.monotonic() < deadline, "the fleet stopped with its process"
        time.sleep(0.2)
    times = _history_times(c, sn, workers.clock()["now_ms"])
    assert len(times) == len(set(times))
    assert times == sorted(times)
