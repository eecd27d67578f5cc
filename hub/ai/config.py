"""Per-workspace AI configuration: model entries, routing policies, guardrail policy, budgets.

Validated pydantic documents stored as JSON; ``load`` returns a cached snapshot that the
engine reads on every AI step (writes in this process invalidate it at once, other processes
see a change within ``CACHE_SECONDS``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub import audit
from hub.ai.tables import ai_models, ai_policies, ai_settings
from hub.errors import BadRequest, NotFound
from hub.ids import new_id

if TYPE_CHECKING:
    from hub.context import Hub
    from hub.registry import Registry

CACHE_SECONDS = 2.0
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelEntry(_Strict):
    """A model a workspace can use: provider plugin + its config + a connection for the key."""

    name: str = Field(pattern=NAME, title="Name", description="How steps and policies name it.")
    provider: str = Field(title="Provider", description="A registered model plugin key.")
    config: dict[str, Any] = Field(default_factory=dict, title="Provider configuration")
    connection: str | None = Field(None, title="Connection", description="Holds the API key.")
    tags: list[str] | None = Field(None, description="Override the provider's tags (on_prem ...).")
    capabilities: list[str] | None = Field(None, description="Override the capabilities.")
    price_input: float | None = Field(None, ge=0, description="Price per 1k input tokens.")
    price_output: float | None = Field(None, ge=0, description="Price per 1k output tokens.")
    timeout: float = Field(60.0, gt=0, le=600, description="Seconds per call.")


class Rule(_Strict):
    """When the input's guardrail categories include any of ``if_categories``, only models
    carrying every tag in ``require_tags`` stay eligible."""

    if_categories: list[str] = Field(min_length=1)
    require_tags: list[str] = Field(min_length=1)


class Candidate(_Strict):
    model: str
    max_cost_per_call: float | None = Field(None, ge=0)


class Policy(_Strict):
    """A named routing policy: ordered candidates, data rules, cost ceilings."""

    name: str = Field(pattern=NAME)
    description: str = ""
    candidates: list[Candidate | str] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list)
    require_capabilities: list[str] = Field(default_factory=list)
    max_cost_per_call: float | None = Field(None, ge=0)
    max_cost_per_run: float | None = Field(None, ge=0)

    def entries(self) -> list[Candidate]:
        return [Candidate(model=c) if isinstance(c, str) else c for c in self.candidates]


class GuardrailRule(_Strict):
    key: str
    mode: Literal["block", "redact", "flag"]
    config: dict[str, Any] = Field(default_factory=dict)
    stages: list[Literal["input", "output"]] = Field(default_factory=lambda: ["input", "output"])


class GuardrailPolicy(_Strict):
    """The workspace's guardrail policy; applies to every AI step (and, if set, every action)."""

    guardrails: list[GuardrailRule] = Field(default_factory=list)
    apply_to_actions: bool = False


class Budget(_Strict):
    scope: Literal["workspace", "zap"] = "workspace"
    zap_id: str | None = None
    period: Literal["day", "month"] = "month"
    max_cost: float | None = Field(None, ge=0)
    max_tokens: int | None = Field(None, ge=0)


class AISettings(_Strict):
    guardrails: GuardrailPolicy = Field(default_factory=GuardrailPolicy)
    budgets: list[Budget] = Field(default_factory=list)
    allow_direct_models: bool = True


@dataclass
class Snapshot:
    models: dict[str, ModelEntry] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    settings: AISettings = field(default_factory=AISettings)
    loaded: float = field(default_factory=time.monotonic)


_CACHE: dict[tuple[int, str], Snapshot] = {}


def parse(model: type[BaseModel], data: Any, code: str) -> Any:
    """Validate ``data`` or raise a 422 with ``code`` naming the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise BadRequest(f"{where}: {first['msg']}", code=code, status=422) from None


def check_entry(entry: ModelEntry, registry: Registry) -> None:
    cls = registry.models.get(entry.provider)
    if cls is None:
        raise BadRequest(f"unknown model provider '{entry.provider}'",
                         code="unknown_provider", status=422)
    parse(cls.Config, entry.config, "invalid_model")


def check_guardrails(policy: GuardrailPolicy, registry: Registry) -> None:
    for i, rule in enumerate(policy.guardrails):
        cls = registry.guardrails.get(rule.key)
        if cls is None:
            raise BadRequest(f"guardrails[{i}].key: unknown guardrail '{rule.key}'",
                             code="invalid_guardrail_policy", status=422)
        parse(cls.Config, rule.config, "invalid_guardrail_policy")


def invalidate(hub: Hub, workspace_id: str) -> None:
    _CACHE.pop((id(hub), workspace_id), None)


async def load(hub: Hub, workspace_id: str) -> Snapshot:
    """The workspace's AI configuration (cached for ``CACHE_SECONDS``)."""
    key = (id(hub), workspace_id)
    snap = _CACHE.get(key)
    if snap is not None and time.monotonic() - snap.loaded < CACHE_SECONDS:
        return snap
    snap = Snapshot()
    async with hub.db.read() as conn:
        for row in await conn.execute(sa.select(ai_models).where(
                ai_models.c.workspace_id == workspace_id)):
            snap.models[row.name] = _entry(row)
        for row in await conn.execute(sa.select(ai_policies).where(
                ai_policies.c.workspace_id == workspace_id)):
            snap.policies[row.name] = Policy.model_validate(row.definition)
        row = (await conn.execute(sa.select(ai_settings).where(
            ai_settings.c.workspace_id == workspace_id))).first()
    if row is not None:
        snap.settings = AISettings(guardrails=row.guardrails, budgets=row.budgets,
                                   allow_direct_models=row.allow_direct_models)
    _CACHE[key] = snap
    return snap


def _entry(row: Any) -> ModelEntry:
    return ModelEntry(name=row.name, provider=row.provider, config=row.config,
                      connection=row.connection, tags=row.tags if row.tags != [] else None,
                      capabilities=row.capabilities, price_input=row.price_input,
                      price_output=row.price_output, timeout=row.timeout)


async def _audit(conn: Any, workspace_id: str, action: str, name: str,
                 values: dict[str, Any]) -> None:
    """Record a change of the AI policy (model entries, routing policies, guardrails, budgets);
    entries name connections, never hold keys."""
    data = {k: v for k, v in values.items() if k not in ("updated_at", "updated_by")}
    await audit.append(conn, [audit.Entry(workspace_id, action, audit.current_actor(), "ai",
                                          name, data=data)])


async def put_model(hub: Hub, *, workspace_id: str, data: Any) -> dict[str, Any]:
    """Create or replace a model entry (by name)."""
    entry: ModelEntry = parse(ModelEntry, data, "invalid_model")
    check_entry(entry, hub.registry)
    values = {"provider": entry.provider, "config": entry.config, "connection": entry.connection,
              "tags": entry.tags or [], "capabilities": entry.capabilities,
              "price_input": entry.price_input, "price_output": entry.price_output,
              "timeout": entry.timeout, "updated_at": time.time()}
    await _upsert(hub, ai_models, workspace_id, entry.name, values)
    return entry.model_dump()


async def put_policy(hub: Hub, *, workspace_id: str, data: Any) -> dict[str, Any]:
    """Create or replace a routing policy (by name)."""
    policy: Policy = parse(Policy, data, "invalid_policy")
    await _upsert(hub, ai_policies, workspace_id, policy.name,
                  {"definition": policy.model_dump(mode="json"), "updated_at": time.time()})
    return policy.model_dump(mode="json")


async def _upsert(hub: Hub, table: sa.Table, workspace_id: str, name: str,
                  values: dict[str, Any]) -> None:
    where = (table.c.workspace_id == workspace_id, table.c.name == name)
    async with hub.db.write() as conn:
        found = (await conn.execute(sa.select(table.c.id).where(*where))).first()
        if found is None:
            await conn.execute(table.insert().values(
                id=new_id("aim" if table is ai_models else "aip"), workspace_id=workspace_id,
                name=name, created_at=values["updated_at"], **values))
        else:
            await conn.execute(table.update().where(*where).values(**values))
        kind = "model" if table is ai_models else "policy"
        await _audit(conn, workspace_id, f"ai.{kind}_saved", name, values)
    invalidate(hub, workspace_id)


async def delete_named(hub: Hub, *, workspace_id: str, kind: str, name: str) -> None:
    """Delete a model entry (``kind='model'``) or a policy (``kind='policy'``)."""
    table = ai_models if kind == "model" else ai_policies
    async with hub.db.write() as conn:
        done = await conn.execute(table.delete().where(
            table.c.workspace_id == workspace_id, table.c.name == name))
        if done.rowcount:
            await _audit(conn, workspace_id, f"ai.{kind}_deleted", name, {})
    invalidate(hub, workspace_id)
    if done.rowcount == 0:
        raise NotFound(f"no {kind} '{name}'", code=f"{kind}_not_found")


async def put_settings(hub: Hub, *, workspace_id: str, data: Any,
                       user_id: str | None) -> dict[str, Any]:
    """Replace the workspace's AI settings (guardrail policy, budgets, direct models)."""
    new: AISettings = parse(AISettings, data, "invalid_ai_settings")
    check_guardrails(new.guardrails, hub.registry)
    values = {"guardrails": new.guardrails.model_dump(mode="json"),
              "budgets": [b.model_dump(mode="json") for b in new.budgets],
              "allow_direct_models": new.allow_direct_models,
              "updated_at": time.time(), "updated_by": user_id}
    async with hub.db.write() as conn:
        done = await conn.execute(ai_settings.update().where(
            ai_settings.c.workspace_id == workspace_id).values(**values))
        if done.rowcount == 0:
            await conn.execute(ai_settings.insert().values(workspace_id=workspace_id, **values))
        await _audit(conn, workspace_id, "ai.settings_saved", "settings", values)
    invalidate(hub, workspace_id)
    return new.model_dump(mode="json")
