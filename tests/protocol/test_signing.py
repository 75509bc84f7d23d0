"""Signing: the vendor's literal-separator md5, checked as properties."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from foxden.protocol import signing

paths = st.from_regex(r"/op/v[0-9]/[a-z/]{1,30}", fullmatch=True)
tokens = st.text(min_size=1, max_size=60).filter(lambda t: t.strip() == t and t != "")
stamps = st.integers(min_value=0, max_value=10**14)


def test_matches_the_vendor_sample_construction() -> None:
    # the vendor's sample client: md5 of fr'{path}\r\n{token}\r\n{timestamp}'
    path, token, stamp = "/op/v0/device/list", "abc", 1700000000000
    text = path + "\\r\\n" + token + "\\r\\n" + str(stamp)
    assert len(text) == len(path) + len(token) + 13 + 8
    assert signing.signature(path, token, stamp) == hashlib.md5(text.encode()).hexdigest()


@given(paths, tokens, stamps)
def test_own_signature_verifies(path: str, token: str, stamp: int) -> None:
    sig = signing.signature(path, token, stamp)
    assert len(sig) == 32 and sig == sig.lower()
    assert signing.verify(path, token, stamp, sig)
    assert signing.verify(path, token, str(stamp), sig.upper())


@given(paths, tokens, stamps, st.integers(min_value=1, max_value=10**6))
def test_any_change_breaks_it(path: str, token: str, stamp: int, delta: int) -> None:
    sig = signing.signature(path, token, stamp)
    assert not signing.verify(path, token, stamp + delta, sig)
    assert not signing.verify(path + "x", token, stamp, sig)
    assert not signing.verify(path, token + "x", stamp, sig)


@given(paths, tokens, stamps)
def test_real_crlf_is_a_different_signature(path: str, token: str, stamp: int) -> None:
    crlf = hashlib.md5(f"{path}\r\n{token}\r\n{stamp}".encode()).hexdigest()
    assert not signing.verify(path, token, stamp, crlf)


def test_headers_carry_all_four() -> None:
    h = signing.headers("/op/v0/plant/list", "k", 5, "de")
    assert h == {
        "token": "k",
        "timestamp": "5",
        "signature": signing.signature("/op/v0/plant/list", "k", 5),
        "lang": "de",
    }


def test_headers_default_to_english_as_the_vendor_sample_sends() -> None:
    # the vendor's sample client sends lang "en"; the cloud's messages are in that language
    assert signing.headers("/op/v0/plant/list", "k", 5)["lang"] == "en"
