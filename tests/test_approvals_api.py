"""Approvals over the API and the CLI: policy permissions, list, show, decide, signed links."""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

from typer.testing import CliRunner

from hub.approvals import links
from hub.context import Hub
from hub.engine.worker import Worker
from hub.services import identity, people
from hub.services import runs as runs_svc
from hub.services import zaps as zaps_svc
from hub.settings import Settings
from hub.testing.people import owner_token

ZAP = {"name": "pay", "trigger": {"kind": "manual"}, "steps": [
    {"id": "draft", "use": "core.transform", "input": {"amount": "{{ trigger.amount }}"}},
    {"id": "pay", "use": "core.transform", "input": {"paid": "{{ steps.draft.amount }}"},
     "approval": {"approvers": "admin", "timeout": "1h"}}]}


async def _user(api, email: str, role: str) -> str:  # type: ignore[no-untyped-def]
    r = await api.post("/api/v1/users", json={"email": email, "role": role})
    assert r.status_code == 201, r.text
    return r.json()["token"]


async def _waiting(api) -> dict:  # type: ignore[no-untyped-def]
    zid = (await api.post("/api/v1/zaps", json=ZAP)).json()["id"]
    r = await api.post(f"/api/v1/zaps/{zid}/runs?wait=10", json={"input": {"amount": 12}})
    assert r.json()["status"] == "waiting", r.text
    page = (await api.get("/api/v1/approvals?status=pending")).json()
    [item] = page["items"]
    return item


async def test_policy_needs_admin(api) -> None:  # type: ignore[no-untyped-def]
    editor = await _user(api, "ed@example.com", "editor")
    doc = {"rules": [{"name": "big", "when": "amount_above", "threshold": 1000}]}
    r = await api.put("/api/v1/approvals/policy", token=editor, json=doc)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_role"
    r = await api.put("/api/v1/approvals/policy", json=doc)
    assert r.status_code == 200 and r.json()["rules"][0]["threshold"] == 1000
    r = await api.put("/api/v1/approvals/policy", json={"rules": [{"when": "x"}]})
    assert r.status_code == 422 and r.json()["code"] == "invalid_policy"
    got = await api.get("/api/v1/approvals/policy", token=editor)
    assert got.json()["rules"][0]["name"] == "big"
    audit = (await api.get("/api/v1/audit?action=policy.*")).json()["items"]
    assert [a["action"] for a in audit] == ["policy.approvals_updated"]


async def test_show_and_approve_through_the_api(api) -> None:  # type: ignore[no-untyped-def]
    admin = await _user(api, "ad@example.com", "admin")
    item = await _waiting(api)
    shown = (await api.get(f"/api/v1/approvals/{item['id']}")).json()
    assert shown["input"] == {"paid": 12} and shown["action"] == "core.transform"
    url = f"/api/v1/approvals/{item['id']}"
    r = await api.post(f"{url}/approve", token=admin, json={"comment": "fine"})
    assert r.status_code == 409 and r.json()["code"] == "approval_input_changed"
    r = await api.post(f"{url}/approve", json={"input_hash": shown["input_hash"]})
    assert r.status_code == 403 and r.json()["code"] == "self_approval_forbidden"
    r = await api.post(f"{url}/approve", token=admin, json={"input_hash": shown["input_hash"],
                                                           "comment": "fine", "x": 1})
    assert r.status_code == 422
    r = await api.post(f"{url}/approve", token=admin, json={"input_hash": shown["input_hash"],
                                                           "comment": "fine"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    run_id = item["run_id"]
    for _ in range(200):
        run = (await api.get(f"/api/v1/runs/{run_id}")).json()
        if run["status"] == "succeeded":
            break
        await asyncio.sleep(0.05)
    assert run["status"] == "succeeded" and run["result"] == {"paid": 12}
    assert (await api.get("/api/v1/approvals/apr_nope")).json()["code"] == "approval_not_found"


async def test_signed_link_needs_no_token(api) -> None:  # type: ignore[no-untyped-def]
    item = await _waiting(api)
    hub = api.app.state.hub
    link = urlparse(links.sign(hub.settings, hub.secrets, item["id"], item["expires_at"]))
    r = await api.client.get(f"{link.path}?{link.query}")
    assert r.status_code == 200 and r.json()["status"] == "pending" and "input" not in r.json()
    r = await api.client.get(f"{link.path}?{link.query.replace('sig=', 'sig=0')}")
    assert r.status_code == 403 and r.json()["code"] == "approval_link_invalid"
    r = await api.client.get(f"{link.path}?exp=1")
    assert r.status_code == 422


def test_cli_list_show_approve(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hub.cli import app

    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    settings = Settings(data_dir=tmp_path)

    async def seed() -> tuple[str, str]:
        hub = await Hub.open(settings)
        try:
            owner = await identity.authenticate(hub, await owner_token(hub))
            admin = await people.create_user(hub, actor=owner, email="a@example.com",
                                             role="admin")
            zap = await zaps_svc.create_zap(hub, workspace_id=owner.workspace_id, document=ZAP,
                                            user_id=owner.user_id)
            run = await runs_svc.start_run(hub, workspace_id=owner.workspace_id,
                                           zap_id=zap["id"], data={"amount": 3},
                                           started_by=owner.user_id)
            await Worker(hub).run_until_idle(10)
            return admin["token"], run["id"]
        finally:
            await hub.close()

    token, run_id = asyncio.run(seed())
    runner = CliRunner()
    listed = runner.invoke(app, ["approvals", "list"])
    assert listed.exit_code == 0 and run_id in listed.output
    apr = listed.output.split()[0]
    shown = runner.invoke(app, ["approvals", "show", apr])
    assert shown.exit_code == 0 and '"paid": 3' in shown.output
    bad = runner.invoke(app, ["approvals", "approve", apr, "--token", "zh_wrong"])
    assert bad.exit_code == 2 and "error[invalid_token]" in bad.output
    ok = runner.invoke(app, ["approvals", "approve", apr, "--token", token, "-m", "yes"])
    assert ok.exit_code == 0 and "approved" in ok.output
    again = runner.invoke(app, ["approvals", "reject", apr], env={"HUB_TOKEN": token})
    assert again.exit_code == 2 and "error[approval_closed]" in again.output
    traced = runner.invoke(app, ["runs", "lineage", run_id])
    assert traced.exit_code == 0, traced.output
    assert '"approval.approved"' in traced.output and '"status": "waiting"' in traced.output
    assert runner.invoke(app, ["runs", "lineage", "run_nope"]).exit_code == 2
