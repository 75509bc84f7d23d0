"""``foxden serve --workers N``: N server processes answering on one listening socket.

The supervisor binds the socket, prepares the database, then forks the workers; each opens
its own store, builds the app and serves the shared socket (the kernel hands each new
connection to one of them). The supervisor holds no thread and no database connection when
it forks. It replaces a worker that exits or is killed (after a pause of ``RESTART_PAUSE_S``
when it died within ``QUICK_EXIT_S`` of starting, so a worker that cannot start does not
spin), and on SIGTERM, SIGINT or SIGHUP it asks every worker to stop (SIGTERM: uvicorn
finishes the requests in flight), waits up to ``STOP_TIMEOUT_S``, then kills what is left.
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


class Supervisor:
    """Runs ``work()`` in ``count`` forked processes and keeps that many alive."""

    def __init__(
        self,
        count: int,
        work: Callable[[], None],
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.count = count
        self.work = work
        self.say = say or (lambda text: print(text, file=sys.stderr, flush=True))
        self.workers: dict[int, float] = {}
        """pid -> monotonic start time."""
        self.restarts = 0
        self._stopping = False
        self._signal: int | None = None

    def _spawn(self) -> int:
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
                self.work()
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
            self.say(f"started {self.count} workers: {', '.join(map(str, self.workers))}")
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
            if started is None or self._stopping:
                continue
            lived = time.monotonic() - started
            self.say(f"worker {pid} {describe_exit(status)} after {lived:.1f} s; starting another")
            if lived < QUICK_EXIT_S:
                time.sleep(RESTART_PAUSE_S)
            if not self._stopping:
                new = self._spawn()
                self.restarts += 1
                self.say(f"worker {new} started in place of {pid}")

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
