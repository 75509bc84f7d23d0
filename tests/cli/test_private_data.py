"""The data dir and its files are private, the demo key stays out of logs, demo seeding is
all or nothing and repaired on restart, and logger serials never cross accounts."""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from foxden import accounts, demo
from foxden.store import open_store, url_for

NOW = 1_750_000_000_000


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_dir_and_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    store = open_store(url_for(data))
    accounts.create_account(store, "alice", NOW)
    files = {p.name: mode(p) for p in data.iterdir()}
    assert mode(data) == 0o700
    assert files["foxden.db"] == 0o600
    assert files["foxden.db-wal"] == 0o600 and files["foxden.db-shm"] == 0o600
    store.close()
    # an existing database left readable by an older version is made private on open
    (data / "foxden.db").chmod(0o644)
    open_store(url_for(data)).close()
    assert mode(data / "foxden.db") == 0o600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_once(data: Path, stdout: int) -> subprocess.Popen[bytes]:
    """``foxden serve`` on a fresh data dir until it answers HTTP (the socket listens
    before the demo is seeded)."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "foxden", "serve", "--port", str(port), "--data-dir",
            str(data), "--backfill-days", "0", "--speed", "0",
        ],
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).raise_for_status()
            return proc
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("foxden serve did not start") from None
            time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def test_demo_key_is_not_printed_to_a_pipe_but_written_privately(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = serve_once(data, subprocess.PIPE)
    stop(proc)
    assert proc.stdout is not None
    printed = proc.stdout.read().decode()
    key = (data / demo.KEY_FILE).read_text().strip()
    assert len(key) == 36 and key not in printed
    assert str(data / demo.KEY_FILE) in printed
    assert mode(data / demo.KEY_FILE) == 0o600 and mode(data) == 0o700
    assert mode(data / "admin-token") == 0o600


def test_demo_key_is_printed_to_a_terminal(tmp_path: Path) -> None:
    data = tmp_path / "data"
    leader, follower = pty.openpty()
    proc = serve_once(data, follower)
    os.close(follower)
    stop(proc)
    printed = b""
    while select.select([leader], [], [], 0.5)[0]:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        printed += chunk
    os.close(leader)
    key = (data / demo.KEY_FILE).read_text().strip()
    assert key in printed.decode(errors="replace")


class Crash(Exception):
    pass


def test_demo_seeding_is_atomic_and_repaired(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(url_for(tmp_path))
    real_add = accounts.add_device
    added: list[str] = []

    def crash_after_three(*args: object, **kwargs: object) -> object:
        if len(added) == 3:
            raise Crash
        added.append(str(args[2]))
        return real_add(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(accounts, "add_device", crash_after_three)
    with pytest.raises(Crash):
        demo.seed_demo(store, tmp_path, NOW)
    monkeypatch.setattr(accounts, "add_device", real_add)
    assert store.accounts() == [] and store.device(added[0]) is None
    assert not (tmp_path / demo.KEY_FILE).exists()
    key = demo.seed_demo(store, tmp_path, NOW)
    assert key is not None
    account = store.account_by_name(demo.DEMO_ACCOUNT)
    assert account is not None and account.device_count == 6
    assert demo.seed_demo(store, tmp_path, NOW) is None  # complete: nothing to do


def test_an_incomplete_demo_and_a_lost_key_file_are_repaired(tmp_path: Path) -> None:
    store = open_store(url_for(tmp_path))
    account, old_key = accounts.create_account(store, demo.DEMO_ACCOUNT, NOW)
    first_sn, first_model = demo.DEMO_PLANTS[0].devices[0]
    accounts.add_device(store, demo.DEMO_ACCOUNT, first_sn, first_model, NOW)
    key = demo.seed_demo(store, tmp_path, NOW)
    assert key is not None and key != old_key
    assert (tmp_path / demo.KEY_FILE).read_text().strip() == key
    assert store.account_by_key_hash(accounts.key_hash(old_key)) is None
    repaired = store.account_by_name(demo.DEMO_ACCOUNT)
    assert repaired is not None and repaired.device_count == 6
    _, total = store.plants(account.id, 0, 10)
    assert total == 3
    assert all(d.plant_id for d in store.devices(account.id)[0])


def test_a_store_of_other_accounts_gets_no_demo(tmp_path: Path) -> None:
    store = open_store(url_for(tmp_path))
    accounts.create_account(store, "alice", NOW)
    assert demo.seed_demo(store, tmp_path, NOW) is None
    assert store.account_by_name(demo.DEMO_ACCOUNT) is None


def test_logger_serials_never_cross_accounts(tmp_path: Path) -> None:
    store = open_store(url_for(tmp_path))
    accounts.create_account(store, "alice", NOW)
    accounts.create_account(store, "bob", NOW)
    a = accounts.add_device(store, "alice", "AAAA1234567890", "H1-5.0-E", NOW)
    b = accounts.add_device(store, "bob", "BBBB1234567890", "H1-5.0-E", NOW)
    assert a.logger_sn != b.logger_sn
    assert store.logger(b.logger_sn) is not None
    assert store.logger(b.logger_sn).account_id != store.logger(a.logger_sn).account_id  # type: ignore[union-attr]
    with pytest.raises(accounts.AccountError, match="another account"):
        accounts.add_device(store, "bob", "BOB000000002", "H1-5.0-E", NOW, logger_sn=a.logger_sn)
    assert store.device("BOB000000002") is None
    bob_modules, _ = store.loggers(b.account_id, 0, 10)
    assert a.logger_sn not in {m.sn for m in bob_modules}
