"""The approvals inbox: what waits for a decision, exactly what will run and why (the
rendered input, AI outputs, verdicts, the trigger), approve or reject with a comment."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from hub.approvals import service
from hub.approvals.access import is_approver
from hub.ui.auth import PageUser, first, page_needs, read_form
from hub.ui.render import render
from hub.web.deps import HubDep

router = APIRouter(include_in_schema=False)
Status = Literal["pending", "approved", "rejected", "expired", "cancelled"]


class InboxQuery(BaseModel):
    status: Status = "pending"
    cursor: str = Field("", max_length=64)
    mine: bool = Field(False, description="Only what the caller may decide.")


@router.get("/inbox", dependencies=[page_needs("approvals.read")])
async def inbox(request: Request, hub: HubDep, who: PageUser,
                query: Annotated[InboxQuery, Query()]) -> HTMLResponse:
    found = await service.list_approvals(hub, workspace_id=who.workspace_id,
                                         status=query.status, limit=50,
                                         cursor=query.cursor or None)
    page = request.state.page
    email = page.me["user"]["email"] if page.me else None
    items = [{**a, "for_me": is_approver(who, a["approvers"], email)} for a in found["items"]]
    if query.mine:
        items = [a for a in items if a["for_me"]]
    return render(request, "inbox.html", items=items, chosen=query.status, mine=query.mine,
                  next_cursor=found["next_cursor"], statuses=Status.__args__)


@router.get("/inbox/{approval_id}", dependencies=[page_needs("approvals.read")])
async def approval(approval_id: str, request: Request, hub: HubDep,
                   who: PageUser) -> HTMLResponse:
    item = await service.get_approval(hub, workspace_id=who.workspace_id,
                                      approval_id=approval_id[:64])
    return render(request, "approval.html", a=item)


@router.post("/inbox/{approval_id}", dependencies=[page_needs("approvals.decide")])
async def decide(approval_id: str, request: Request, hub: HubDep, who: PageUser) -> Response:
    form = await read_form(request)
    verdict = first(form, "decision")
    if verdict not in ("approve", "reject"):
        verdict = "reject" if verdict == "reject" else ""
    item = await service.get_approval(hub, workspace_id=who.workspace_id,
                                      approval_id=approval_id[:64])
    if not verdict:
        return render(request, "approval.html", status=422, a=item,
                      error="Choose approve or reject.")
    await service.decide(hub, principal=who, approval_id=item["id"],
                         approve=verdict == "approve", comment=first(form, "comment")[:2000],
                         input_hash=first(form, "input_hash")[:64] or None)
    return RedirectResponse(f"/inbox/{item['id']}?decided={verdict}", status_code=303)
