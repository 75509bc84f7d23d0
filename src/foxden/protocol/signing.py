"""Request signing as the vendor's sample client (and every public client) does it.

The signature is the lower-case md5 hex digest of ``path + SEP + token + SEP + timestamp``
where SEP is the four literal characters backslash, r, backslash, n: the vendor's sample
client builds the string with a raw f-string, so the escapes are never interpreted.
"""

from __future__ import annotations

import hashlib
import hmac

SEPARATOR = "\\r\\n"


def signature(path: str, token: str, timestamp: int | str) -> str:
    """The signature header for ``path`` (URL path without query string)."""
    text = f"{path}{SEPARATOR}{token}{SEPARATOR}{timestamp}"
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def verify(path: str, token: str, timestamp: int | str, sent: str) -> bool:
    """Constant-time check of a received signature (case-insensitive hex)."""
    text = f"{path}{SEPARATOR}{token}{SEPARATOR}{timestamp}"  # signature(), inlined: hot
    expected = hashlib.md5(text.encode("utf-8")).hexdigest().encode("ascii")
    return hmac.compare_digest(expected, sent.strip().lower().encode("utf-8"))


def headers(path: str, token: str, timestamp_ms: int, lang: str = "en") -> dict[str, str]:
    """The four auth headers for one request."""
    return {
        "token": token,
        "timestamp": str(timestamp_ms),
        "signature": signature(path, token, timestamp_ms),
        "lang": lang,
    }
