"""client/generated.py is exactly what tools/gen_clients.py writes: regenerating it changes
nothing, so the sync and async clients cannot drift from foxden.client.calls."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_clients", ROOT / "tools/gen_clients.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _formatted(source: str, name: str) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "-q", "--stdin-filename", name, "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return run.stdout


def test_regenerating_the_clients_changes_nothing() -> None:
    generator = _generator()
    target = ROOT / "src/foxden/client/generated.py"
    assert target == generator.TARGET
    fresh = _formatted(generator.render(), str(target))
    assert fresh == target.read_text("utf-8"), "stale: run python tools/gen_clients.py"
