"""The admin commands: account create/list, key rotate, device add."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from foxden import accounts, config
from foxden.cli.main import app
from foxden.server.limits import utc_day
from foxden.store import open_store, url_for

runner = CliRunner()
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def run(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"FOXDEN_DATA_DIR": None, **(env or {})})
    return result.exit_code, result.output


@pytest.fixture
def tmp_path(tmp_path: Path) -> Path:
    """A data dir with an empty database, as ``foxden init --no-demo`` makes it."""
    code, out = run("init", "--no-demo", "--data-dir", str(tmp_path))
    assert code == 0, out
    assert (tmp_path / "foxden.db").is_file() and (tmp_path / "admin-token").is_file()
    return tmp_path


def test_account_create_prints_the_key_alone_on_the_last_line(tmp_path: Path) -> None:
    code, out = run("account", "create", "alice", "--data-dir", str(tmp_path))
    assert code == 0
    key = out.rstrip("\n").splitlines()[-1]
    assert UUID.match(key)
    store = open_store(url_for(tmp_path))
    account = store.account_by_key_hash(accounts.key_hash(key))
    assert account is not None and account.name == "alice"
    assert key not in (tmp_path / "foxden.db").read_bytes().decode("latin-1")


def test_duplicate_and_bad_names_fail_with_one_line(tmp_path: Path) -> None:
    assert run("account", "create", "alice", "--data-dir", str(tmp_path))[0] == 0
    code, out = run("account", "create", "alice", "--data-dir", str(tmp_path))
    assert code == 1 and "already exists" in out and "Traceback" not in out
    code, out = run("account", "create", "bad name!", "--data-dir", str(tmp_path))
    assert code == 1 and "account name" in out


def test_key_rotate(tmp_path: Path) -> None:
    _, out = run("account", "create", "alice", "--data-dir", str(tmp_path))
    old = out.splitlines()[-1]
    code, out = run("key", "rotate", "alice", "--data-dir", str(tmp_path))
    new = out.splitlines()[-1]
    assert code == 0 and UUID.match(new) and new != old
    store = open_store(url_for(tmp_path))
    assert store.account_by_key_hash(accounts.key_hash(old)) is None
    assert store.account_by_key_hash(accounts.key_hash(new)) is not None
    assert run("key", "rotate", "nobody", "--data-dir", str(tmp_path))[0] == 1


def test_device_add_and_account_list(tmp_path: Path) -> None:
    run("account", "create", "alice", "--data-dir", str(tmp_path))
    code, out = run(
        "device",
        "add",
        "--account",
        "alice",
        "--sn",
        "ALICEH1000001",
        "--model",
        "H1-5.0-E",
        "--logger",
        "LOGGER000001",
        "--data-dir",
        str(tmp_path),
    )
    assert code == 0, out
    store = open_store(url_for(tmp_path))
    device = store.device("ALICEH1000001")
    assert device is not None and device.logger_sn == "LOGGER000001"
    account = store.account_by_name("alice")
    assert account is not None
    store.save_usage({(account.id, utc_day(__import__("time").time_ns() // 10**6)): 7})
    code, out = run("account", "list", "--data-dir", str(tmp_path))
    assert code == 0
    row = next(line for line in out.splitlines() if "alice" in line)
    assert re.search(r"alice\s*│\s*1\s*│\s*7\s*│\s*1440\s*│\s*1433", row), row


def test_device_add_errors(tmp_path: Path) -> None:
    run("account", "create", "alice", "--data-dir", str(tmp_path))
    base = ["device", "add", "--data-dir", str(tmp_path)]
    code, out = run(*base, "--account", "nobody", "--sn", "ABCDEF123", "--model", "KH8")
    assert code == 1 and "no account" in out
    code, out = run(*base, "--account", "alice", "--sn", "ABCDEF123", "--model", "X9")
    assert code == 1 and "unknown model" in out and "H1-5.0-E" in out
    code, out = run(*base, "--account", "alice", "--sn", "a b", "--model", "KH8")
    assert code == 1 and "serial number" in out
    assert run(*base, "--account", "alice", "--sn", "ABCDEF123", "--model", "KH8")[0] == 0
    code, out = run(*base, "--account", "alice", "--sn", "ABCDEF123", "--model", "KH8")
    assert code == 1 and "already registered" in out


def test_unsupported_database_url_is_a_clear_error(tmp_path: Path) -> None:
    code, out = run("account", "list", "--database-url", "mysql://localhost/foxden")
    assert code == 2 and "'mysql' is not supported" in out and "postgresql://" in out


def test_unreachable_postgres_is_a_clear_error_without_the_password(tmp_path: Path) -> None:
    url = "postgresql://foxden:s3cret@127.0.0.1:1/foxden"  # nothing listens on port 1
    code, out = run("account", "list", "--database-url", url)
    assert code == 2 and "cannot open database postgresql://foxden:***@127.0.0.1:1/foxden" in out
    assert "s3cret" not in out and "Traceback" not in out


def test_settings_from_env_and_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "foxden.toml"
    toml.write_text("[foxden]\nport = 9000\nrate_per_second = 2.5\n", "utf-8")
    monkeypatch.setenv("FOXDEN_RATE_BURST", "3")
    settings = config.load(toml, port=None)
    assert (settings.port, settings.rate_per_second, settings.rate_burst) == (9000, 2.5, 3)
    assert config.load(toml, port=9100).port == 9100
    monkeypatch.setenv("FOXDEN_PORT", "eighty")
    with pytest.raises(config.ConfigError, match="FOXDEN_PORT"):
        config.load(None)
    toml.write_text("[foxden]\ncolour = 1\n", "utf-8")
    monkeypatch.delenv("FOXDEN_PORT")
    with pytest.raises(config.ConfigError, match="colour"):
        config.load(toml)


def test_admin_commands_refuse_a_missing_database_and_create_nothing(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)  # the default ./foxden-data is not there
    for args in (
        ("account", "create", "bob"),
        ("account", "list"),
        ("key", "rotate", "bob"),
        ("device", "add", "--account", "bob", "--sn", "ABCDEF123", "--model", "KH8"),
        ("sim", "fault", "60DEMOH1500001", "26"),
        ("sim", "clear", "60DEMOH1500001"),
    ):
        code, out = run(*args)
        assert code == 2, (args, out)
        where = str(elsewhere / "foxden-data" / "foxden.db")
        assert f"no foxden database at {where}" in " ".join(out.split()), out
        assert "foxden serve" in out and "foxden init" in out
    assert list(elsewhere.iterdir()) == []


def test_admin_commands_find_the_data_dir_like_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    code, out = run("account", "create", "bob", env={"FOXDEN_DATA_DIR": str(tmp_path)})
    assert code == 0, out
    assert open_store(url_for(tmp_path)).account_by_name("bob") is not None
    toml = tmp_path / "foxden.toml"
    toml.write_text(f"data_dir = {str(tmp_path)!r}\n", "utf-8")
    code, out = run("account", "list", "--config", str(toml))
    assert code == 0 and "bob" in out


def test_init_creates_the_demo_account_once(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = tmp_path_factory.mktemp("fresh")
    code, out = run("init", "--data-dir", str(data))
    assert code == 0, out
    key = out.rstrip("\n").splitlines()[-1]
    assert UUID.match(key) and (data / "demo-api-key").read_text("utf-8").strip() == key
    code, out = run("init", "--data-dir", str(data))
    assert code == 0 and "Demo API key" not in out
    code, out = run("sim", "fault", "NOSUCHSN42", "26", "--data-dir", str(data))
    assert code == 1 and "no inverter NOSUCHSN42" in out


def test_device_add_without_a_serial_gives_the_models_real_form(tmp_path: Path) -> None:
    """Source: samples/v0_device_list__batpred_kh8.json (KH8 ``60KE8020479C034``, logger
    ``609W6EUF46MB519``) and samples/v0_device_detail__batpred_kh8.json (EP11 bcu, bmu
    10360 Wh, ivu): ``foxden device add`` without --sn registers a KH8 of that form."""
    run("account", "create", "alice", "--data-dir", str(tmp_path))
    base = ["device", "add", "--data-dir", str(tmp_path), "--account", "alice"]
    code, first = run(*base, "--model", "KH8")
    assert code == 0, first
    code, second = run(*base, "--model", "KH8")
    assert code == 0, second
    sns = re.findall(r"Registered (\w+) \(KH8, logger (\w+)\)", first + second)
    assert len(sns) == 2 and sns[0][0] != sns[1][0]
    store = open_store(url_for(tmp_path))
    for sn, logger in sns:
        assert re.fullmatch(r"60KE82404[0-9A-F]{6}", sn)
        assert re.fullmatch(r"609W6EU[0-9A-F]{8}", logger)
        device = store.device(sn)
        assert device is not None
        assert [(b["type"], b["model"], b.get("capacity")) for b in device.batteries] == [
            ("bcu", "EP11", None),
            ("bmu", "EP11", 10360),
            ("ivu", "EP11", None),
        ]
