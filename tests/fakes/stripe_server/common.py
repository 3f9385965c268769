"""Shapes every part of the fake shares: Stripe's error object, its form encoding, ids and lists."""

from __future__ import annotations

import calendar
import re
import secrets
from datetime import UTC, datetime

WINDOW_PAST_S = 35 * 24 * 3600
WINDOW_FUTURE_S = 5 * 60
IDENTIFIER_TTL_S = 24 * 3600


class StripeFailure(Exception):
    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error", code=None, param=None):
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param
        self.headers: dict[str, str] = {}

    def body(self) -> dict:
        error = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}


def missing(kind: str, id_: str, param: str = "id") -> StripeFailure:
    return StripeFailure(404, f"No such {kind}: '{id_}'", code="resource_missing", param=param)


def decode_form(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (`a[b][0][c]=v`, `expand[]=x`) back into nested dicts and lists."""
    root: dict = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        parts = [head, *re.findall(r"\[?([^\[\]]*)\]", rest)] if rest else [head]
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                node.setdefault("__list__", []).append(value)
                break
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _listify(root)


def _listify(node):
    if not isinstance(node, dict):
        return node
    if "__list__" in node:
        return node["__list__"]
    if node and all(k.isdigit() for k in node):
        return [_listify(node[k]) for k in sorted(node, key=int)]
    return {k: _listify(v) for k, v in node.items()}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def require(p: dict, *names: str) -> None:
    for name in names:
        if name not in p or p[name] in ("", None):
            raise StripeFailure(400, f"Missing required param: {name}.", code="parameter_missing", param=name)


def stripe_list(items, url: str) -> dict:
    return {"object": "list", "data": list(items), "has_more": False, "url": url}


def add_months(timestamp: int, months: int) -> int:
    """The same day and time `months` later (clamped to the month's last day), as Stripe's monthly periods."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())
