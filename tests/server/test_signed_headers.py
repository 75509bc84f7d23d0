"""``signed_headers``: the four signed headers exactly as ``header_map`` reads them (names in
any case, the last of each wins), whatever else a request carries."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from foxden.server.incoming import header_map, signed_headers

NAMES = ["token", "timestamp", "signature", "lang", "host", "content-type", "accept", "x-other"]

names = st.sampled_from(NAMES).flatmap(
    lambda name: st.sampled_from([name, name.upper(), name.title()])
)
values = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=12)


@given(st.lists(st.tuples(names, values), max_size=12))
def test_signed_headers_are_header_maps_signed_part(pairs: list[tuple[str, str]]) -> None:
    scope = {"headers": [(n.encode("latin-1"), v.encode("latin-1")) for n, v in pairs]}
    every = header_map(scope)
    signed = {k: v for k, v in every.items() if k in ("token", "timestamp", "signature", "lang")}
    assert signed_headers(scope) == signed


def test_a_signed_header_in_capitals_is_found_beside_unsigned_ones() -> None:
    scope = {
        "headers": [
            (b"host", b"x"),
            (b"TOKEN", b"abc"),
            (b"Content-Type", b"application/json"),
            (b"lang", b"en"),
        ]
    }
    assert signed_headers(scope) == {"token": "abc", "lang": "en"}
