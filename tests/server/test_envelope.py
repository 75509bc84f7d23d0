"""The answer envelope: a result its handler joined with the envelope around it is byte for
byte the envelope msgspec writes around the same JSON."""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from foxden.server import envelope

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)


@given(json_values, st.integers(min_value=1, max_value=5))
def test_enveloped_pieces_equal_the_encoded_envelope(value: object, parts: int) -> None:
    result = msgspec.json.encode(value)
    cut = [result[i * len(result) // parts : (i + 1) * len(result) // parts] for i in range(parts)]
    pieces: list[bytes | memoryview] = [memoryview(p) if i % 2 else p for i, p in enumerate(cut)]
    wrapped = envelope.Enveloped(pieces)
    assert envelope.body_ok(wrapped) == envelope.body_ok(msgspec.Raw(result))
    assert msgspec.json.decode(envelope.body_ok(wrapped)) == {
        "errno": 0,
        "msg": "Operation successful",
        "result": value,
    }
    assert bytes(wrapped) == result
