"""One demo fleet server per module for the dashboard's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ui.fleet import DemoServer, start_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    server = start_demo(tmp_path_factory.mktemp("dashboard"))
    yield server
    server.stop()
