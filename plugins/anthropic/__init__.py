"""Built-in ``anthropic`` model provider: the Anthropic Messages API."""

from __future__ import annotations

from typing import Any

import httpx
from hub_plugins.openai_compat.errors import error_from_response
from hub_plugins.openai_compat.listing import ListAnthropicModels
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from hub import (
    Connector,
    Credentials,
    Model,
    ModelError,
    ModelRequest,
    ModelResult,
    Usage,
    hookimpl,
)

API_VERSION = "2023-06-01"


class AnthropicCredentials(Credentials):
    api_key: SecretStr = Field(title="API key", description="Console → API keys.")


class AnthropicConnection(Connector):
    """Holds an Anthropic API key (used by model entries)."""

    key = "anthropic"
    title = "Anthropic API key"
    Credentials = AnthropicCredentials
    actions = (ListAnthropicModels,)


class AnthropicConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(title="Model", examples=["claude-sonnet-4-5"])
    base_url: str = Field("https://api.anthropic.com", title="Base URL")


class Anthropic(Model):
    key = "anthropic"
    title = "Anthropic Messages API"
    capabilities = frozenset({"chat", "json"})
    Config = AnthropicConfig

    async def call(self, request: ModelRequest, *, config: AnthropicConfig,
                   api_key: str | None, http: httpx.AsyncClient) -> ModelResult:
        if request.task != "chat":
            raise ModelError(f"task '{request.task}' is not supported", code="provider_error")
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        body: dict[str, Any] = {
            "model": config.model, "max_tokens": request.max_tokens,
            "messages": [m.model_dump() for m in request.messages if m.role != "system"]}
        if system:
            body["system"] = system
        if request.temperature is not None:
            body["temperature"] = min(request.temperature, 1.0)
        headers = {"x-api-key": api_key or "", "anthropic-version": API_VERSION}
        try:
            resp = await http.post(f"{config.base_url.rstrip('/')}/v1/messages", json=body,
                                   headers=headers)
        except httpx.TimeoutException:
            raise ModelError("the provider did not answer in time", code="timeout") from None
        except httpx.HTTPError as exc:
            raise ModelError(f"cannot reach the provider ({type(exc).__name__})",
                             code="provider_error") from None
        if resp.status_code >= 400:
            raise error_from_response(resp)
        return _result(resp)


def _result(resp: httpx.Response) -> ModelResult:
    try:
        data = resp.json()
        text = "".join(b["text"] for b in data["content"] if b.get("type") == "text")
        usage = data["usage"]
        tin, tout = int(usage["input_tokens"]), int(usage["output_tokens"])
    except (ValueError, KeyError, TypeError):
        raise ModelError("the provider's answer is not a Messages response",
                         code="invalid_response") from None
    rid = resp.headers.get("request-id") or data.get("id")
    return ModelResult(text=text, usage=Usage(input_tokens=tin, output_tokens=tout,
                                              request_id=rid))


@hookimpl
def register_models(register) -> None:  # type: ignore[no-untyped-def]
    register(Anthropic)


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    register(AnthropicConnection)
