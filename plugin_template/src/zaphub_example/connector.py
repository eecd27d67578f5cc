"""The ``example`` connector: one action that creates an item over a JSON HTTP API."""

from __future__ import annotations

import httpx
from pydantic import BaseModel, Field, HttpUrl, SecretStr

from hub import (
    Action,
    CannotConnect,
    Connector,
    Credentials,
    InvalidCredentials,
    StepContext,
    StepError,
)


class ExampleCredentials(Credentials):
    api_key: SecretStr = Field(title="API key", description="Settings → API keys in Example.")
    base_url: HttpUrl = Field(HttpUrl("https://api.example.test"), title="API base URL",
                              description="Change it only for a self-hosted Example.")


def _url(creds: ExampleCredentials, path: str) -> str:
    return str(creds.base_url).rstrip("/") + path


def _headers(creds: ExampleCredentials) -> dict[str, str]:
    return {"Authorization": f"Bearer {creds.api_key.get_secret_value()}"}


class CreateItemInput(BaseModel):
    name: str = Field(title="Name", min_length=1, max_length=200, examples=["Quarterly report"])
    note: str = Field("", title="Note", description="Free text stored with the item.",
                      json_schema_extra={"format": "multiline"})


class CreateItemOutput(BaseModel):
    id: str = Field(title="Item id")
    name: str = Field(title="Name")


class CreateItem(Action):
    key = "create_item"
    title = "Create an item"
    description = "Creates an item; retries never create a duplicate (Idempotency-Key)."
    Input = CreateItemInput
    Output = CreateItemOutput

    async def run(self, payload: CreateItemInput, ctx: StepContext) -> CreateItemOutput:
        creds = ctx.creds
        if not isinstance(creds, ExampleCredentials) or ctx.http is None:
            raise StepError("the step needs an Example connection", code="no_connection",
                            retryable=False)
        headers = _headers(creds) | {"Idempotency-Key": ctx.idempotency_key}
        try:
            resp = await ctx.http.post(_url(creds, "/items"), json=payload.model_dump(),
                                       headers=headers)
        except httpx.TransportError as exc:
            raise StepError(f"Example is unreachable: {exc}", code="cannot_connect") from exc
        if resp.status_code in (401, 403):
            raise StepError("Example rejected the API key", code="invalid_auth", retryable=False)
        if resp.status_code >= 400:
            raise StepError(f"Example answered {resp.status_code}", code="upstream_error",
                            retryable=resp.status_code >= 500 or resp.status_code == 429)
        data = resp.json()
        return CreateItemOutput(id=str(data["id"]), name=data.get("name", payload.name))


class Example(Connector):
    key = "example"
    title = "Example"
    description = "Create items in Example (a sample API used by the plugin template)."
    Credentials = ExampleCredentials
    actions = (CreateItem,)

    async def check(self, creds: Credentials, http: httpx.AsyncClient) -> None:
        if not isinstance(creds, ExampleCredentials):
            raise InvalidCredentials("expected Example credentials")
        try:
            resp = await http.get(_url(creds, "/me"), headers=_headers(creds))
        except httpx.TransportError as exc:
            raise CannotConnect(f"cannot reach Example: {exc}") from exc
        if resp.status_code in (401, 403):
            raise InvalidCredentials("Example rejected the API key")
        if resp.status_code >= 400:
            raise CannotConnect(f"Example answered {resp.status_code}")
