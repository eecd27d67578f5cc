"""The workspace's approval policy: stored per workspace, cached briefly, edited by admins."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from hub import audit
from hub.approvals.tables import approval_policies
from hub.audit import Actor, Entry
from hub.errors import ZapInvalid
from hub.store.db import Database
from hub.zaps.approval import ApprovalPolicy

REFRESH = 5.0  # seconds a workspace's policy is cached (another process may change it)
_CACHE: dict[tuple[int, str], tuple[float, ApprovalPolicy]] = {}


async def load_policy(db: Database, workspace_id: str) -> ApprovalPolicy:
    """The workspace's policy (an empty one when none was saved)."""
    key = (id(db), workspace_id)
    found = _CACHE.get(key)
    if found is not None and time.monotonic() - found[0] < REFRESH:
        return found[1]
    async with db.read() as conn:
        row = (await conn.execute(sa.select(approval_policies.c.policy).where(
            approval_policies.c.workspace_id == workspace_id))).first()
    policy = ApprovalPolicy.model_validate(row.policy) if row else ApprovalPolicy()
    _CACHE[key] = (time.monotonic(), policy)
    return policy


def parse_policy(document: Any) -> ApprovalPolicy:
    """Validate a policy document; ``invalid_policy`` lists every problem."""
    from hub.zaps.compile import pydantic_errors

    try:
        return ApprovalPolicy.model_validate(document)
    except ValidationError as exc:
        error = ZapInvalid(pydantic_errors(exc))
        error.code = "invalid_policy"
        raise error from None


async def save_policy(db: Database, *, workspace_id: str, document: Any,
                      actor: Actor) -> dict[str, Any]:
    """Replace the workspace's policy; the change is audited in the same transaction."""
    policy = parse_policy(document)
    data = policy.model_dump(mode="json")
    now = time.time()
    async with db.write() as conn:
        done = await conn.execute(approval_policies.update().where(
            approval_policies.c.workspace_id == workspace_id).values(
            policy=data, updated_at=now, updated_by=actor.id))
        if not done.rowcount:
            await conn.execute(approval_policies.insert().values(
                workspace_id=workspace_id, policy=data, updated_at=now, updated_by=actor.id))
        await audit.append(conn, [Entry(workspace_id, "policy.approvals_updated", actor,
                                        "policy", "approvals", data={"policy": data})])
    _CACHE.pop((id(db), workspace_id), None)
    return {**data, "updated_at": now, "updated_by": actor.id}
