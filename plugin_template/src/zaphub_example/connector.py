"""The ``example`` connector: create items over a JSON HTTP API, and start zaps when new items
appear (a poll trigger).

Everything the hub needs is declared on the classes: pydantic models for credentials, inputs,
outputs and trigger settings (their titles, descriptions, examples and bounds become the web
forms), an async ``check`` for credentials, an async ``run`` per action, an async ``poll``
per poll trigger.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr

from hub import (
    Action,
    CannotConnect,
    Connector,
    Credentials,
    InvalidCredentials,
    PollResult,
    PollTrigger,
    StepContext,
    StepError,
)


class ExampleCredentials(Credentials):
    """A connection to Example. Every secret is a ``SecretStr``: the hub stores it encrypted
    and never shows it again."""

    api_key: SecretStr = Field(title="API key", description="Settings → API keys in Example.")
    base_url: HttpUrl = Field(HttpUrl("https://api.example.test"), title="API base URL",
                              description="Change it only for a self-hosted Example.")


def _url(creds: ExampleCredentials, path: str) -> str:
    return str(creds.base_url).rstrip("/") + path


def _headers(creds: ExampleCredentials) -> dict[str, str]:
    return {"Authorization": f"Bearer {creds.api_key.get_secret_value()}"}


def _creds(creds: Any) -> ExampleCredentials:
    if not isinstance(creds, ExampleCredentials):
        raise StepError("this needs an Example connection", code="no_connection",
                        retryable=False)
    return creds


async def _call(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Any:
    """Send one request; map failures to stable codes and return the JSON answer."""
    try:
        resp = await http.request(method, url, **kwargs)
    except httpx.TransportError as exc:
        raise StepError(f"Example is unreachable: {exc}", code="cannot_connect") from exc
    if resp.status_code in (401, 403):
        raise StepError("Example rejected the API key", code="invalid_auth", retryable=False)
    if resp.status_code >= 400:
        raise StepError(f"Example answered {resp.status_code}", code="upstream_error",
                        retryable=resp.status_code >= 500 or resp.status_code == 429)
    try:
        return resp.json()
    except ValueError as exc:
        raise StepError("Example answered something that is not JSON",
                        code="upstream_error") from exc


class CreateItemInput(BaseModel):
    name: str = Field(title="Name", min_length=1, max_length=200, examples=["Quarterly report"])
    note: str = Field("", title="Note", max_length=5000,
                      description="Free text stored with the item.",
                      json_schema_extra={"format": "multiline"})


class CreateItemOutput(BaseModel):
    id: str = Field(title="Item id")
    name: str = Field(title="Name")


class CreateItem(Action):
    key = "create_item"
    title = "Create an item"
    description = "Creates an item; a retried step never creates a duplicate (Idempotency-Key)."
    Input = CreateItemInput
    Output = CreateItemOutput

    async def run(self, payload: CreateItemInput, ctx: StepContext) -> CreateItemOutput:
        creds = _creds(ctx.creds)
        if ctx.http is None:
            raise StepError("no HTTP client", code="no_connection", retryable=False)
        headers = _headers(creds) | {"Idempotency-Key": ctx.idempotency_key}
        data = await _call(ctx.http, "POST", _url(creds, "/items"),
                           json=payload.model_dump(), headers=headers)
        return CreateItemOutput(id=str(data["id"]), name=data.get("name", payload.name))


class NewItemsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=100, title="Items per poll",
                       description="At most this many new items per poll; the rest come with "
                       "the next one.")


class NewItems(PollTrigger):
    """Each item created since the last poll starts one run, oldest first.

    The first poll (``cursor`` is ``None``) returns the newest items and the cursor to go on
    from; the hub records them as a baseline and starts no runs for them (unless the zap
    sets ``fire_on_first``). Later polls get the cursor the previous one returned and return
    only what came after it. A failure raises ``StepError`` with a stable code; the hub keeps
    the old cursor and polls again at the next interval.
    """

    key = "new_items"
    title = "New item"
    description = "Starts a run for every item created in Example since the last poll."
    Config = NewItemsConfig
    dedupe_key = "id"  # the item field that identifies an item: seen ids never run twice

    async def poll(self, config: NewItemsConfig, creds: Credentials | None, cursor: Any,
                   http: httpx.AsyncClient) -> PollResult:
        account = _creds(creds)
        params: dict[str, Any] = {"limit": config.limit}
        if cursor is not None:
            params["after"] = cursor
        data = await _call(http, "GET", _url(account, "/items"), params=params,
                           headers=_headers(account))
        items = data["items"]  # oldest first
        return PollResult(items=items, cursor=items[-1]["id"] if items else cursor)


class Example(Connector):
    key = "example"
    title = "Example"
    description = "Create items in Example and start zaps when new ones appear."
    Credentials = ExampleCredentials
    actions = (CreateItem,)
    triggers = (NewItems,)

    async def check(self, creds: Credentials, http: httpx.AsyncClient) -> None:
        """Called before a connection is saved: raise ``InvalidCredentials`` or
        ``CannotConnect`` when the credentials do not work."""
        account = _creds(creds)
        try:
            resp = await http.get(_url(account, "/me"), headers=_headers(account))
        except httpx.TransportError as exc:
            raise CannotConnect(f"cannot reach Example: {exc}") from exc
        if resp.status_code in (401, 403):
            raise InvalidCredentials("Example rejected the API key")
        if resp.status_code >= 400:
            raise CannotConnect(f"Example answered {resp.status_code}")
