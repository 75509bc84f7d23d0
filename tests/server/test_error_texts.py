"""Error texts exactly as the real cloud writes them; the detail only in X-Foxden-Detail,
the server log and the refusal observers."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from foxden.client import Client, DeviceNotFoundError, InvalidParameterError, UnsupportedError
from foxden.protocol import signing
from foxden.protocol.errno import ERRNO_TABLE, Errno
from foxden.server.app import Refusal
from tests.conftest import LiveServer, raw_answer

H1 = "ALICEH1000001"
F3 = "ALICEF3000001"
PATH = "/op/v0/device/list"


def test_cloud_texts_of_the_table() -> None:
    """Sources: samples/errors__issues.json (macxq/foxess-ha #268 40402, #294 40256, #226
    41200; batpred #3880 42015; nicois/foxess-control 42023 and 40257 "... Please reenter";
    macxq #345 41930, the cloud's grammar kept) and newer-endpoints.md section 4 (41808
    "invalid token" as NICOIS reports it, 44098 "Write failed")."""
    expected = {
        Errno.HEADER_INVALID: "Parameter could not be parsed correctly",
        Errno.PARAMETER_INVALID: "Parameters do not meet expectations. Please reenter",
        Errno.QUOTA_EXCEEDED: "Your request exceeds the limit. Please try again later",
        Errno.QUERY_FAILED: "Query data failed",
        Errno.TOKEN_INVALID: "invalid token",
        Errno.DEVICE_UNAVAILABLE: "Device does not exist or are already in use",
        Errno.UNSUPPORTED_FEATURE: "This device does not currently support this feature",
        Errno.TIME_OVERLAP: "Time overlap, please reselect time",
        Errno.WRITE_FAILED: "Write failed",
    }
    assert {e: ERRNO_TABLE[e].message for e in expected} == expected


def test_missing_header_reads_as_the_cloud_writes_it(live: LiveServer) -> None:
    """Source: macxq/foxess-ha #294 (errors__issues.json): 40256 "Parameter could not be
    parsed correctly no token" -- the reason is part of the cloud's own text."""
    key = live.account("alice")
    headers = signing.headers(PATH, key, int(time.time() * 1000))
    del headers["token"]
    answer = raw_answer(httpx.post(live.url + PATH, headers=headers, json={}))
    assert answer == {
        "errno": 40256,
        "msg": "Parameter could not be parsed correctly no token",
        "result": None,
    }
    assert answer.detail == "request header 'token' missing or empty"
    stale = signing.headers(PATH, key, int(time.time() * 1000) - 400_000)
    answer = raw_answer(httpx.post(live.url + PATH, headers=stale, json={}))
    # TonyM1958/FoxESS-Cloud #6 and #13: the clock-skew text
    assert answer["msg"] == "Parameter could not be parsed correctly illegal timestamp"
    assert "from the server clock" in answer.detail


def test_bad_field_msg_is_the_cloud_text_and_the_header_names_the_field(
    live: LiveServer, alice: Client
) -> None:
    """Source: nicois/foxess-control API_DEVIATIONS.md (errors__issues.json): 40257 with the
    fixed text; clients that match on it (batpred classifies by errno and text) must see it
    unchanged, so the field goes to X-Foxden-Detail."""
    path = "/op/v0/device/list"
    headers = signing.headers(path, alice.api_key, int(time.time() * 1000))
    response = httpx.post(live.url + path, headers=headers, json={"currentPage": 1, "pageSize": 5})
    answer = raw_answer(response)
    assert answer == {
        "errno": 40257,
        "msg": "Parameters do not meet expectations. Please reenter",
        "result": None,
    }
    assert answer.detail.startswith("pageSize: ")
    # foxden's client carries the header as the exception's detail and shows it
    with pytest.raises(InvalidParameterError) as info:
        alice.device_list(1, 5)
    assert info.value.msg == answer["msg"]
    assert info.value.detail == answer.detail
    assert answer.detail in str(info.value)


def test_other_refusals_keep_the_text_and_move_the_reason(alice: Client) -> None:
    """Sources: batpred #3880 (42015 text), macxq README (40261 incorrect inverter id)."""
    with pytest.raises(UnsupportedError) as unsupported:
        alice.battery_soc(F3)
    assert unsupported.value.msg == "This device does not currently support this feature"
    assert "F3000" in unsupported.value.detail
    with pytest.raises(DeviceNotFoundError) as unknown:
        alice.device_detail("NOSUCHSN0001")
    assert unknown.value.msg == ERRNO_TABLE[Errno.INVERTER_ID_INCORRECT].message
    assert "NOSUCHSN0001" in unknown.value.detail
    assert "NOSUCHSN0001" not in unknown.value.msg


def test_refusals_reach_the_log_and_the_observers(
    live: LiveServer, alice: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """The detail a developer needs is also in the server log and told to every refusal
    observer (where a request journal hooks in); a failing observer changes nothing."""
    seen: list[Refusal] = []

    def broken(refusal: Refusal) -> None:
        raise RuntimeError("observer bug")

    live.foxden.refusal_observers.extend([seen.append, broken])
    with (
        caplog.at_level(logging.INFO, logger="foxden.server"),
        pytest.raises(InvalidParameterError) as info,
    ):
        alice.set_battery_soc(H1, 5, 30)
    assert info.value.errno == 40257  # the broken observer did not change the answer
    (refusal,) = seen
    assert refusal.path == "/op/v0/device/battery/soc/set"
    assert refusal.errno == 40257
    assert refusal.msg == "Parameters do not meet expectations. Please reenter"
    assert refusal.detail == info.value.detail and refusal.detail.startswith("minSoc")
    assert refusal.account_id is not None
    logged = [r.getMessage() for r in caplog.records if r.name == "foxden.server"]
    assert any(refusal.detail in line and "40257" in line for line in logged), logged
