"""Signed, expiring links to an approval (sent by ``approval.notify`` actions).

``sig = HMAC-SHA256(key, "<approval id>.<expiry>")`` with a key derived from
``HUB_APPROVAL_LINK_KEY`` when set, else from the vault's key-encryption key named in the link
(``kid``), so a key rotation leaves links already sent valid while the old key is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlencode

from hub.errors import HubError

SETTINGS_KID = "settings"


def _key(settings: Any, secrets: Any, kid: str) -> bytes:
    configured = getattr(settings, "approval_link_key", None)
    if kid == SETTINGS_KID:
        if configured is None:
            raise KeyError(kid)
        base = configured.get_secret_value().encode()
    else:
        base = secrets.get_key(kid)
    return hmac.new(base, b"zaphub approval links v1", hashlib.sha256).digest()


def _sig(key: bytes, approval_id: str, expires: int) -> str:
    return hmac.new(key, f"{approval_id}.{expires}".encode(), hashlib.sha256).hexdigest()


def base_url(settings: Any) -> str:
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def sign(settings: Any, secrets: Any, approval_id: str, expires_at: float) -> str:
    """The link to ``approval_id``, valid until ``expires_at``."""
    kid = SETTINGS_KID if getattr(settings, "approval_link_key", None) else \
        secrets.current_key_id()
    exp = int(expires_at)
    query = urlencode({"exp": exp, "kid": kid, "sig": _sig(_key(settings, secrets, kid),
                                                            approval_id, exp)})
    return f"{base_url(settings)}/approvals/{approval_id}?{query}"


def check(settings: Any, secrets: Any, approval_id: str, exp: int, kid: str, sig: str) -> None:
    """Raise ``approval_link_invalid`` (403) or ``approval_link_expired`` (410)."""
    try:
        key = _key(settings, secrets, kid[:64])
    except (KeyError, ValueError):
        key = None
    if key is None or not hmac.compare_digest(_sig(key, approval_id, exp), sig[:128]):
        raise HubError("the approval link is not valid", code="approval_link_invalid",
                       status=403)
    if exp < time.time():
        raise HubError("the approval link has expired", code="approval_link_expired",
                       status=410)
