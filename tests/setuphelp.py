"""Turning the setup link a started ``hub serve`` printed into an owner's API token."""

from __future__ import annotations

import re

import httpx

LINK = re.compile(r"setup\?token=(zl_[A-Za-z0-9_-]{20,})")
OWNER = {"email": "owner@example.com", "password": "a long test password", "name": "Owner"}


def token_via_setup(base: str, link_token: str) -> str:
    """Use the setup link (as a browser would), then create an API token in that session."""
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.post("/api/v1/setup", json={"token": link_token, **OWNER})
        assert r.status_code == 200, r.text
        r = client.post("/api/v1/tokens", json={"name": "test"},
                        headers={"X-CSRF-Token": r.json()["csrf_token"]})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])
