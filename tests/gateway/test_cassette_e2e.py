"""Cassettes: the gateway records its upstream exchanges (keys and signatures redacted) and
``foxden serve --replay`` answers them byte for byte."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from foxden.cli.main import app
from foxden.client import Client
from foxden.gateway.cassette import Replay, read_cassettes
from foxden.protocol import signing
from foxden.testing import FoxdenServer
from tests.conftest import NO_RETRY, serve_in_thread
from tests.gateway.conftest import start_gateway, wait_for


def test_recorded_exchanges_replay_byte_equal_with_keys_redacted(
    upstream: FoxdenServer, tmp_path: Path
) -> None:
    tape = tmp_path / "cassettes"
    gw = start_gateway(tmp_path / "gw", upstream, backfill_days=0, refresh_s=60, record_dir=tape)
    try:
        gw.mirrored()
        wait_for(lambda: gw.app.poller.progress.refreshes > 0, "a refresh")
    finally:
        gw.stop()
    files = list(tape.glob("*.jsonl"))
    assert files
    text = "".join(f.read_text("utf-8") for f in files)
    assert upstream.api_key not in text
    entries = [json.loads(line) for line in text.splitlines()]
    assert all(e["request"]["headers"]["token"] == "REDACTED" for e in entries)
    assert all(e["request"]["headers"]["signature"] == "REDACTED" for e in entries)
    assert all("timestamp" not in e["request"]["headers"] for e in entries)
    recorded = list(read_cassettes(tape))
    paths = {r.path for r in recorded}
    assert {"/op/v0/plant/list", "/op/v0/device/list", "/op/v1/device/real/query"} <= paths

    replay = Replay.load(tape)
    url, server, thread = serve_in_thread(replay)
    try:
        with Client("any-key-at-all", url, retry=NO_RETRY) as client:
            sns = [d.deviceSN for d in client.device_list().data]
            assert len(sns) == 6
        with httpx.Client(base_url=url) as raw:
            for r in recorded:
                answer = raw.request(
                    r.method, r.path + (f"?{r.query}" if r.query else ""), content=r.request_body
                )
                assert answer.status_code == r.status
                assert answer.content == r.body
            missing = raw.post("/op/v0/device/history/query", content=b'{"sn":"NOPE"}')
            assert missing.json()["errno"] == 41200
            assert "cassette holds no" in missing.headers["x-foxden-detail"]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    # the upstream's own answer to the same call is what the cassette holds
    real = next(r for r in recorded if r.path == "/op/v0/device/list")
    headers = signing.headers(real.path, upstream.api_key, time.time_ns() // 1_000_000, "en")
    again = httpx.post(upstream.base_url + real.path, content=real.request_body, headers=headers)
    assert again.content == real.body


def test_serve_replay_refuses_a_missing_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--replay", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "no such cassette directory" in result.output
