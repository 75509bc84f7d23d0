"""GET /c/v0/errors/message: the cloud's text of every errno, for clients that translate an
errno when ``msg`` is missing. Answered without the signed headers (foxesscloud sends an
empty token and no signature; EnergyStats signs it): nothing in it belongs to an account."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from foxden.protocol import errno
from foxden.protocol import structs as s


def messages() -> s.ErrorMessages:
    """``messages.<lang>.<errno as string>``, generated from the errno table."""
    return s.ErrorMessages(
        messages={lang: errno.messages(lang) for lang in errno.MESSAGE_LANGUAGES}
    )


PUBLIC_HANDLERS: dict[str, Callable[[], Any]] = {"errors.messages": messages}
"""Endpoint name -> handler of the endpoints answered without authentication."""
