"""What importing the server and the client loads: the API server loads the simulator only
when a fleet runs, and the fleet computes its sun and sky with NumPy alone, so neither loads
pvlib, pandas, SciPy, Parquet or plotting modules; the client loads no server code at all
(issue 17: start-up memory)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
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
SCIENTIFIC = ("pvlib", "pandas", "scipy", "pyarrow", "matplotlib")
"""What the running fleet never loads (h5py reads the Linke turbidity table once a place)."""


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


def test_a_fleet_stepping_through_days_loads_no_scientific_stack() -> None:
    statement = (
        "from datetime import UTC, datetime\n"
        "from foxden.sim.clock import SimClock\n"
        "from foxden.sim.runner import FleetRunner\n"
        "from tests.sim.conftest import BERLIN, LONDON, SYDNEY, memory_store\n"
        "devices = [('DETH150000001', 'H1-5.0-E', LONDON), ('DETF300000001', 'F3000', BERLIN),\n"
        "           ('DETKH80000001', 'KH8', SYDNEY)]\n"
        "store = memory_store(devices)\n"
        "now = int(datetime(2026, 6, 22, 6, 30, tzinfo=UTC).timestamp() * 1000)\n"
        "assert FleetRunner(store, SimClock(start_ms=now, speed=0), 5).backfill(1) > 0"
    )
    assert loaded_after(statement, (*SCIENTIFIC, "foxden.sim.engine")) == ["foxden.sim.engine"]


def mapped_libraries(pid: int) -> set[str]:
    """The files a running process has mapped (its shared libraries among them)."""
    lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {parts[-1] for parts in (line.split() for line in lines) if len(parts) >= 6}


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc")
def test_foxden_serve_with_the_demo_fleet_maps_no_scientific_library(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOXDEN_")}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    args = ["--data-dir", str(tmp_path / "data"), "--port", str(port), "--backfill-days", "0.5"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "foxden", "serve", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, "foxden serve exited"
            assert time.monotonic() < deadline, "foxden serve did not answer"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        mapped = mapped_libraries(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert (tmp_path / "data" / "demo-api-key").exists()  # the demo fleet was created
    assert any("_multiarray_umath" in path for path in mapped)  # the check sees NumPy's
    scientific = sorted(path for path in mapped if any(f"/{name}/" in path for name in SCIENTIFIC))
    assert scientific == []
