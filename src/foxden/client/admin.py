"""A small client of foxden's admin API (not part of the vendor's Open API): the fleet's
clock, faults, chaos rules, the request journal, accounts and keys, and snapshots.

    with AdminClient("http://127.0.0.1:8080", token) as admin:
        admin.add_chaos(match={"path": "/op/v0/device/real/query"}, errno=41200, count=2)
        admin.requests(path="/op/v0/device/real/query")

Every failure raises ``AdminError`` with the HTTP status and the server's message.
"""

from __future__ import annotations

from typing import Any

import httpx


def chaos_match(
    *,
    path: str | None = None,
    key: str | None = None,
    account: str | None = None,
    sn: str | None = None,
    method: str | None = None,
) -> dict[str, str]:
    """The ``match`` object of a chaos rule: only the fields given."""
    fields = {"path": path, "key": key, "account": account, "sn": sn, "method": method}
    return {name: value for name, value in fields.items() if value is not None}


class AdminError(Exception):
    """The admin API refused a call (or could not be reached: status 0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{message} (HTTP {status})" if status else message)
        self.status = status
        self.message = message


class AdminClient:
    def __init__(self, base_url: str, token: str, timeout: float = 60.0) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """One admin call; its JSON answer."""
        try:
            response = self._http.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise AdminError(0, f"could not reach {self._http.base_url}: {exc}") from exc
        try:
            answer = response.json()
        except ValueError:
            raise AdminError(response.status_code, response.text[:200]) from None
        if response.status_code != 200:
            message = answer.get("error") if isinstance(answer, dict) else None
            raise AdminError(response.status_code, str(message or answer))
        return answer

    # clock and faults
    def clock(self) -> dict[str, Any]:
        return dict(self.call("GET", "/admin/clock"))

    def advance(self, ms: int) -> dict[str, Any]:
        return dict(self.call("POST", "/admin/clock", {"advance_ms": ms}))

    def inject_fault(self, sn: str, code: int, duration_ms: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"sn": sn, "code": code}
        if duration_ms is not None:
            body["duration_ms"] = duration_ms
        return dict(self.call("POST", "/admin/faults", body))

    def clear_fault(self, sn: str) -> dict[str, Any]:
        return dict(self.call("DELETE", f"/admin/faults/{sn}"))

    # chaos
    def add_chaos(self, **rule: Any) -> dict[str, Any]:
        """Add a rule (the fields of ``POST /admin/chaos``); the rule with its id."""
        return dict(self.call("POST", "/admin/chaos", rule))

    def chaos_rules(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/admin/chaos")["rules"])

    def remove_chaos(self, rule_id: int) -> None:
        self.call("DELETE", f"/admin/chaos/{rule_id}")

    def clear_chaos(self) -> int:
        return int(self.call("DELETE", "/admin/chaos")["removed"])

    # journal
    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Journal entries, oldest first; filters: path, sn, errno, since, account, chaos,
        limit (unset or None: no filter)."""
        params = {k: v for k, v in filters.items() if v is not None}
        return list(self.call("GET", "/admin/requests", params=params)["requests"])

    def clear_requests(self) -> None:
        self.call("DELETE", "/admin/requests")

    # accounts and keys
    def accounts(self) -> list[dict[str, Any]]:
        """Every account with its inverters and today's calls against its quota."""
        return list(self.call("GET", "/admin/accounts")["accounts"])

    def create_account(self, name: str) -> dict[str, Any]:
        """A new account; the answer holds its API key (the only time it is shown)."""
        return dict(self.call("POST", "/admin/accounts", {"name": name}))

    def rotate_key(self, name: str) -> dict[str, Any]:
        """A new key for the account (the old one stops working at once)."""
        return dict(self.call("POST", f"/admin/accounts/{name}/key"))

    # snapshots
    def snapshot(self) -> dict[str, Any]:
        return dict(self.call("POST", "/admin/snapshot"))

    def restore(self, snapshot_id: str) -> dict[str, Any]:
        return dict(self.call("POST", "/admin/restore", {"id": snapshot_id}))
