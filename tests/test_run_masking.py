"""Connection secrets that reach a run through its input are masked wherever run data is
shown: run detail, run list, the CLI, sync webhook answers. Short secrets are refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from apiclient import Api
from test_webhook_support import add_secret, create_hook, hub_of, webhook_zap, workspace
from typer.testing import CliRunner
from vaulthelp import OTHER_SECRET, SECRET, VALUES, load_vault_plugin

from hub.cli import app
from hub.context import Hub
from hub.services import connections as svc
from hub.services import runs as runs_svc
from hub.services import zaps as zaps_svc
from hub.vault import masking
from hub.vault.masking import Masker

HOOK_SECRET, HOOK_PREVIOUS = "whsec-current-9f8e7d6c", "whsec-previous-1a2b3c4d"
COPY = {"name": "copy", "trigger": {"kind": "manual"},
        "steps": [{"id": "a", "use": "core.transform",
                   "input": {"seen": "{{ trigger.token }}", "note": "{{ trigger.note }}"}},
                  {"id": "b", "use": "core.transform",
                   "input": {"again": "{{ steps.a.seen }}", "all": "{{ trigger }}"}}]}


@pytest.fixture(autouse=True)
def _plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    load_vault_plugin(monkeypatch)


def _leaks(data: Any, *secrets: str) -> list[str]:
    text = json.dumps(data)
    return [s for s in secrets if s in text]


async def _secrets(api: Api) -> None:
    made = await api.post("/api/v1/connections", json={
        "connector": "vlt", "name": "main", "values": VALUES})
    assert made.status_code == 201, made.text
    await add_secret(hub_of(api), await workspace(api), name="hook", secret=HOOK_SECRET,
                     previous=HOOK_PREVIOUS)


async def test_secrets_in_run_input_are_masked_everywhere_shown(api: Api) -> None:
    await _secrets(api)
    zid = (await api.post("/api/v1/zaps", json=COPY)).json()["id"]
    data = {"token": SECRET, "note": f"old={HOOK_PREVIOUS};new={HOOK_SECRET}",
            HOOK_SECRET: "as a key too"}
    r = await api.post(f"/api/v1/zaps/{zid}/runs?wait=10", json={"input": data})
    assert r.status_code in (200, 201), r.text
    run = r.json()
    assert run["status"] == "succeeded" and not _leaks(run, SECRET, HOOK_SECRET, HOOK_PREVIOUS)
    detail = (await api.get(f"/api/v1/runs/{run['id']}")).json()
    assert not _leaks(detail, SECRET, HOOK_SECRET, HOOK_PREVIOUS)
    assert detail["trigger"]["token"] == "**********"
    assert detail["trigger"]["note"] == "old=**********;new=**********"
    assert detail["steps"][-1]["output"]["again"] == "**********"
    assert detail["result"]["all"]["**********"] == "as a key too"
    listed = (await api.get("/api/v1/runs")).json()
    assert not _leaks(listed, SECRET, HOOK_SECRET, HOOK_PREVIOUS)


async def test_sync_webhook_answers_are_masked(api: Api) -> None:
    await _secrets(api)
    _, path = await create_hook(api, webhook_zap(response="sync", steps=[
        {"id": "reply", "use": "webhook.respond",
         "input": {"status": 200, "body": {"echo": "{{ trigger.body }}"}}}]))
    answer = await api.client.post(path, json={"t": SECRET, "u": f"x{HOOK_PREVIOUS}x"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"echo": {"t": "**********", "u": "x**********x"}}
    plain, _ = await create_hook(api, webhook_zap("plain", response="sync", steps=[
        {"id": "t", "use": "core.transform", "input": {"got": "{{ trigger.body.t }}"}}]))
    _, path = plain, (await api.get(f"/api/v1/zaps/{plain}")).json()["webhook"]["path"]
    answer = await api.client.post(path, json={"t": SECRET})
    assert answer.json() == {"got": "**********"}


async def test_a_connection_change_applies_at_once_here_and_soon_elsewhere(
        hub: Hub, owner: Any) -> None:
    ws = owner.workspace_id
    made = await svc.create_connection(hub, workspace_id=ws, connector="vlt", name="main",
                                       values=VALUES)
    zap = await zaps_svc.create_zap(hub, workspace_id=ws, document=COPY)

    async def shown(token: str) -> Any:
        run = await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap["id"],
                                       data={"token": token, "note": ""})
        return (await runs_svc.get_run(hub, workspace_id=ws, run_id=run["id"]))["trigger"]

    assert (await shown(SECRET))["token"] == "**********"
    assert (await shown(OTHER_SECRET))["token"] == OTHER_SECRET  # not a secret (yet)
    await svc.update_connection(hub, workspace_id=ws, connection_id=made["id"],
                                values={"api_key": OTHER_SECRET})
    assert (await shown(OTHER_SECRET))["token"] == "**********"  # this process: at once
    other = await Hub.open(hub.settings)  # another process changes a connection
    try:
        await svc.create_connection(other, workspace_id=ws, connector="vlt", name="second",
                                    values={"api_key": "sk-second-55aa66bb", "region": "us"})
    finally:
        await other.close()
    assert (await shown("sk-second-55aa66bb"))["token"] == "sk-second-55aa66bb"  # cached
    masking.masks_of(hub, None).refresh = 0  # past the refresh interval (30 s by default)
    assert (await shown("sk-second-55aa66bb"))["token"] == "**********"


async def test_short_secrets_are_refused(api: Api) -> None:
    r = await api.post("/api/v1/connections", json={
        "connector": "vlt", "name": "a", "values": {"api_key": "abc", "region": "eu"}})
    assert r.status_code == 400 and r.json()["code"] == "secret_too_short"
    assert r.json()["fields"] == ["api_key"] and "abc" not in r.text
    made = (await api.post("/api/v1/connections", json={
        "connector": "vlt", "name": "a", "values": VALUES})).json()
    r = await api.client.patch(f"/api/v1/connections/{made['id']}", headers=api.auth(),
                               json={"values": {"api_key": "1234567"}})
    assert r.status_code == 400 and r.json()["code"] == "secret_too_short"
    r = await api.post("/api/v1/connections", json={
        "connector": "webhook_secret", "name": "h",
        "values": {"secret": HOOK_SECRET, "previous_secret": ""}})
    assert r.status_code == 400 and r.json()["fields"] == ["previous_secret"]


def test_masker_masks_longest_first_and_short_values() -> None:
    masker = Masker.of(["abc", "abcdef", "", "x.y"])
    assert masker.mask({"abcdefg": ["abc", "xzy x.y", 3]}) == {
        "**********g": ["**********", "xzy **********", 3]}
    assert Masker.of([]).mask({"a": "abc"}) == {"a": "abc"}


def test_hub_run_output_is_masked(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    r = runner.invoke(app, ["connections", "create", "vlt", "--name", "main"],
                      input=f"{SECRET}\neu\n")
    assert r.exit_code == 0, r.output
    (tmp_path / "copy.json").write_text(json.dumps(COPY))
    assert runner.invoke(app, ["zaps", "import", str(tmp_path / "copy.json")]).exit_code == 0
    r = runner.invoke(app, ["run", "copy", "--full", "--input",
                            json.dumps({"token": SECRET, "note": "n"})])
    assert r.exit_code == 0, r.output
    assert SECRET not in r.output and '"seen": "**********"' in r.output
    run_id = json.loads(r.stdout)["id"]
    r = runner.invoke(app, ["runs", "show", run_id])
    assert r.exit_code == 0 and SECRET not in r.output and "**********" in r.output


def test_masking_many_secrets_is_one_pass() -> None:
    values = [f"sk-{i:04d}-{'z' * 20}" for i in range(2000)]
    masker = Masker.of(values)
    text = " ".join(values[::100]) + " plain words " * 10_000
    out = masker.text(text)
    assert "sk-0100" not in out and out.count("**********") == 20
