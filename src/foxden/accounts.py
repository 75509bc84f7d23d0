"""Accounts, API keys and device registration: the operations behind ``foxden account``,
``foxden key`` and ``foxden device``, as plain functions tests can call.

Keys are shown once and stored only as a SHA-256 hash.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
import uuid
from dataclasses import dataclass

from foxden.limits_policy import quota_total
from foxden.protocol import identities, models
from foxden.store import Account, Device, Logger, Store, StoreError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_SN = re.compile(r"^[A-Za-z0-9]{6,32}$")


class AccountError(Exception):
    """An account operation that cannot be done; the message says why."""


def new_key() -> str:
    """A fresh API key (UUID form, as the vendor's keys look)."""
    return str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))


def key_hash(key: str) -> str:
    return hashlib.sha256(key.strip().encode("utf-8")).hexdigest()


def create_account(store: Store, name: str, now_ms: int) -> tuple[Account, str]:
    """Create an account; returns it with its API key (the only time the key is seen)."""
    if not _NAME.match(name):
        raise AccountError(
            f"account name {name!r} must be 1-64 letters, digits, '_', '.', '@' or '-'"
        )
    key = new_key()
    try:
        account = store.create_account(name, key_hash(key), now_ms)
    except StoreError as exc:
        raise AccountError(f"account {name!r} already exists") from exc
    return account, key


def rotate_key(store: Store, name: str) -> str:
    """Give an account a new key; the old one stops working at once."""
    key = new_key()
    try:
        store.set_key_hash(name, key_hash(key))
    except StoreError as exc:
        raise AccountError(f"no account named {name!r}") from exc
    return key


@dataclass(frozen=True, slots=True)
class AccountUsage:
    name: str
    devices: int
    used_today: int
    quota: int


def list_accounts(store: Store, day: str, per_device: int) -> list[AccountUsage]:
    """Accounts with today's quota use (UTC day ``YYYY-MM-DD``)."""
    return [
        AccountUsage(
            a.name, a.device_count, store.usage(a.id, day), quota_total(per_device, a.device_count)
        )
        for a in store.accounts()
    ]


def add_device(
    store: Store,
    account_name: str,
    sn: str | None,
    model_name: str,
    now_ms: int,
    logger_sn: str | None = None,
) -> Device:
    """Register an inverter (and its data logger) to an account, unbound to any plant.

    Without ``sn`` the inverter gets the next free serial of its model in the real form
    (``foxden.protocol.identities``); without ``logger_sn`` its logger gets one too."""
    account = store.account_by_name(account_name)
    if account is None:
        raise AccountError(f"no account named {account_name!r}")
    model = models.model(model_name)
    if model is None:
        raise AccountError(
            f"unknown model {model_name!r}; known models: {', '.join(models.MODELS)}"
        )
    if sn is None:
        sn = next_serial(store, model.name)
    if not _SN.match(sn):
        raise AccountError(f"serial number {sn!r} must be 6-32 letters or digits")
    if store.device(sn) is not None:
        raise AccountError(f"device {sn} is already registered")
    if logger_sn is not None:
        logger = logger_sn
        if not _SN.match(logger):
            raise AccountError(f"logger serial number {logger!r} must be 6-32 letters or digits")
        owner = store.logger(logger)
        if owner is not None and owner.account_id != account.id:
            raise AccountError(f"logger {logger} is registered to another account")
    else:
        logger = _free_logger_sn(store, sn, account.id)
    batteries = identities.battery_list(sn, model.name)
    device = Device(sn, account.id, model.name, logger, now_ms, batteries=batteries)
    try:
        store.insert_device(device, Logger(logger, account.id))
    except StoreError as exc:
        raise AccountError(f"cannot register {sn}: {exc}") from exc
    return device


def _free_logger_sn(store: Store, sn: str, account_id: int) -> str:
    """The logger serial a new inverter gets: derived from its own serial, and never one
    that another account's logger already has (serial numbers are unique fleet-wide)."""
    own = identities.logger_serial(sn)
    # made one at a time: nearly always the first is free
    candidates = itertools.chain(
        (own, f"{sn[-31:]}M"), (f"{sn[-27:]}M{n:04d}" for n in range(1, 10_000))
    )
    for candidate in candidates:
        owner = store.logger(candidate)
        if owner is None or (owner.account_id == account_id and candidate == own):
            return candidate
    raise AccountError(f"no free logger serial number for {sn}")  # pragma: no cover


def next_serial(store: Store, model_name: str) -> str:
    """The first serial of the model's form that no registered inverter has."""
    number = 1
    while store.device(sn := identities.inverter_serial(model_name, number)) is not None:
        number += 1
    return sn
