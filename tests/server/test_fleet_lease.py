"""The fleet lease: one holder at a time, taken over when the holder lets go or dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from foxden.server.fleet_lease import FileLease, PostgresLease, open_lease
from tests.conftest import fresh_postgres


def test_file_lease_has_one_holder_and_passes_on(tmp_path: Path) -> None:
    first = open_lease(f"sqlite:///{tmp_path}/foxden.db", str(tmp_path))
    second = FileLease(tmp_path / "fleet.lock")
    assert isinstance(first, FileLease)
    assert first.check() and first.check()
    assert not second.check()
    first.release()
    assert second.check()
    assert not first.check()
    second.release()


def test_file_lease_ends_with_its_process(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from foxden.server.fleet_lease import FileLease; "
            f"lease = FileLease(Path({str(tmp_path)!r}) / 'fleet.lock'); "
            "assert lease.check(); "
            "print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        waiting = FileLease(tmp_path / "fleet.lock")
        assert not waiting.check()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        assert waiting.check()
        waiting.release()
    finally:
        holder.kill()
        holder.wait()


def test_postgres_lease_has_one_holder_and_passes_on() -> None:
    with fresh_postgres() as url:
        first = open_lease(url, "unused")
        second = PostgresLease(url)
        assert isinstance(first, PostgresLease)
        try:
            assert first.check() and first.check()
            assert not second.check() and not second.check()
            first.release()  # the connection ends: so does the lock
            deadline = time.monotonic() + 10
            while not second.check():
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert not first.check()
        finally:
            first.release()
            second.release()
