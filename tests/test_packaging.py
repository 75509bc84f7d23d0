"""``pip install foxden`` gives the client and the API commands without the server's
dependencies: the wheel is built, installed without extras in a fresh venv (its
dependencies from the package index), and the client runs against a live server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from foxden.extras import EXTRAS, MissingExtra, missing, require
from tests.conftest import LiveServer, start_server
from tests.vendor import in_ci

ROOT = Path(__file__).resolve().parents[1]
SERVER_ONLY = sorted({m for modules in EXTRAS.values() for m in modules} | {"scipy", "pandas"})


def _run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a program with this environment minus anything that would put the checkout's
    sources (or another environment) on the path."""
    clean = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**clean, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **(env or {})},
        check=False,
    )


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with only the foxden wheel and its base dependencies; its bin dir."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work, source)
    wheels = list(work.glob("foxden-*.whl"))
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    installed = _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", *wheels)
    if built.returncode or installed.returncode or len(wheels) != 1:
        reason = "cannot build or install the wheel: " + (built.stderr + installed.stderr)[-800:]
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)  # e.g. no package index reachable
    yield env_dir / "bin"


def test_the_client_imports_without_any_server_dependency(client_venv: Path) -> None:
    probe = (
        "import importlib.util, sys\n"
        "import foxden.client, foxden.cli.main\n"
        f"names = {SERVER_ONLY!r}\n"
        "print('installed', [n for n in names if importlib.util.find_spec(n)])\n"
        "print('loaded', sorted(m for m in sys.modules if m.split('.')[0] in names\n"
        "    or m.startswith(('foxden.server', 'foxden.store', 'foxden.sim'))))\n"
    )
    result = _run(client_venv / "python", "-c", probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["installed []", "loaded []"]
    version = _run(client_venv / "foxden", "--version")
    assert version.returncode == 0 and version.stdout.startswith("foxden ")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    server = start_server(tmp_path_factory.mktemp("packaging"))
    key = server.account("pia")
    server.device("pia", "PIAH10000000001", "H1-5.0-E")
    yield server, key
    server.stop()


def test_the_bare_install_runs_api_commands_and_names_missing_extras(
    client_venv: Path, live: tuple[LiveServer, str]
) -> None:
    server, key = live
    env = {"FOXDEN_BASE_URL": server.url, "FOXDEN_API_KEY": key}
    quota = _run(client_venv / "foxden", "quota", "--json", env=env)
    assert quota.returncode == 0, quota.stderr
    assert '"total": "1440"' in quota.stdout
    for args, extra in (
        (["serve"], "server"),
        (["init"], "server"),
        (["account", "list"], "server"),
        (["plot", "history", "PIAH10000000001", "--out", "x.png"], "plot"),
        (["history", "PIAH10000000001", "--parquet", "x.parquet"], "parquet"),
    ):
        result = _run(client_venv / "foxden", *args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert f"pip install 'foxden[{extra}]'" in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_require_names_the_extra_and_its_install_command() -> None:
    assert missing("server") is None  # this environment has every extra
    EXTRAS["nothing"] = ("foxden_no_such_module",)
    try:
        with pytest.raises(MissingExtra) as caught:
            require("nothing", "a feature")
    finally:
        del EXTRAS["nothing"]
    assert caught.value.install == "pip install 'foxden[nothing]'"
    assert str(caught.value) == (
        "a feature needs foxden_no_such_module, which is not installed (the nothing extra)"
    )
