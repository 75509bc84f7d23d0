"""CI cannot go quietly green: a service the tests need that does not start fails .ci/run,
and a test that skips under CI fails unless docs/testing.md allows it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ALLOWED_SKIPS, STRICT_SKIPS_ENV

ROOT = Path(__file__).resolve().parents[1]
PROBE_ENV = "FOXDEN_SKIP_PROBE"


def test_probe_skips_only_when_asked() -> None:
    """The test the runs below drive: it skips when the probe variable is set."""
    if os.environ.get(PROBE_ENV) == "skip":
        pytest.skip("probe asked to skip")
    assert os.environ.get(PROBE_ENV) != "skip"


def _run_probe(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"CI", STRICT_SKIPS_ENV}}
    clean.update(env, **{PROBE_ENV: "skip"})
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_ci.py::test_probe_skips_only_when_asked",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_skip_outside_ci_is_a_skip() -> None:
    run = _run_probe()
    assert run.returncode == 0, run.stdout
    assert "1 skipped" in run.stdout


@pytest.mark.parametrize("env", [{"CI": "true"}, {STRICT_SKIPS_ENV: "1"}])
def test_an_unlisted_skip_in_ci_is_a_failure(env: dict[str, str]) -> None:
    run = _run_probe(**env)
    assert run.returncode == 1, run.stdout
    assert "1 failed" in run.stdout
    assert "not on the allowed list" in run.stdout
    assert "probe asked to skip" in run.stdout


def test_allowed_skips_are_the_documented_ones() -> None:
    """The allow-list in tests/conftest.py and the table in docs/testing.md agree."""
    text = (ROOT / "docs/testing.md").read_text("utf-8")
    section = text.split("## Skips in CI", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \| [^|]+\|$", section, re.M)
    assert set(rows) == set(ALLOWED_SKIPS)


def _stub(script: str, function: str, body: str) -> str:
    """``script`` with the bash function ``function`` replaced by ``body``."""
    head, rest = script.split(f"{function}() {{", 1)
    _, rest = rest.split("\n}\n", 1)
    return f"{head}{function}() {{ {body}; }}\n{rest}"


def _ci_script_with(start_postgres: str, start_redis: str = "return 0") -> str:
    """.ci/run with its PostgreSQL and Redis starts replaced, its other services stubbed as
    started, and its commands after them echoed instead of run."""
    body = _stub((ROOT / ".ci/run").read_text("utf-8"), "start_postgres", start_postgres)
    body = _stub(body, "start_redis", start_redis)
    for function in re.findall(r"^(install_\w+)\(\) \{", body, re.M):
        body = _stub(body, function, "return 0")
    after = body.split("trap stop_services EXIT\n", 1)
    lines = [
        line
        if not line or line.startswith(("if ", "fi", "    ", "export")) or line.startswith("#")
        else f"echo RAN {line!r}"
        for line in after[1].splitlines()
    ]
    lines.append("env | grep -E '^(FOXDEN_|CI=)' | sort")
    return after[0] + "trap stop_services EXIT\n" + "\n".join(lines) + "\n"


def test_ci_fails_when_postgres_cannot_start(tmp_path: Path) -> None:
    (tmp_path / ".ci").mkdir()
    run_file = tmp_path / ".ci/run"
    run_file.write_text(_ci_script_with("return 1"), "utf-8")
    run = subprocess.run(["bash", str(run_file)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "could not start PostgreSQL" in run.stderr
    assert "RAN" not in run.stdout  # neither the tests nor the linters ran


def test_ci_fails_when_redis_cannot_start(tmp_path: Path) -> None:
    (tmp_path / ".ci").mkdir()
    run_file = tmp_path / ".ci/run"
    run_file.write_text(_ci_script_with("return 0", "return 1"), "utf-8")
    run = subprocess.run(["bash", str(run_file)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "could not start Redis" in run.stderr
    assert "RAN" not in run.stdout


def test_ci_runs_the_tests_with_postgres_and_strict_skips(tmp_path: Path) -> None:
    (tmp_path / ".ci").mkdir()
    run_file = tmp_path / ".ci/run"
    run_file.write_text(_ci_script_with("return 0"), "utf-8")
    run = subprocess.run(["bash", str(run_file)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "CI=true" in run.stdout
    assert f"{STRICT_SKIPS_ENV}=1" in run.stdout
    assert "FOXDEN_TEST_POSTGRES_URL=postgresql://" in run.stdout
    assert "FOXDEN_TEST_REDIS_URL=redis://127.0.0.1:" in run.stdout
    ran = [line[4:] for line in run.stdout.splitlines() if line.startswith("RAN ")]
    readme = (ROOT / "README.md").read_text("utf-8")
    assert ran[0] == "python -m pip install -e '.[all,dev]' && python -m pytest </dev/null"
    assert f"$ {ran[0].removesuffix(' </dev/null')}" in readme
    assert ran[1:] == ["ruff check .", "ruff format --check .", "mypy"]
