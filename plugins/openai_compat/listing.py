"""``<provider>.list_models``: the model ids a key can use (shared by the key connectors)."""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict, Field

from hub import Action, StepContext, StepError


class ListInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(title="Base URL", description="The API's base URL.")


class ListOutput(BaseModel):
    models: list[str] = Field(description="Model ids.")


async def list_models(url: str, headers: dict[str, str], http: httpx.AsyncClient) -> ListOutput:
    try:
        resp = await http.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise StepError(f"cannot reach the provider ({type(exc).__name__})",
                        code="provider_error") from None
    if resp.status_code >= 400:
        raise StepError(f"the provider answered HTTP {resp.status_code}",
                        code="auth_failed" if resp.status_code in (401, 403) else "provider_error",
                        retryable=resp.status_code >= 500)
    try:
        return ListOutput(models=[m["id"] for m in resp.json()["data"]])
    except (ValueError, KeyError, TypeError):
        raise StepError("the provider's answer has no data[].id", code="invalid_response") from None


class ListModels(Action):
    key = "list_models"
    title = "List models"
    description = "The model ids this key can use (GET /models)."
    Input = ListInput
    Output = ListOutput

    async def run(self, payload: ListInput, ctx: StepContext) -> ListOutput:
        key = getattr(ctx.creds, "api_key", None)
        headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}
        assert ctx.http is not None
        return await list_models(f"{payload.base_url.rstrip('/')}/models", headers, ctx.http)


class ListAnthropicModels(ListModels):
    async def run(self, payload: ListInput, ctx: StepContext) -> ListOutput:
        key = getattr(ctx.creds, "api_key", None)
        headers = {"anthropic-version": "2023-06-01",
                   "x-api-key": key.get_secret_value() if key else ""}
        assert ctx.http is not None
        return await list_models(f"{payload.base_url.rstrip('/')}/v1/models", headers, ctx.http)
