"""``foxden serve --workers N``: N server processes answering on one listening socket, and
the simulated fleet in a process of its own.

The supervisor binds the socket, prepares the database, then forks the workers; each opens
its own store, builds the app and serves the shared socket (the kernel hands each new
connection to one of them); with the fleet role, one more process runs the fleet (it takes
part in the fleet lease like any other fleet process), so the workers' event loops never
wait for a fleet step. The supervisor holds no thread and no database connection when it
forks. It replaces a worker or the fleet process that exits or is killed (after a pause of
``RESTART_PAUSE_S`` when it died within ``QUICK_EXIT_S`` of starting, so a process that
cannot start does not spin), and on SIGTERM, SIGINT or SIGHUP it asks every process to stop
(SIGTERM: uvicorn finishes the requests in flight), waits up to ``STOP_TIMEOUT_S``, then
kills what is left.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("foxden.server")

QUICK_EXIT_S = 2.0
RESTART_PAUSE_S = 1.0
STOP_TIMEOUT_S = 15.0
POLL_S = 0.1
THREADS_END_S = 10.0
"""How long the supervisor waits for threads of its start-up to end before it forks."""


def describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        return f"killed by {name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


WORKER, FLEET = "worker", "fleet process"


class Supervisor:
    """Runs ``work()`` in ``count`` forked processes, and ``fleet()`` (when given) in one
    more, and keeps them all alive: a process that exits or is killed is replaced by one of
    its kind."""

    def __init__(
        self,
        count: int,
        work: Callable[[], None],
        say: Callable[[str], None] | None = None,
        fleet: Callable[[], None] | None = None,
    ) -> None:
        self.count = count
        self.work = work
        self.fleet = fleet
        self.say = say or (lambda text: print(text, file=sys.stderr, flush=True))
        self.workers: dict[int, float] = {}
        """pid -> monotonic start time, of every process (workers and the fleet's)."""
        self.kinds: dict[int, str] = {}
        """pid -> WORKER or FLEET."""
        self.restarts = 0
        self._stopping = False
        self._signal: int | None = None

    def _spawn(self, kind: str = WORKER) -> int:
        if threading.active_count() > 1:  # a fork copies only the calling thread
            raise RuntimeError("the supervisor must not run threads when it forks workers")
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    signal.signal(sig, signal.SIG_DFL)
                (self.fleet if kind == FLEET and self.fleet is not None else self.work)()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.workers[pid] = time.monotonic()
        self.kinds[pid] = kind
        return pid

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        self._stopping = True
        self._signal = number

    def run(self) -> int:
        """Start the workers and supervise them until asked to stop; the exit status."""
        deadline = time.monotonic() + THREADS_END_S
        while threading.active_count() > 1 and time.monotonic() < deadline:
            time.sleep(POLL_S)  # e.g. a closed store's listener thread finishing
        previous = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        }
        try:
            for _ in range(self.count):
                self._spawn()
            started = f"started {self.count} workers: {', '.join(map(str, self.workers))}"
            if self.fleet is not None:
                started += f"; the fleet in process {self._spawn(FLEET)}"
            self.say(started)
            while not self._stopping:
                self._reap_and_replace()
                time.sleep(POLL_S)
            self._stop_all()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def _reap_and_replace(self) -> None:
        while self.workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            started = self.workers.pop(pid, None)
            kind = self.kinds.pop(pid, WORKER)
            if started is None or self._stopping:
                continue
            lived = time.monotonic() - started
            self.say(f"{kind} {pid} {describe_exit(status)} after {lived:.1f} s; starting another")
            if lived < QUICK_EXIT_S:
                time.sleep(RESTART_PAUSE_S)
            if not self._stopping:
                new = self._spawn(kind)
                self.restarts += 1
                self.say(f"{kind} {new} started in place of {pid}")

    def _stop_all(self) -> None:
        for pid in list(self.workers):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                self.workers.pop(pid, None)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while self.workers and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                self.workers.pop(pid, None)
            else:
                time.sleep(POLL_S)
        for pid in list(self.workers):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.workers.pop(pid, None)
