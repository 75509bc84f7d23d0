"""Throughput of foxden's authenticated call against a bare ASGI app, over loopback.

    python bench/auth_throughput.py [--duration 10] [--connections 32] [--threads 1]

Starts two servers in their own processes, with the same uvicorn options: a raw ASGI app
returning a fixed JSON body (bench/bare_app.py) and foxden's ``create_app`` on a temporary
data dir holding one account with one device, limits raised so nothing is refused. One
set of signed headers (valid for a day) is sent with every request, so each foxden
request runs the whole auth path: header check, timestamp window, token-hash lookup in
the store, md5 signature check, rate limiter, then the getAccessCount handler's quota
read. wrk drives bare, foxden, then bare again (``--rounds N`` repeats the foxden, bare
pair N times); the mean of the bare runs is the baseline. ``--profile`` then runs the
foxden server once more under cProfile and prints where its time goes.

Exit status: 0 when the ratio meets the target and no request failed, 1 otherwise,
2 when wrk is not installed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.metadata
import importlib.util
import io
import json
import os
import platform
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from foxden import accounts
from foxden.clock import RealClock
from foxden.protocol import signing
from foxden.store import open_store, url_for

HERE = Path(__file__).resolve().parent
LAUNCHER = HERE / "launcher.py"
PATH = "/op/v0/user/getAccessCount"
TARGET_RATIO = 0.35
HUGE = 1_000_000_000
INSTALL_WRK = "apt-get update && apt-get install -y wrk"


# ------------------------------------------------------------------ wrk output


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    output: str


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _latency_ms(output: str, percent: str) -> float:
    found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.MULTILINE)
    if found is None:
        raise ValueError(f"wrk printed no {percent}% latency line")
    return float(found.group(1)) * _UNITS_MS[found.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """The figures of one ``wrk --latency`` run."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in ", output, re.MULTILINE)
    if rps is None or total is None:
        raise ValueError("wrk printed no Requests/sec line")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkResult(
        requests=int(total.group(1)),
        rps=float(rps.group(1)),
        p50_ms=_latency_ms(output, "50"),
        p99_ms=_latency_ms(output, "99"),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
        output=output,
    )


def run_wrk(
    url: str,
    headers: dict[str, str],
    seconds: int,
    connections: int,
    threads: int,
    script: Path | None = None,
) -> WrkResult:
    """One wrk run (wrk takes whole seconds); ``script``: a wrk Lua script (e.g. a POST)."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return parse_wrk(done.stdout)


# ------------------------------------------------------------------ servers


class Server:
    """One launcher subprocess serving a target on 127.0.0.1."""

    def __init__(
        self,
        target: str,
        work: Path,
        loop: str,
        http: str,
        env: dict[str, str],
        profile: Path | None = None,
        extra: tuple[str, ...] = (),
        tag: str = "",
    ) -> None:
        self.target = target
        tag = tag or f"{target}{'-profiled' if profile else ''}"
        self.port_file = work / f"{tag}.port"
        self.stats_file = work / f"{tag}.stats.json"
        self.log_file = work / f"{tag}.log"
        command = [
            sys.executable,
            str(LAUNCHER),
            target,
            "--port-file",
            str(self.port_file),
            "--stats-file",
            str(self.stats_file),
            "--loop",
            loop,
            "--http",
            http,
        ]
        if profile is not None:
            command += ["--profile", str(profile)]
        command += extra
        self._log = self.log_file.open("wb")
        self.proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, env=env
        )
        self.port = 0

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self.url_of(PATH)

    def url_of(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def rss_mb(self) -> float:
        """The server process's resident memory now, MB (Linux /proc)."""
        return rss_mb(self.proc.pid)

    def wait_ready(self, headers: dict[str, str], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.port_file.exists():
            self._check_alive(deadline)
            time.sleep(0.02)
        self.port = int(self.port_file.read_text("utf-8"))
        while True:
            try:
                get(self.port, headers)
                return
            except OSError:
                self._check_alive(deadline)
                time.sleep(0.02)

    def _check_alive(self, deadline: float) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.target} server exited:\n{self.log()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{self.target} server did not start:\n{self.log()}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_file.read_text("utf-8", errors="replace")

    def stop(self) -> dict[str, object]:
        """Stop the server gracefully (SIGTERM, then SIGKILL); its error counts."""
        stop_process(self.proc)
        self._log.close()
        if not self.stats_file.exists():
            return {}
        stats: dict[str, object] = json.loads(self.stats_file.read_text("utf-8"))
        return stats


def stop_process(
    proc: subprocess.Popen[Any], timeout_s: float = 15, killed_timeout_s: float | None = None
) -> None:
    """Stop ``proc`` gracefully: SIGTERM, then SIGKILL when it has not ended within
    ``timeout_s`` (then waited for, at most ``killed_timeout_s``); nothing if it ended."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=killed_timeout_s)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB (VmRSS of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text("ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def get(
    port: int,
    headers: dict[str, str],
    path: str = PATH,
    method: str = "GET",
    body: bytes | None = None,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# ------------------------------------------------------------------ the bench


def pick_implementations(loop: str | None, http: str | None) -> tuple[str, str]:
    """uvloop and httptools when installed (``uvicorn[standard]``), else asyncio and h11."""
    if loop is None:
        loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    if http is None:
        http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return loop, http


def make_account(data_dir: Path) -> str:
    """An account with one device in a fresh store; its API key."""
    store = open_store(url_for(data_dir))
    try:
        now = RealClock().now_ms()
        _, key = accounts.create_account(store, "bench", now)
        accounts.add_device(store, "bench", "BENCH0000001", "H1-5.0-E", now)
    finally:
        store.close()
    return key


def server_env(data_dir: Path) -> dict[str, str]:
    """The environment of the servers: no inherited FOXDEN_* settings, limits raised."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOXDEN_")}
    env.update(
        FOXDEN_DATA_DIR=str(data_dir),
        FOXDEN_LIMIT_PROFILE="off",
        FOXDEN_RATE_PER_SECOND=str(float(HUGE)),
        FOXDEN_RATE_BURST=str(HUGE),
        FOXDEN_DAILY_QUOTA_PER_DEVICE=str(HUGE),
        FOXDEN_TIMESTAMP_WINDOW_S="86400",
        FOXDEN_LOG_LEVEL="warning",
        PYTHONUNBUFFERED="1",
    )
    return env


def cpu_busy(seconds: float = 1.0) -> float | None:
    """The share of all CPUs in use over ``seconds`` (Linux /proc/stat), else None."""

    def sample() -> tuple[int, int] | None:
        try:
            fields = Path("/proc/stat").read_text("ascii").splitlines()[0].split()[1:]
        except (OSError, IndexError):
            return None
        ticks = [int(f) for f in fields]
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
        return sum(ticks), idle

    first = sample()
    time.sleep(seconds)
    second = sample()
    if first is None or second is None or second[0] == first[0]:
        return None
    total, idle = second[0] - first[0], second[1] - first[1]
    return 1.0 - idle / total


def versions() -> str:
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    wrk_line = (wrk.stdout or wrk.stderr).splitlines()[0].split(" Copyright")[0]
    parts = [f"python {platform.python_version()}"]
    for dist in ("uvicorn", "starlette", "msgspec", "uvloop", "httptools"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            parts.append(f"{dist} {importlib.metadata.version(dist)}")
    parts.append(wrk_line)
    return ", ".join(parts)


def profile_foxden(
    work: Path,
    loop: str,
    http: str,
    env: dict[str, str],
    headers: dict[str, str],
    args: argparse.Namespace,
) -> None:
    """A separate run of the foxden server under cProfile; prints where its time goes."""
    out = work / "foxden.prof"
    with Server("foxden", work, loop, http, env, profile=out) as server:
        server.wait_ready(headers)
        result = run_wrk(server.url, headers, args.duration, args.connections, args.threads)
        server.stop()
    print()
    print(f"cProfile of the foxden server ({result.rps:.0f} req/s while profiled):")
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        stats = pstats.Stats(str(out), stream=text)
        stats.strip_dirs().sort_stats(order).print_stats(args.profile_lines)
        body = text.getvalue()
        start = body.find("   ncalls")
        print(f"--- top {args.profile_lines} by {order}")
        print(body[start:].rstrip() if start >= 0 else body.rstrip())
    if args.profile_keep:
        kept = Path(args.profile_keep)
        shutil.copyfile(out, kept)
        print(f"profile kept in {kept}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Authenticated getAccessCount vs a bare ASGI app, driven by wrk."
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--warmup", type=int, default=2, help="seconds before each run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="foxden+bare pairs after the first bare run (default 1: bare, foxden, bare)",
    )
    parser.add_argument("--loop", help="uvicorn loop (default: uvloop if installed)")
    parser.add_argument("--http", help="uvicorn http (default: httptools if installed)")
    parser.add_argument(
        "--profile", action="store_true", help="afterwards, profile foxden under cProfile"
    )
    parser.add_argument("--profile-lines", type=int, default=25)
    parser.add_argument("--profile-keep", help="copy the .prof file here")
    args = parser.parse_args(argv)

    if args.connections < args.threads:
        parser.error("--connections must be at least --threads")
    if args.rounds < 1 or args.duration < 1 or args.warmup < 0:
        parser.error("--rounds and --duration must be at least 1, --warmup at least 0")
    return launch(args, _bench)


BenchRun = Callable[[argparse.Namespace, Path, str, str, list[Server]], int]
"""A bench's body: (its arguments, a work directory, uvicorn's loop and HTTP implementation,
the list it appends every server it starts to); its exit status."""


def launch(args: argparse.Namespace, bench: BenchRun) -> int:
    """Run ``bench`` the way every wrk bench runs: wrk must be on PATH (else exit 2), the
    loop and HTTP implementation from ``args.loop``/``args.http`` (the fastest installed
    by default), a fresh work directory; however the run ends, every server it started is
    stopped and the directory removed. A RuntimeError, ValueError or failed subprocess is
    printed as FAIL (exit 1)."""
    if shutil.which("wrk") is None:
        print("wrk is not on PATH. Install it (Debian/Ubuntu) with:", file=sys.stderr)
        print(f"    {INSTALL_WRK}", file=sys.stderr)
        return 2
    loop, http = pick_implementations(args.loop, args.http)
    work = Path(tempfile.mkdtemp(prefix="foxden-bench-"))
    servers: list[Server] = []
    try:
        return bench(args, work, loop, http, servers)
    except (RuntimeError, ValueError, subprocess.SubprocessError) as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return 1
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float


def _mean(name: str, results: list[WrkResult]) -> Row:
    n = len(results)
    return Row(
        name,
        sum(r.rps for r in results) / n,
        sum(r.p50_ms for r in results) / n,
        sum(r.p99_ms for r in results) / n,
    )


def _measure(
    name: str, server: Server, headers: dict[str, str], args: argparse.Namespace
) -> WrkResult:
    if args.warmup > 0:
        run_wrk(server.url, headers, args.warmup, args.connections, args.threads)
    result = run_wrk(server.url, headers, args.duration, args.connections, args.threads)
    print(
        f"  {name:<14} {result.requests} requests, {result.rps:.0f} req/s, "
        f"non-2xx {result.non_2xx}, socket errors {result.socket_errors}",
        flush=True,
    )
    return result


def _bench(
    args: argparse.Namespace, work: Path, loop: str, http: str, servers: list[Server]
) -> int:
    data_dir = work / "data"
    key = make_account(data_dir)
    env = server_env(data_dir)
    headers = signing.headers(PATH, key, RealClock().now_ms(), "en")

    print(
        f"auth throughput bench: GET {PATH}, {args.duration}s per run, "
        f"{args.connections} connections, {args.threads} wrk thread(s), "
        f"{args.warmup}s warm-up before each run"
    )
    print(f"uvicorn: loop={loop} http={http}, 1 worker, access log off, log level warning")
    print(f"versions: {versions()}; {os.cpu_count()} CPUs")

    bare = Server("bare", work, loop, http, env)
    servers.append(bare)
    foxden = Server("foxden", work, loop, http, env)
    servers.append(foxden)
    bare.wait_ready(headers)
    foxden.wait_ready(headers)

    # The bench must measure the success path: one request first, errno 0 or stop.
    for server in (bare, foxden):
        status, body = get(server.port, headers)
        print(f"check {server.target}: HTTP {status} {body.decode('utf-8', 'replace')}")
        answer = json.loads(body)
        if status != 200 or not isinstance(answer, dict) or answer.get("errno") != 0:
            print(f"FAIL: {server.target} does not answer errno 0 with the signed headers")
            return 1

    busy = cpu_busy()
    if busy is not None:
        print(f"CPU busy before the runs (servers idle, so other processes): {busy:.0%}")
    print("runs:", flush=True)
    runs: list[tuple[str, WrkResult]] = [("bare (1)", _measure("bare (1)", bare, headers, args))]
    for n in range(1, args.rounds + 1):
        name = "foxden" if args.rounds == 1 else f"foxden ({n})"
        runs.append((name, _measure(name, foxden, headers, args)))
        runs.append((f"bare ({n + 1})", _measure(f"bare ({n + 1})", bare, headers, args)))

    foxden_stats = foxden.stop()
    bare_stats = bare.stop()

    bare_runs = [r for name, r in runs if name.startswith("bare")]
    auth_runs = [r for name, r in runs if name.startswith("foxden")]
    base = _mean("bare ASGI app (mean)", bare_runs)
    auth = _mean("foxden (mean)", auth_runs)
    rows = [
        Row(
            name.replace("bare", "bare ASGI app").replace("foxden", "foxden authenticated"),
            r.rps,
            r.p50_ms,
            r.p99_ms,
        )
        for name, r in runs
    ]
    rows.append(base)
    if args.rounds > 1:
        rows.append(auth)
    print()
    print(f"{'target':<26} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}")
    for row in rows:
        print(
            f"{row.name:<26} {row.rps:>9.0f} {row.p50_ms:>8.2f} {row.p99_ms:>8.2f} "
            f"{row.rps / base.rps:>6.2f}"
        )
    print()

    ok = True
    print(
        "non-2xx responses / socket errors: "
        + ", ".join(f"{name} {r.non_2xx}/{r.socket_errors}" for name, r in runs)
    )
    if any(r.non_2xx or r.socket_errors for _, r in runs):
        ok = False
    logged = foxden_stats.get("logged_errors")
    errnos = foxden_stats.get("errno_errors")
    print(
        f"foxden server errors: {logged} logged at ERROR, error envelopes by errno: "
        f"{errnos or 'none'}; bare server errors: {bare_stats.get('logged_errors')}"
    )
    if logged != 0 or errnos or bare_stats.get("logged_errors") != 0:
        ok = False
        for server in (foxden, bare):
            text = server.log().strip()
            if text:
                print(f"--- {server.target} server log (tail)")
                print("\n".join(text.splitlines()[-20:]))
    if busy is not None and busy > 0.1:
        print(
            f"note: other processes used {busy:.0%} of the CPUs before the runs; with few "
            "CPUs the figures are noisy, run again when the machine is idle"
        )
    spread = max(r.rps for r in bare_runs) / min(r.rps for r in bare_runs)
    if spread > 1.2:
        print(f"note: the bare runs differ by {spread:.2f}x; the machine was not quiet")

    ratio = auth.rps / base.rps
    verdict = "PASS" if ratio >= TARGET_RATIO and ok else "FAIL"
    print(f"authenticated/bare throughput: {ratio:.2f} (target >= {TARGET_RATIO}): {verdict}")

    if args.profile:
        profile_foxden(work, loop, http, env, headers, args)
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
