"""What importing the server and the client loads: the API server loads the simulator and the
heavy scientific, plotting and Parquet modules only when a fleet runs; the client loads no
server code at all (issue 17: start-up memory)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
HEAVY = (
    "foxden.sim.engine",
    "foxden.sim.runner",
    "foxden.sim.weather",
    "pvlib",
    "pandas",
    "scipy",
    "pyarrow",
    "h5py",
    "matplotlib",
)


def loaded_after(statement: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules whose names start with one of ``prefixes`` that a fresh interpreter has
    loaded after running ``statement``."""
    code = (
        "import json, sys\n"
        f"{statement}\n"
        f"prefixes = {prefixes!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        "    if any(m == p or m.startswith(p + '.') for p in prefixes))))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    found: list[str] = json.loads(done.stdout)
    return found


@pytest.mark.parametrize(
    "statement",
    [
        "import foxden.server.app",
        "from foxden.server.app import create_app",
        "import foxden.server.http",
        "import foxden.store.sqlite",
        "import foxden.gateway",
    ],
)
def test_the_server_loads_no_simulator_or_heavy_module(statement: str) -> None:
    assert loaded_after(statement, HEAVY) == []


def test_the_check_sees_a_heavy_module_when_one_is_loaded() -> None:
    assert loaded_after("import foxden.sim.runner", HEAVY)[:2] == [
        "foxden.sim.engine",
        "foxden.sim.runner",
    ]


def test_the_client_loads_no_server_store_or_numpy() -> None:
    found = loaded_after(
        "import foxden.client", ("foxden.server", "foxden.store", "foxden.sim", "numpy", *HEAVY)
    )
    assert found == []
