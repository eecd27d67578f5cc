"""``http.poll_json``: GET a JSON endpoint on an interval; each new item starts a run.

Items are found with a JMESPath expression evaluated by the hub's bounded expression engine,
identified by one of their fields, and (optionally) only asked for past a cursor: the largest
cursor value seen so far is sent in a query parameter.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub import PollResult, PollTrigger, StepError, provider_error
from hub.expressions import ExpressionError, Template, compile_condition

from .auth import HttpAuth, sign
from .request import check_headers
from .transfer import fetch, parse_body, target_url, with_body

POLL_RESPONSE_BYTES = 5 * 1024 * 1024
ITEM_ID = "_item_id"


def select(expression: str, data: Any) -> Any:
    """The value of a JMESPath ``expression`` over ``data`` (the hub's bounded evaluator)."""
    return Template("expr", compile_condition(expression)).render(data)


class PollJsonConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(title="URL", max_length=8192, examples=["https://api.example.com/orders"])
    items: str = Field("@", max_length=1000, title="Items (JMESPath)",
                       description="Where the list of items is, e.g. `data.orders`; `@`: "
                       "the answer is the list.")
    id_field: str = Field("id", max_length=200, title="Item id field")
    since_param: str | None = Field(
        None, max_length=200, title="Cursor parameter",
        description="Query parameter sent with the largest cursor value seen, e.g. `since`.")
    cursor_field: str | None = Field(None, max_length=200, title="Cursor field",
                                     description="Item field giving the cursor (default: "
                                     "the id field), e.g. `updated_at`.")
    query: dict[str, str] = Field(default_factory=dict, title="Query parameters")
    headers: dict[str, str] = Field(default_factory=dict, title="Headers")
    max_items: int = Field(100, ge=1, le=1000, title="Most items per poll")

    _headers = field_validator("headers")(check_headers)

    @field_validator("items")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            compile_condition(value)
        except ExpressionError as exc:
            raise ValueError(str(exc)) from None
        return value


def _later(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return max(a, b)
    return max(str(a), str(b))


def _items(config: PollJsonConfig, body: Any) -> list[dict[str, Any]]:
    try:
        found = select(config.items, body)
    except ExpressionError as exc:
        raise StepError(f"items: {exc}", code="invalid_response", retryable=False) from None
    if found is None:
        return []
    if not isinstance(found, list) or not all(isinstance(i, dict) for i in found):
        raise StepError(f"items: '{config.items}' is not a list of objects",
                        code="invalid_response", retryable=False)
    missing = [i for i in found if i.get(config.id_field) is None]
    if missing:
        raise StepError(f"an item has no '{config.id_field}'", code="invalid_response",
                        retryable=False)
    return found[:config.max_items]


class PollJson(PollTrigger):
    key = "poll_json"
    title = "New items in a JSON API"
    description = "GETs a JSON endpoint; each item not seen before starts a run."
    Config = PollJsonConfig
    dedupe_key = ITEM_ID

    async def poll(self, config: PollJsonConfig, creds: Any, cursor: Any,
                   http: httpx.AsyncClient) -> PollResult:
        creds = creds if isinstance(creds, HttpAuth) else None
        headers, query = {"Accept": "application/json", **config.headers}, dict(config.query)
        if config.since_param and cursor is not None:
            query[config.since_param] = str(cursor)
        auth = await sign(creds.auth, http, headers) if creds else None
        url = target_url(config.url, creds.base_url if creds else None)
        request = http.build_request("GET", url, params=query or None, headers=headers)
        response, content = await fetch(http, request, limit=POLL_RESPONSE_BYTES, auth=auth)
        if response.status_code >= 400:
            raise provider_error(with_body(response, content),
                                 provider=response.url.host or "the server")
        body, _ = parse_body(content, response.headers.get("content-type", "application/json"))
        items = _items(config, body)
        field = config.cursor_field or config.id_field
        for item in items:
            cursor = _later(cursor, item.get(field)) if item.get(field) is not None else cursor
        return PollResult([{**i, ITEM_ID: str(i[config.id_field])} for i in items], cursor)
