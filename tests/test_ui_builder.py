"""The zap builder over ASGI: forms from JSON Schemas, step edits, save with errors placed on
their fields, versions, enable/disable, import/export, CSRF and roles."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from apiclient import Api
from test_ui_pages import ZAP, browser_like, csrf_of, session, viewer_token  # noqa: F401

from hub.ui import forms


def form_of(html: str) -> dict[str, str]:
    """The builder form's current values, as a browser would post them (no button)."""
    out: dict[str, str] = {}
    for name, value in re.findall(r'<input type="(?:text|hidden|number)" [^>]*?name="([^"]+)" '
                                  r'value="([^"]*)"', html):
        out[name] = value.replace("&#34;", '"').replace("&amp;", "&").replace("&#39;", "'")
    for name, body in re.findall(r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', html,
                                 re.S):
        chosen = re.search(r'<option(?: value="([^"]*)")? selected>([^<]*)<', body)
        out[name] = (chosen.group(1) or chosen.group(2)) if chosen else ""
    for name, text in re.findall(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>(.*?)</textarea>',
                                 html, re.S):
        out[name] = text.replace("&#34;", '"').replace("&amp;", "&")
    out.pop("csrf_token", None)
    return out


async def post_builder(api: Api, url: str, html: str, token: str | None = None,
                       **changes: str) -> object:
    data = {**form_of(html), **changes, "csrf_token": csrf_of(html)}
    return await api.post(url, token=token, data=data)


def test_schema_becomes_fields() -> None:
    schema = {"type": "object", "required": ["text", "labels"], "properties": {
        "text": {"type": "string", "title": "Text", "format": "multiline"},
        "labels": {"type": "array", "items": {"type": "string"}, "title": "Labels"},
        "mode": {"enum": ["a", "b"], "type": "string", "description": "How"},
        "size": {"type": "integer", "minimum": 1, "maximum": 9, "default": 3},
        "key": {"type": "string", "writeOnly": True, "format": "password"},
        "on": {"type": "boolean", "default": False},
        "auth": {"type": "object", "properties": {"user": {"type": "string"}}},
        "extra": {"type": "object", "additionalProperties": True}}}
    built = {f.name: f for f in forms.build(schema, "p", {"key": "s3cret"})}
    assert built["p.text"].kind == "textarea" and built["p.text"].required
    assert built["p.labels"].kind == "lines"
    assert built["p.mode"].kind == "select" and built["p.mode"].options == ["a", "b"]
    assert built["p.mode"].help == "How" and built["p.mode"].label == "Mode"
    assert (built["p.size"].minimum, built["p.size"].maximum, built["p.size"].value) == (1, 9, "3")
    assert built["p.key"].kind == "password" and built["p.key"].value == ""
    assert built["p.on"].kind == "checkbox"
    assert [c.name for c in built["p.auth"].children] == ["p.auth.user"]
    assert built["p.extra"].kind == "json"
    problems: dict[str, str] = {}
    form = {"p.text": ["hi {{ trigger.x }}"], "p.labels": ["a\n\nb\n"], "p.size": ["4"],
            "p.on": ["true"], "p.auth.user": ["u"], "p.extra": ["{bad"]}
    parsed = forms.parse(schema, "p", form, problems)
    assert parsed == {"text": "hi {{ trigger.x }}", "labels": ["a", "b"], "size": 4, "on": True,
                      "auth": {"user": "u"}}
    assert problems == {"p.extra": "not valid JSON"}


async def test_build_a_zap_with_forms(api: Api) -> None:
    page = await api.get("/zaps/new")
    assert page.status_code == 200
    assert 'name="steps[0].use"' in page.text and "<optgroup" in page.text
    # pick the AI classify action: the form redraws with its generated fields
    res = await post_builder(api, "/zaps/new", page.text, op="refresh", name="triage",
                             **{"trigger.kind": "manual", "steps[0].use": "ai.classify",
                                "steps[0].id": "classify"})
    assert res.status_code == 200
    assert 'name="steps[0].input.labels"' in res.text and "Maximum output tokens" in res.text
    res = await post_builder(api, "/zaps/new", res.text, op="add")
    assert 'name="steps[1].id" value="step_2"' in res.text
    res = await post_builder(api, "/zaps/new", res.text, op="up:1")
    assert re.search(r'name="steps\[0\]\.id" value="step_2"', res.text)
    res = await post_builder(api, "/zaps/new", res.text, op="remove:0")
    assert "step_2" not in res.text
    # save with an error: it shows next to the field it belongs to
    res = await post_builder(api, "/zaps/new", res.text, op="save",
                             **{"steps[0].input.text": "{{ steps.nope.x }}",
                                "steps[0].input.labels": "urgent\nroutine"})
    assert res.status_code == 422
    field = re.search(r'id="f-steps-0--input-text".*?</div>', res.text, re.S)
    assert field and "unknown step &#39;nope&#39;" in field.group(0)
    assert 'href="#f-steps-0--input-text"' in res.text
    res = await post_builder(api, "/zaps/new", res.text, op="save",
                             **{"steps[0].input.text": "{{ trigger.body }}",
                                "steps[0].approval.required": "true",
                                "steps[0].approval.approvers": "a@example.test, usr_x",
                                "steps[0].approval.min_approvals": "2"})
    assert res.status_code == 303, res.text
    zap_url = res.headers["location"].split("?")[0]
    zap = (await api.get("/api/v1/zaps/" + zap_url.rsplit("/", 1)[1])).json()
    step = zap["definition"]["steps"][0]
    assert step["use"] == "ai.classify"
    assert step["input"]["labels"] == ["urgent", "routine"]
    assert step["input"]["text"] == "{{ trigger.body }}"
    assert step["approval"]["approvers"] == ["a@example.test", "usr_x"]
    assert step["approval"]["min_approvals"] == 2


async def test_edit_versions_toggle_export_import(api: Api) -> None:
    zap = (await api.post("/api/v1/zaps", json=ZAP)).json()
    page = await api.get(f"/zaps/{zap['id']}")
    assert page.status_code == 200 and "Version 1" in page.text
    res = await post_builder(api, f"/zaps/{zap['id']}", page.text, op="save",
                             description="second")
    assert res.status_code == 303 and res.headers["location"].endswith("saved=2")
    diff = await api.get(f"/zaps/{zap['id']}/versions")
    assert "+description: second" in diff.text
    off = await api.post(f"/zaps/{zap['id']}/disable", data={"csrf_token": csrf_of(page.text)})
    assert off.status_code == 303
    assert (await api.get(f"/api/v1/zaps/{zap['id']}")).json()["enabled"] is False
    exported = await api.get(f"/zaps/{zap['id']}/export")
    assert exported.text.startswith("name: hello")
    form = await api.get("/zaps-import")
    text = exported.text.replace("name: hello", "name: hello2")
    token = csrf_of(form.text)
    made = await api.post("/zaps-import", data={"csrf_token": token, "document": text})
    assert made.status_code == 303
    bad = await api.post("/zaps-import", data={"csrf_token": token, "document": "a: [1"})
    assert bad.status_code == 400 and "malformed" in bad.text


async def test_name_taken_shows_on_the_name_field(api: Api) -> None:
    await api.post("/api/v1/zaps", json=ZAP)
    page = await api.get("/zaps/new")
    res = await post_builder(api, "/zaps/new", page.text, op="save", name="hello",
                             **{"trigger.kind": "manual"})
    assert res.status_code == 409
    assert re.search(r'id="f-name".*?already exists', res.text, re.S)


@pytest.mark.parametrize("csrf", [None, "0" * 64])
async def test_posts_without_the_form_token_are_refused(api: Api, csrf: str | None,
                                                       session: httpx.AsyncClient) -> None:  # noqa: F811
    zap = (await api.post("/api/v1/zaps", json=ZAP)).json()
    data = {"op": "save", "name": "x"} | ({"csrf_token": csrf} if csrf else {})
    res = await session.post(f"/zaps/{zap['id']}/disable", data=data)
    assert res.status_code == 403 and "csrf_failed" in res.text
    page = await session.get("/zaps/new")
    res = await session.post("/zaps/new", data={"csrf_token": csrf_of(page.text)},
                             headers={"Origin": "http://evil.test"})
    assert res.status_code == 403
    assert (await api.get(f"/api/v1/zaps/{zap['id']}")).json()["enabled"] is True


async def test_viewer_cannot_edit(api: Api) -> None:
    zap = (await api.post("/api/v1/zaps", json=ZAP)).json()
    token = await viewer_token(api)
    page = await api.get(f"/zaps/{zap['id']}", token=token)
    assert page.status_code == 200 and "Disable</button>" not in page.text
    assert "Save</button>" not in page.text and "Remove</button>" not in page.text
    assert (await api.get("/zaps/new", token=token)).status_code == 403
    res = await api.post(f"/zaps/{zap['id']}/disable", token=token,
                         data={"csrf_token": csrf_of(page.text)})
    assert res.status_code == 403 and "insufficient_role" in res.text
    assert (await api.get(f"/api/v1/zaps/{zap['id']}")).json()["enabled"] is True


async def test_test_a_step_on_sample_data(api: Api) -> None:
    zap = (await api.post("/api/v1/zaps", json=ZAP)).json()
    first = await api.post(f"/api/v1/zaps/{zap['id']}/runs?wait=10", json={"input": {"x": 7}})
    assert first.json()["status"] == "succeeded"
    page = await api.get(f"/zaps/{zap['id']}")
    assert "&#34;x&#34;: 7" in page.text  # the sample comes from the latest run
    tested = await post_builder(api, f"/zaps/{zap['id']}", page.text, op="test:0",
                                sample='{"trigger": {"x": "from the sample"}}')
    assert tested.status_code == 200
    result = re.search(r'id="test-0">(.*?)</div>', tested.text, re.S)
    assert result and "the step would run" in result.group(1)
    assert "from the sample" in result.group(1) and "Nothing was sent" in result.group(1)
    runs = (await api.get("/api/v1/runs", params={"zap_id": zap["id"]})).json()["items"]
    assert len(runs) == 1  # testing ran nothing
    skipped = await post_builder(api, f"/zaps/{zap['id']}", page.text, op="test:0",
                                 **{"steps[0].when": "trigger.go"})
    assert "would be skipped" in skipped.text
    bad = await post_builder(api, f"/zaps/{zap['id']}", page.text, op="test:0", sample="{no")
    assert bad.status_code == 400 and "not valid JSON" in bad.text
    refused = await post_builder(api, f"/zaps/{zap['id']}", page.text, op="run")
    assert refused.status_code == 400 and "confirmation_required" in refused.text
    ran = await post_builder(api, f"/zaps/{zap['id']}", page.text, op="run", confirm_run="1",
                             sample='{"trigger": {"x": 8}}')
    assert ran.status_code == 303 and ran.headers["location"].startswith("/runs/run_")


def test_fields_the_form_does_not_edit_are_kept() -> None:
    from hub.ui import builder, builder_view

    step = {"id": "route", "use": "core.transform", "input": {}, "timeout": 12.5,
            "retry": {"attempts": 3, "factor": 4.0},
            "branches": [{"name": "big", "when": "trigger.n > `5`",
                          "steps": [{"id": "tell", "use": "slack.post_message"}]}]}
    kept = builder.kept_keys(step)
    assert kept == {"timeout": 12.5, "retry": {"factor": 4.0}, "branches": step["branches"]}
    shown = builder_view.nested(step)
    assert shown[0]["name"] == "path big" and shown[0]["steps"][0]["id"] == "tell"
    cat = builder.Catalog({}, {}, [], {})
    form = {"step_count": ["1"], "steps[0].id": ["route"], "steps[0].use": ["core.transform"],
            "steps[0].input": ["{}"], "steps[0].retry.attempts": ["5"],
            "steps[0].kept": [json.dumps(kept)]}
    doc, problems = builder.from_form(form, cat)
    assert problems == {}
    assert doc["steps"][0]["retry"] == {"factor": 4.0, "attempts": 5}
    assert doc["steps"][0]["timeout"] == 12.5 and doc["steps"][0]["branches"] == step["branches"]


async def test_connection_select_offers_the_apps_connections(api: Api) -> None:
    page = await api.get("/zaps/new")
    res = await post_builder(api, "/zaps/new", page.text, op="refresh",
                             **{"steps[0].use": "slack.post_message"})
    field = re.search(r'<select id="f-steps-0--connection".*?</div>', res.text, re.S)
    assert field and "/connections/new?connector=slack" in field.group(0)
