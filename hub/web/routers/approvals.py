"""/api/v1/approvals: list, show, approve, reject; the workspace policy; signed links."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from hub.approvals import policy as policies
from hub.approvals import service
from hub.services.identity import Principal
from hub.web.deps import PUBLIC, Admin, HubDep, need

router = APIRouter(prefix="/api/v1/approvals", tags=["approvals"])
link_router = APIRouter(prefix="/approvals", tags=["approvals"])
Reader = Annotated[Principal, need("approvals.read")]
Decider = Annotated[Principal, need("approvals.decide")]
Status = Literal["pending", "approved", "rejected", "expired", "cancelled"]


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field("", max_length=2000)
    input_hash: str | None = Field(None, max_length=64, description="The `input_hash` you "
                                   "were shown; required to approve.")


@router.get("")
async def list_approvals(hub: HubDep, who: Reader, status: Status | None = None,
                         limit: int = Query(50, ge=1, le=200),
                         cursor: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    """Approval requests, newest first; pass ``next_cursor`` back as ``cursor``."""
    return await service.list_approvals(hub, workspace_id=who.workspace_id, status=status,
                                        limit=limit, cursor=cursor)


@router.get("/policy")
async def get_policy(hub: HubDep, who: Reader) -> dict[str, Any]:
    """The workspace's approval rules."""
    found = await policies.load_policy(hub.db, who.workspace_id)
    return found.model_dump(mode="json")


@router.put("/policy")
async def put_policy(body: dict[str, Any], hub: HubDep, who: Admin) -> dict[str, Any]:
    """Replace the workspace's approval rules (admins); the change is audited."""
    return await policies.save_policy(hub.db, workspace_id=who.workspace_id, document=body,
                                      actor=service.actor_of(who))


@router.get("/{approval_id}")
async def get_approval(approval_id: str, hub: HubDep, who: Reader) -> dict[str, Any]:
    """What will run (connector action, rendered input, its hash), what led to it (trigger,
    AI outputs, model decisions, guardrail verdicts) and the decisions so far."""
    return await service.get_approval(hub, workspace_id=who.workspace_id,
                                      approval_id=approval_id)


@router.post("/{approval_id}/approve")
async def approve(approval_id: str, body: Decision, hub: HubDep,
                  who: Decider) -> dict[str, Any]:
    """Approve with a comment; send the ``input_hash`` you were shown."""
    return await service.decide(hub, principal=who, approval_id=approval_id, approve=True,
                                comment=body.comment, input_hash=body.input_hash)


@router.post("/{approval_id}/reject")
async def reject(approval_id: str, body: Decision, hub: HubDep,
                 who: Decider) -> dict[str, Any]:
    """Reject with a comment: the run ends ``rejected``."""
    return await service.decide(hub, principal=who, approval_id=approval_id, approve=False,
                                comment=body.comment, input_hash=body.input_hash)


@link_router.get("/{approval_id}", dependencies=[PUBLIC])
async def open_link(approval_id: str, hub: HubDep, exp: int = Query(ge=0),
                    kid: str = Query(max_length=64), sig: str = Query(max_length=128),
                    ) -> dict[str, Any]:
    """A signed, expiring link from a notification: the approval's step and status (sign in
    to see its input and decide)."""
    return await service.link_summary(hub, approval_id=approval_id[:64], exp=exp, kid=kid,
                                      sig=sig)
