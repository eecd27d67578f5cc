"""Built-in ``openai_compat`` model provider: any OpenAI-compatible chat completions API
(OpenAI, Azure-style deployments, Ollama, vLLM, LM Studio, llama.cpp server, OpenRouter, Groq)."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from hub_plugins.openai_compat.errors import error_from_response
from hub_plugins.openai_compat.listing import ListModels
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


class OpenAICredentials(Credentials):
    api_key: SecretStr = Field(title="API key", description="The provider's API key.")


class OpenAIConnection(Connector):
    """Holds the API key of an OpenAI-compatible provider (used by model entries)."""

    key = "openai_compat"
    title = "OpenAI-compatible API key"
    Credentials = OpenAICredentials
    actions = (ListModels,)


class OpenAIConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(title="Model", description="Model name, or the Azure deployment name.")
    base_url: str = Field("https://api.openai.com/v1", title="Base URL",
                          description="e.g. http://127.0.0.1:11434/v1 for Ollama.")
    api_style: Literal["openai", "azure"] = Field("openai", title="API style")
    api_version: str = Field("2024-10-21", title="Azure API version")


class OpenAICompatible(Model):
    key = "openai_compat"
    title = "OpenAI-compatible chat completions"
    capabilities = frozenset({"chat", "json", "embeddings"})
    Config = OpenAIConfig
    needs_key = False  # local servers (Ollama, vLLM ...) need none

    async def call(self, request: ModelRequest, *, config: OpenAIConfig, api_key: str | None,
                   http: httpx.AsyncClient) -> ModelResult:
        if request.task == "embed":
            body: dict[str, Any] = {"model": config.model, "input": request.texts}
            data, rid = await _post(http, config, api_key, "embeddings", body)
            return _embeddings(data, rid)
        if request.task != "chat":
            raise ModelError(f"task '{request.task}' is not supported", code="provider_error")
        body = {"messages": [m.model_dump() for m in request.messages],
                "max_tokens": request.max_tokens}
        if config.api_style == "openai":
            body["model"] = config.model
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.json_mode:
            body["response_format"] = {"type": "json_object"}
        data, rid = await _post(http, config, api_key, "chat/completions", body)
        return _chat(data, rid)


async def _post(http: httpx.AsyncClient, config: OpenAIConfig, api_key: str | None,
                path: str, body: dict[str, Any]) -> tuple[Any, str | None]:
    base = config.base_url.rstrip("/")
    headers, params = {}, {}
    if config.api_style == "azure":
        url = f"{base}/openai/deployments/{config.model}/{path}"
        params["api-version"] = config.api_version
        if api_key:
            headers["api-key"] = api_key
    else:
        url = f"{base}/{path}"
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
    try:
        resp = await http.post(url, json=body, headers=headers, params=params)
    except httpx.TimeoutException:
        raise ModelError("the provider did not answer in time", code="timeout") from None
    except httpx.HTTPError as exc:
        raise ModelError(f"cannot reach the provider ({type(exc).__name__})",
                         code="provider_error") from None
    if resp.status_code >= 400:
        raise error_from_response(resp)
    try:
        data = resp.json()
    except ValueError:
        raise ModelError("the provider's answer is not JSON", code="invalid_response") from None
    return data, resp.headers.get("x-request-id") or (
        data.get("id") if isinstance(data, dict) else None)


def _chat(data: Any, rid: str | None) -> ModelResult:
    try:
        text = data["choices"][0]["message"]["content"]
        usage = data.get("usage") or {}
        tin, tout = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
    except (KeyError, IndexError, TypeError, ValueError):
        raise ModelError("the provider's answer has no choices[0].message.content",
                         code="invalid_response") from None
    if not isinstance(text, str):
        raise ModelError("the provider's answer has no text", code="invalid_response")
    return ModelResult(text=text, usage=Usage(input_tokens=tin, output_tokens=tout,
                                              request_id=rid))


def _embeddings(data: Any, rid: str | None) -> ModelResult:
    try:
        vectors = [[float(x) for x in d["embedding"]]
                   for d in sorted(data["data"], key=lambda d: d["index"])]
        tin = int((data.get("usage") or {}).get("prompt_tokens", 0))
    except (KeyError, TypeError, ValueError):
        raise ModelError("the provider's answer has no data[].embedding",
                         code="invalid_response") from None
    return ModelResult(vectors=vectors, usage=Usage(input_tokens=tin, request_id=rid))


@hookimpl
def register_models(register) -> None:  # type: ignore[no-untyped-def]
    register(OpenAICompatible)


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    register(OpenAIConnection)
