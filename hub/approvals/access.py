"""Who may decide approvals and see sensitive data (permissions from ``hub.permissions``)."""

from __future__ import annotations

from typing import Any

from hub.permissions import ROLES, rank
from hub.services.identity import Principal


def can_decide(principal: Principal) -> bool:
    """Whether the caller may approve or reject at all (``approvals.decide``)."""
    return principal.can("approvals.decide")


def can_view_sensitive(principal: Principal) -> bool:
    """Whether the caller may see sealed originals of redacted or blocked AI inputs."""
    return principal.can("view_sensitive")


def is_approver(principal: Principal, approvers: Any, email: str | None) -> bool:
    """Whether the caller is one of ``approvers``: a role (that role or above, among those
    who may decide), or a list of user ids and e-mails."""
    if not can_decide(principal):
        return False
    if isinstance(approvers, str):
        return approvers in ROLES and rank(principal.role) >= rank(approvers)
    wanted = {a.lower() for a in approvers}
    return principal.user_id.lower() in wanted or (email or "").lower() in wanted
