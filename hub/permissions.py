"""Roles and permissions, in one place.

Every route declares the permission it needs (``hub.web.deps.need``); services check the same
names with ``Principal.require``. A role is granted a permission here and nowhere else.

Roles are ordered by reach (``ROLES``): nobody grants, changes or removes a role above their
own. ``approver`` reads and decides approvals but cannot edit anything.
"""

from __future__ import annotations

ROLES = ("viewer", "approver", "editor", "admin", "owner")

_ALL = frozenset(ROLES)
_EDITORS = frozenset({"editor", "admin", "owner"})
_APPROVERS = frozenset({"approver", "admin", "owner"})
_ADMINS = frozenset({"admin", "owner"})

#: permission name -> the roles that have it
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": _ALL,  # generic: anything of the workspace that is not sensitive
    "write": _EDITORS,  # generic: create and change the workspace's objects
    "zaps.read": _ALL,
    "zaps.write": _EDITORS,
    "runs.read": _ALL,
    "runs.write": _EDITORS,
    "connections.read": _ALL,
    "connections.write": _EDITORS,
    "tables.read": _ALL,
    "tables.write": _EDITORS,
    "ai.read": _ALL,
    "ai.write": _ADMINS,
    "members.read": _ALL,
    "members.manage": _ADMINS,
    "tokens.own": _ALL,  # create, list and revoke one's own tokens
    "approvals.read": _ALL,
    "approvals.decide": _APPROVERS,
    "view_sensitive": _ADMINS,
    "audit.read": _ADMINS,
    "workspace.manage": _ADMINS,
    "workspace.create": _ALL,  # a new workspace, owned by its creator
    "admin": _ADMINS,  # generic: workspace settings (vault, AI policies ...)
    "owner": frozenset({"owner"}),
}

#: permissions a ``read_only`` API token keeps (whatever its user's role)
READ_ONLY = frozenset(p for p in PERMISSIONS if p in {"read", "tokens.own"}
                      or p.endswith(".read"))


#: permissions a token limited to named zaps keeps (each route then checks the zap)
ZAP_SCOPED = frozenset({"read", "write", "zaps.read", "zaps.write", "runs.read", "runs.write",
                        "tokens.own", "approvals.read", "approvals.decide"})


def rank(role: str) -> int:
    """The role's position in ``ROLES`` (unknown roles rank below viewer)."""
    return ROLES.index(role) if role in ROLES else -1


def allowed(role: str, permission: str) -> bool:
    """Whether ``role`` has ``permission`` (an unknown permission is a programming error)."""
    return role in PERMISSIONS[permission]


def roles_with(permission: str) -> list[str]:
    """The roles that have ``permission``, lowest first."""
    return [r for r in ROLES if r in PERMISSIONS[permission]]
