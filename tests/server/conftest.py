"""The handler tests' desk: a real store and a frozen clock, no server (tests/server/desk.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.desk import Desk, new_desk


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    made = new_desk(tmp_path)
    yield made
    made.store.close()
