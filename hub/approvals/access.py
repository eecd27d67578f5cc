"""Who may decide approvals and see sensitive data: the one place these checks live."""

from __future__ import annotations

from typing import Any

from hub.services.identity import ROLES, Principal

#: roles that may see sealed originals of redacted or blocked AI inputs by default
SENSITIVE_ROLES = ("admin", "owner")


def can_decide(principal: Principal) -> bool:
    """Whether the caller's role may approve or reject at all (viewers may not)."""
    return principal.role in ROLES and principal.role != "viewer"


def can_view_sensitive(principal: Principal) -> bool:
    return principal.role in SENSITIVE_ROLES


def is_approver(principal: Principal, approvers: Any, email: str | None) -> bool:
    """Whether the caller is one of ``approvers``: a role (that role or above), or a list of
    user ids and e-mails."""
    if not can_decide(principal):
        return False
    if isinstance(approvers, str):
        if approvers not in ROLES:
            return principal.role == approvers or principal.role == "owner"
        return ROLES.index(principal.role) >= ROLES.index(approvers)
    wanted = {a.lower() for a in approvers}
    return principal.user_id.lower() in wanted or (email or "").lower() in wanted
