"""The ``stripe`` connector: a secret or restricted API key, and two actions."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from hub import (
    Action,
    CannotConnect,
    Connector,
    Credentials,
    InvalidCredentials,
    StepContext,
    StepError,
    provider_error,
)

API = "https://api.stripe.com/v1"


class StripeCredentials(Credentials):
    api_key: SecretStr = Field(title="Secret key", description="`sk_live_...`/`sk_test_...`, "
                               "or a restricted key (`rk_...`) with Customers read and "
                               "Refunds write.")


def stripe_error(response: httpx.Response) -> StepError:
    """Stripe's ``{"error": {"type", "code", "message"}}``, honouring ``Stripe-Should-Retry``."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    message = error.get("message") if isinstance(error, dict) else None
    if message and isinstance(error, dict) and error.get("code"):
        message = f"{message} ({error['code']})"
    err = provider_error(response, provider="Stripe", message=message)
    should = response.headers.get("stripe-should-retry")
    if should in ("true", "false"):
        err.retryable = should == "true"
    return err


async def call(ctx: StepContext, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    if not isinstance(ctx.creds, StripeCredentials) or ctx.http is None:
        raise StepError("the step needs a stripe connection", code="no_connection",
                        retryable=False)
    headers = {"Authorization": f"Bearer {ctx.creds.api_key.get_secret_value()}",
               **kwargs.pop("headers", {})}
    try:
        response = await ctx.http.request(method, API + path, headers=headers, **kwargs)
    except httpx.HTTPError as exc:
        raise provider_error(exc, provider="Stripe") from None
    if response.status_code >= 400:
        raise stripe_error(response)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise StepError("Stripe answered with a body that is not a JSON object",
                        code="invalid_response", retryable=False)
    return body


class FindCustomerInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=512, title="Email",
                       description="Exact, case-sensitive match as Stripe stores it.")
    limit: int = Field(10, ge=1, le=100, title="Most customers returned")


class FindCustomerOutput(BaseModel):
    found: bool = Field(title="Found")
    customer: dict[str, Any] | None = Field(None, title="First match (newest)")
    customers: list[dict[str, Any]] = Field(title="All matches")


class FindCustomer(Action):
    key = "find_customer"
    title = "Find a customer by email"
    description = "GET /v1/customers?email=..."
    Input = FindCustomerInput
    Output = FindCustomerOutput

    async def run(self, payload: FindCustomerInput, ctx: StepContext) -> FindCustomerOutput:
        page = await call(ctx, "GET", "/customers",
                          params={"email": payload.email, "limit": payload.limit})
        found = [c for c in page.get("data") or [] if isinstance(c, dict)]
        return FindCustomerOutput(found=bool(found), customer=found[0] if found else None,
                                  customers=found)


class RefundInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_intent: str | None = Field(None, pattern=r"^pi_\w+$", title="Payment intent")
    charge: str | None = Field(None, pattern=r"^(ch|py)_\w+$", title="Charge",
                               description="Instead of a payment intent.")
    amount: int | None = Field(None, ge=1, title="Amount (smallest unit)",
                               description="Cents for USD; empty refunds everything left.")
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = Field(
        None, title="Reason")
    metadata: dict[str, str] = Field(default_factory=dict, max_length=50, title="Metadata")

    @model_validator(mode="after")
    def _one_target(self) -> RefundInput:
        if (self.payment_intent is None) == (self.charge is None):
            raise ValueError("give exactly one of payment_intent and charge")
        return self


class RefundOutput(BaseModel):
    id: str = Field(title="Refund id")
    status: str = Field(title="Status")
    amount: int = Field(title="Amount")
    currency: str = Field(title="Currency")


class CreateRefund(Action):
    key = "create_refund"
    title = "Refund a payment"
    description = ("POST /v1/refunds with the step's idempotency key, so a retried step never "
                   "refunds twice.")
    Input = RefundInput
    Output = RefundOutput

    async def run(self, payload: RefundInput, ctx: StepContext) -> RefundOutput:
        form = {k: str(v) for k, v in payload.model_dump(exclude={"metadata"}).items()
                if v is not None}
        form |= {f"metadata[{k}]": v for k, v in payload.metadata.items()}
        refund = await call(ctx, "POST", "/refunds", data=form,
                            headers={"Idempotency-Key": ctx.idempotency_key})
        return RefundOutput(id=str(refund.get("id")), status=str(refund.get("status")),
                            amount=int(refund.get("amount") or 0),
                            currency=str(refund.get("currency") or ""))


class Stripe(Connector):
    key = "stripe"
    title = "Stripe"
    description = "Look up customers and refund payments."
    Credentials = StripeCredentials
    actions = (FindCustomer, CreateRefund)
    hosts = ("api.stripe.com",)

    async def check(self, creds: Credentials, http: httpx.AsyncClient) -> None:
        if not isinstance(creds, StripeCredentials):
            raise InvalidCredentials("expected Stripe credentials")
        key = creds.api_key.get_secret_value()
        try:
            response = await http.get(f"{API}/customers", params={"limit": 1},
                                      headers={"Authorization": f"Bearer {key}"})
        except httpx.HTTPError as exc:
            raise CannotConnect(f"cannot reach Stripe: {type(exc).__name__}") from None
        if response.status_code in (401, 403):
            raise InvalidCredentials("Stripe rejected the API key")
        if response.status_code >= 400:
            raise CannotConnect(f"Stripe answered {response.status_code}")
