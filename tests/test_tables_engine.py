"""The ``tables.*`` actions through the engine: zap runs, retried steps that do not duplicate,
non-retryable table errors that leave nothing half-written, and table rows as an AI step's
context. Model calls are mocked at the HTTP layer."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hub_plugins.tables import actions
from pytest_httpx import HTTPXMock

from hub.ai import config as aiconf
from hub.context import Hub
from hub.engine.worker import Worker
from hub.errors import StepError
from hub.plugins import create_plugin_manager
from hub.registry import build_registry
from hub.sdk import StepContext
from hub.services import identity
from hub.services import runs as runs_svc
from hub.services import zaps as zaps_svc
from hub.settings import Settings
from hub.tables import catalog, query
from hub.tables.access import step_tables, store_for
from hub.zaps import compile_zap

OPENAI = "https://api.openai.example/v1"
PRODUCTS = {"name": "products", "key": "sku", "columns": [
    {"name": "sku", "type": "text"}, {"name": "title", "type": "text"},
    {"name": "stock", "type": "integer", "indexed": True},
    {"name": "updated", "type": "datetime"}]}


@pytest.fixture
async def ws(hub: Hub, owner: identity.Principal) -> str:
    await catalog.create_table(store_for(hub), workspace_id=owner.workspace_id, spec=PRODUCTS)
    return owner.workspace_id


async def run_zap(hub: Hub, ws: str, steps: list[dict[str, Any]], data: Any = None,
                  name: str = "z") -> dict[str, Any]:
    zap = await zaps_svc.create_zap(hub, workspace_id=ws, document={
        "name": name, "trigger": {"kind": "manual"}, "steps": steps})
    run = await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap["id"], data=data or {})
    worker, deadline = Worker(hub, poll_interval=0.01), time.monotonic() + 20
    while True:  # a retried step is queued again with a due time: drive until final
        await worker.run_until_idle(20)
        detail = await runs_svc.get_run(hub, workspace_id=ws, run_id=run["id"])
        if detail["status"] in runs_svc.FINAL:
            return detail
        assert time.monotonic() < deadline, f"run still {detail['status']}"
        await asyncio.sleep(0.005)


async def stored(hub: Hub, ws: str, **kw: Any) -> list[dict[str, Any]]:
    return [r["values"] for r in await query.find(store_for(hub), workspace_id=ws,
                                                  name="products", read=query.Read(**kw))]


UPSERT = {"id": "save", "use": "tables.upsert", "input": {"table": "products", "values": {
    "sku": "{{ trigger.sku }}", "title": "{{ trigger.title }}", "stock": "{{ trigger.stock }}",
    "updated": "{{ trigger.at }}"}}}
FIND = {"id": "look", "use": "tables.find", "input": {
    "table": "products", "where": {"stock": {"gte": 1}}, "order_by": "stock", "order": "desc"}}


async def test_upsert_then_find_in_a_zap(hub: Hub, ws: str) -> None:
    data = {"sku": "A-1", "title": "Lamp", "stock": 4, "at": "2025-02-01T12:00:00+01:00"}
    run = await run_zap(hub, ws, [UPSERT, FIND], data)
    assert run["status"] == "succeeded", run["error"]
    row = {"sku": "A-1", "title": "Lamp", "stock": 4, "updated": "2025-02-01T11:00:00Z"}
    assert run["result"] == {"rows": [row], "count": 1, "first": row}
    assert run["steps"][0]["output"] == {"row": row, "created": True}
    again = await run_zap(hub, ws, [UPSERT, FIND], {**data, "stock": 9}, name="z2")
    assert again["steps"][0]["output"]["created"] is False
    assert again["result"]["first"]["stock"] == 9 and len(await stored(hub, ws)) == 1


async def test_update_and_delete_steps(hub: Hub, ws: str) -> None:
    await run_zap(hub, ws, [UPSERT], {"sku": "B-2", "title": "Desk", "stock": 1,
                                      "at": "2025-01-01"})
    steps = [{"id": "u", "use": "tables.update", "input": {
                 "table": "products", "values": {"sku": "B-2", "stock": 0}}},
             {"id": "d", "use": "tables.delete", "input": {
                 "table": "products", "where": {"stock": 0}, "limit": 5}}]
    run = await run_zap(hub, ws, steps, name="z2")
    assert run["status"] == "succeeded", run["error"]
    assert run["steps"][0]["output"]["row"]["title"] == "Desk"
    assert run["result"] == {"deleted": 1} and await stored(hub, ws) == []


@pytest.mark.parametrize("use", ["tables.insert", "tables.upsert"])
async def test_a_write_retried_after_its_commit_does_not_duplicate(
        hub: Hub, ws: str, monkeypatch: pytest.MonkeyPatch, use: str) -> None:
    cls = actions.Insert if use == "tables.insert" else actions.Upsert
    original, calls = cls.run, []

    async def committed_then_lost(self: Any, payload: Any, ctx: StepContext) -> Any:
        out = await original(self, payload, ctx)  # the row is committed ...
        calls.append(ctx.attempt)
        if len(calls) == 1:  # ... but the step's answer is lost
            raise ConnectionResetError("worker lost its connection")
        return out

    monkeypatch.setattr(cls, "run", committed_then_lost)
    step = {"id": "add", "use": use, "retry": {"attempts": 3, "backoff": 0},
            "input": {"table": "products", "values": {"sku": "C-3", "title": "{{ trigger.t }}"}}}
    run = await run_zap(hub, ws, [step], {"t": "Chair"})
    assert run["status"] == "succeeded", run["error"]
    assert calls == [1, 2] and [s["status"] for s in run["steps"]] == ["failed", "succeeded"]
    assert await stored(hub, ws) == [{"sku": "C-3", "title": "Chair", "stock": None,
                                      "updated": None}]


async def test_insert_idempotency_key_is_per_step(hub: Hub, ws: str) -> None:
    action = build_registry(hub.pm).action_instance("tables.insert")
    payload = actions.WriteInput(table="products", values={"sku": "D-4"})

    def ctx(key: str) -> StepContext:
        return StepContext(run_id="r", step_id="s", attempt=1, idempotency_key=key,
                           workspace_id=ws, tables=step_tables(hub, ws))

    first = await action.run(payload, ctx("run_1:add"))
    assert await action.run(payload, ctx("run_1:add")) == first  # the same step again
    with pytest.raises(StepError) as info:  # another step inserting the same key
        await action.run(payload, ctx("run_2:add"))
    assert info.value.code == "duplicate_key" and info.value.retryable is False
    with pytest.raises(StepError) as info:
        await action.run(payload, StepContext(run_id="r", step_id="s", attempt=1,
                                              idempotency_key="k", workspace_id=ws))
    assert info.value.code == "tables_unavailable"


BAD_WRITES = [
    ({"sku": "E-5", "stock": "many"}, "invalid_row"),
    ({"sku": "E-5", "colour": "red"}, "invalid_row"),
    ({"title": "no key"}, "invalid_row"),
    ({"sku": "E-5", "title": "x" * 20_000}, "value_too_large"),
    ({"sku": "A-1"}, "duplicate_key"),
]


async def test_bad_writes_fail_once_and_write_nothing(hub: Hub, ws: str) -> None:
    await run_zap(hub, ws, [UPSERT], {"sku": "A-1", "title": "Lamp", "stock": 1,
                                      "at": "2025-01-01"})
    for n, (values, code) in enumerate(BAD_WRITES):
        step = {"id": "add", "use": "tables.insert", "retry": {"attempts": 3, "backoff": 0},
                "input": {"table": "products", "values": values}}
        run = await run_zap(hub, ws, [step], name=f"bad{n}")
        assert run["status"] == "failed" and run["error"]["code"] == code, values
        assert len(run["steps"]) == 1  # not retried: the same input fails the same way
        assert "many" not in json.dumps(run["error"])  # names the column, not the value
    assert [r["sku"] for r in await stored(hub, ws)] == ["A-1"]


async def test_unknown_table_and_bad_filter_fail_the_step(hub: Hub, ws: str) -> None:
    run = await run_zap(hub, ws, [{"id": "f", "use": "tables.find",
                                   "input": {"table": "nope"}}])
    assert run["error"]["code"] == "table_not_found"
    run = await run_zap(hub, ws, [{"id": "f", "use": "tables.find", "input": {
        "table": "products", "where": {"stock": {"like": 1}}}}], name="z2")
    assert run["error"]["code"] == "invalid_filter" and "like" in run["error"]["message"]


def chat_body(text: str) -> dict[str, Any]:
    """An OpenAI chat completion, as documented."""
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000,
            "model": "gpt-4o-mini", "choices": [{"index": 0, "finish_reason": "stop",
                                                 "message": {"role": "assistant",
                                                             "content": text}}],
            "usage": {"prompt_tokens": 40, "completion_tokens": 6, "total_tokens": 46}}


async def test_found_rows_become_an_ai_steps_context(hub: Hub, ws: str,
                                                     httpx_mock: HTTPXMock) -> None:
    await aiconf.put_model(hub, workspace_id=ws, data={
        "name": "cloud", "provider": "openai_compat",
        "config": {"model": "gpt-4o-mini", "base_url": OPENAI}})
    await aiconf.put_policy(hub, workspace_id=ws, data={"name": "default",
                                                        "candidates": ["cloud"]})
    for sku, title, stock in (("A-1", "Lamp", 4), ("B-2", "Desk", 0), ("C-3", "Chair", 2)):
        await run_zap(hub, ws, [UPSERT], {"sku": sku, "title": title, "stock": stock,
                                          "at": "2025-01-01"}, name=sku)
    httpx_mock.add_response(url=f"{OPENAI}/chat/completions",
                            json=chat_body("Lamp and Chair are in stock."))
    prompt = ("In stock: {{ join(', ', steps.look.rows[].title) }}.\n"
              "Rows: {{ steps.look.rows }}\nAnswer: {{ trigger.question }}")
    run = await run_zap(hub, ws, [FIND, {"id": "answer", "use": "ai.generate",
                                         "input": {"prompt": prompt}}],
                        {"question": "What can I buy?"}, name="ask")
    assert run["status"] == "succeeded", run["error"]
    assert run["result"]["text"] == "Lamp and Chair are in stock."
    sent = json.loads(httpx_mock.get_requests()[0].content)["messages"][-1]["content"]
    assert sent.startswith("In stock: Lamp, Chair.\nRows: [")
    rows = json.loads(sent.split("Rows: ", 1)[1].split("\nAnswer:")[0])
    assert [r["sku"] for r in rows] == ["A-1", "C-3"] and "B-2" not in sent
    assert sent.endswith("Answer: What can I buy?")


def test_the_readme_example_is_a_valid_zap() -> None:
    text = (Path(__file__).parents[1] / "README.md").read_text()
    section = text[text.index("## Data tables"):]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    registry = build_registry(create_plugin_manager(settings=Settings()))
    zap = compile_zap(yaml.safe_load(block.group(1)), registry).zap
    assert [s.use for s in zap.steps] == ["tables.upsert", "tables.find", "tables.find",
                                          "ai.generate"]
