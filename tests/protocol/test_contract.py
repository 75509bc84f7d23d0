"""The protocol package is the single source of truth: docs and routes follow it."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from foxden.protocol import endpoints, errno, limits
from foxden.protocol import structs as s
from tests.vendor import SPEC, shared_file

ROOT = Path(__file__).resolve().parents[2]


def test_errno_doc_is_generated_from_the_table() -> None:
    assert (ROOT / "docs/errno.md").read_text("utf-8") == errno.render_markdown()


def test_every_documented_path_is_in_the_catalogue() -> None:
    documented = {
        line.split(":", 1)[1].strip()
        for line in shared_file(SPEC).read_text("utf-8").splitlines()
        if line.startswith("Path: ")
    }
    assert len(documented) == 28
    assert documented <= {e.path for e in endpoints.ENDPOINTS}


def test_the_sample_clients_scheduler_path_is_an_alias() -> None:
    assert endpoints.BY_PATH["/op/v0/device/scheduler/set"].name == "scheduler.set_flag"


@given(st.integers(), st.integers())
def test_page_request_bounds(page: int, size: int) -> None:
    body = msgspec.json.encode({"currentPage": page, "pageSize": size})
    ok = limits.PAGE_MIN <= page <= limits.PAGE_MAX and (
        limits.PAGE_SIZE_MIN <= size <= limits.PAGE_SIZE_MAX
    )
    if ok:
        assert msgspec.json.decode(body, type=s.PageRequest) == s.PageRequest(
            currentPage=page, pageSize=size
        )
    else:
        with pytest.raises(msgspec.ValidationError):
            msgspec.json.decode(body, type=s.PageRequest)


@given(st.integers(min_value=-5, max_value=120), st.integers(min_value=-5, max_value=120))
def test_soc_set_bounds(min_soc: int, on_grid: int) -> None:
    body = msgspec.json.encode({"sn": "X1", "minSoc": min_soc, "minSocOnGrid": on_grid})
    ok = all(limits.SOC_MIN <= v <= limits.SOC_MAX for v in (min_soc, on_grid))
    if ok:
        assert msgspec.json.decode(body, type=s.SocSet).minSoc == min_soc
    else:
        with pytest.raises(msgspec.ValidationError):
            msgspec.json.decode(body, type=s.SocSet)


def test_numeric_strings_are_accepted_leniently() -> None:
    req = msgspec.json.decode(
        b'{"currentPage":"2","pageSize":"50"}', type=s.PageRequest, strict=False
    )
    assert (req.currentPage, req.pageSize) == (2, 50)


def test_unknown_fields_are_ignored_but_not_in_scheduler_groups() -> None:
    assert msgspec.json.decode(
        b'{"currentPage":1,"pageSize":10,"extra":1}', type=s.PageRequest
    ) == s.PageRequest(currentPage=1, pageSize=10)
    group = (
        b'{"deviceSN":"X","groups":[{"enable":1,"startHour":0,"startMinute":0,"endHour":1,'
        b'"endMinute":0,"workMode":"SelfUse","minSocOnGrid":10,"fdSoc":10,"fdPwr":0,"bogus":1}]}'
    )
    with pytest.raises(msgspec.ValidationError, match="bogus"):
        msgspec.json.decode(group, type=s.SchedulerEnable)


def test_error_messages_and_the_entry_of_each_errno() -> None:
    messages = errno.messages("en")
    assert messages["0"] == "Operation successful"
    assert messages["41200"] == "Query data failed"
    assert messages == {str(int(e)): i.message for e, i in errno.ERRNO_TABLE.items()}
    assert errno.messages() == messages
    with pytest.raises(KeyError) as refused:
        errno.messages("de")
    assert refused.value.args == ("de",)
    entry = errno.info(41200)
    assert entry is not None and entry.errno == errno.Errno.QUERY_FAILED
    assert entry.message == "Query data failed"
    assert errno.info(12345) is None
