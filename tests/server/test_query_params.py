"""A GET call's query string is read as ``dict(parse_qsl(query))`` would read it, by a
shorter path when nothing in it is escaped."""

from __future__ import annotations

from urllib.parse import parse_qsl

from hypothesis import given
from hypothesis import strategies as st

from foxden.server.incoming import query_params

PIECES = st.sampled_from(["sn", "=", "&", "a", "b", "%41", "%", "+", ";", "", "\x00", "é", "=="])


@given(st.lists(PIECES | st.text(max_size=3), max_size=12).map("".join))
def test_query_params_read_like_parse_qsl(query: str) -> None:
    assert query_params(query) == dict(parse_qsl(query))


def test_plain_and_escaped_queries() -> None:
    assert query_params("sn=ABC&x=1&sn=DEF") == {"sn": "DEF", "x": "1"}
    assert query_params("sn=&x") == {}
    assert query_params("=v") == {"": "v"}
    assert query_params("sn=A%42C+D") == {"sn": "ABC D"}
