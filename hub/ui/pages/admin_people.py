"""Admin pages about people and trust: members, invitations and roles; API tokens; the audit
log with its hash-chain check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub import audit
from hub.errors import HubError
from hub.permissions import ROLES
from hub.services import identity, invites, people
from hub.ui.auth import PageUser, first, page_needs, read_form
from hub.ui.render import render
from hub.web.deps import HubDep

router = APIRouter(include_in_schema=False)


@router.get("/admin/members", dependencies=[page_needs("members.read")])
async def members(request: Request, hub: HubDep, who: PageUser) -> HTMLResponse:
    listed = await people.list_users(hub, workspace_id=who.workspace_id)
    pending = await invites.list_invitations(hub, actor=who) \
        if who.can("members.manage") else []
    return render(request, "admin_members.html", members=listed, pending=pending,
                  roles=ROLES, link=None)


async def _member_action(hub: Any, who: Any, action: str, form: dict[str, list[str]]
                         ) -> dict[str, Any] | None:
    if action == "invite":
        return await invites.invite(hub, actor=who, email=first(form, "email")[:320],
                                    role=first(form, "role")[:16])
    if action == "role":
        await people.set_role(hub, actor=who, user_id=first(form, "user_id")[:64],
                              role=first(form, "role")[:16])
    elif action == "remove":
        await people.delete_user(hub, actor=who, user_id=first(form, "user_id")[:64])
    elif action == "revoke":
        await invites.revoke_invitation(hub, actor=who,
                                        invitation_id=first(form, "invitation_id")[:64])
    elif action == "reset":
        return await invites.reset_link(hub, actor=who, user_id=first(form, "user_id")[:64])
    else:
        raise HubError("no such action", code="not_found", status=404)
    return None


@router.post("/admin/members/{action}", dependencies=[page_needs("members.manage")])
async def member_action(action: str, request: Request, hub: HubDep, who: PageUser) -> Response:
    form = await read_form(request)
    made = await _member_action(hub, who, action, form)
    if made is None:
        return RedirectResponse("/admin/members", status_code=303)
    listed = await people.list_users(hub, workspace_id=who.workspace_id)
    pending = await invites.list_invitations(hub, actor=who)
    return render(request, "admin_members.html", members=listed, pending=pending, roles=ROLES,
                  link=made["link"])


@router.get("/admin/tokens", dependencies=[page_needs("tokens.own")])
async def tokens(request: Request, hub: HubDep, who: PageUser) -> HTMLResponse:
    return render(request, "admin_tokens.html",
                  tokens=await identity.list_tokens(hub, actor=who), made=None)


@router.post("/admin/tokens/{action}", dependencies=[page_needs("tokens.own")])
async def token_action(action: str, request: Request, hub: HubDep, who: PageUser) -> Response:
    form = await read_form(request)
    made = None
    if action == "create":
        made = await identity.create_token(
            hub, actor=who, name=first(form, "name")[:100] or "web",
            scope={"read_only": True} if first(form, "read_only") else None)
    elif action == "revoke":
        await identity.revoke_token(hub, actor=who, token_id=first(form, "token_id")[:64])
        return RedirectResponse("/admin/tokens", status_code=303)
    else:
        raise HubError("no such action", code="not_found", status=404)
    return render(request, "admin_tokens.html",
                  tokens=await identity.list_tokens(hub, actor=who), made=made)


@router.get("/admin/audit", dependencies=[page_needs("audit.read")])
async def audit_log(request: Request, hub: HubDep, who: PageUser,
                    action: Annotated[str, Query(max_length=64)] = "",
                    cursor: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    async with hub.db.read() as conn:
        found = await audit.list_records(conn, who.workspace_id, limit=50, cursor=cursor,
                                         filters={"action": action or None})
    return render(request, "admin_audit.html", records=found["items"], action=action,
                  next_cursor=found["next_cursor"], verdict=None)


@router.post("/admin/audit/verify", dependencies=[page_needs("audit.read")])
async def audit_verify(request: Request, hub: HubDep, who: PageUser) -> HTMLResponse:
    await read_form(request)
    verdict = (await audit.verify_all(hub.db, [who.workspace_id]))[0].as_dict()
    async with hub.db.read() as conn:
        found = await audit.list_records(conn, who.workspace_id, limit=50, cursor=None,
                                         filters={})
    return render(request, "admin_audit.html", records=found["items"], action="",
                  next_cursor=found["next_cursor"], verdict=verdict)
