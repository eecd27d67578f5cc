"""`hub users ...`: the operator's view of people, invitations and links."""

from __future__ import annotations

import json

import pytest
from test_cli import cli as cli_fixture

cli = cli_fixture  # the CLI fixture, under its name


def test_users_invite_roles_and_links(cli)   -> None:  # type: ignore[no-untyped-def]
    setup = cli("users", "setup-link")
    assert setup.exit_code == 0 and "/setup?token=zl_" in setup.stdout
    link = cli("users", "invite", "Ann@X.io", "--role", "editor")
    assert link.exit_code == 0 and "/invite?token=zl_" in link.stdout
    listed = json.loads(cli("users", "list", "--json").stdout)
    assert [(u["email"], u["role"]) for u in listed] == [("owner@localhost", "owner")]
    token = cli("tokens", "create", "--email", "OWNER@localhost").stdout.strip()
    assert token.startswith("zh_")
    assert "reset-password?token=zl_" in cli("users", "reset-link", "owner@localhost").stdout
    r = cli("users", "set-role", "owner@localhost", "viewer")
    assert r.exit_code == 2 and "error[last_owner]" in r.stderr
    r = cli("users", "invite", "x@y.io", "--role", "god")
    assert r.exit_code == 2 and "unknown role" in r.output
    r = cli("users", "remove", "ghost@x.io")
    assert r.exit_code == 2 and "error[user_not_found]" in r.stderr


@pytest.mark.parametrize("args", [("users", "reset-link", "nobody@x.io"),
                                  ("users", "set-role", "nobody@x.io", "viewer")])
def test_unknown_people(cli, args) -> None:  # type: ignore[no-untyped-def]
    r = cli(*args)
    assert r.exit_code == 2 and "user_not_found" in r.stderr
