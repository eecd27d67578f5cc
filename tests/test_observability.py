"""Observability: per-run trace ids in JSON logs, OpenTelemetry spans per step and per model
call (in-memory exporter), per-node claim metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel, Field
from pytest_httpx import HTTPXMock

from hub import Action, Connector, StepContext, hookimpl, tracing
from hub.ai import config as aiconf
from hub.context import Hub
from hub.engine.worker import Worker
from hub.logs import setup_logging
from hub.plugins import create_plugin_manager
from hub.services import identity
from hub.services import runs as runs_svc
from hub.services import zaps as zaps_svc
from hub.settings import Settings

OPENAI = "https://api.openai.example/v1"


class SayInput(BaseModel):
    msg: str = Field(title="Message", description="Logged from inside the step.")


class SayOutput(BaseModel):
    ok: bool


class Say(Action):
    key = "say"
    title = "Log a line"
    Input = SayInput
    Output = SayOutput

    async def run(self, payload: SayInput, ctx: StepContext) -> SayOutput:
        logging.getLogger("hub.tests.obs").warning("saying %s", payload.msg)
        return SayOutput(ok=True)


class Obs(Connector):
    key = "obs"
    title = "Observability test connector"
    actions = (Say,)


class ObsPlugin:
    @staticmethod
    @hookimpl
    def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
        register(Obs)


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    """A hub with the test connector and a node name (overrides conftest's ``hub``)."""
    settings = settings.model_copy(update={"node_name": "node-a"})
    pm = create_plugin_manager(load_entrypoints=False, settings=settings)
    pm.register(ObsPlugin(), name="obs")
    h = await Hub.open(settings, pm=pm)
    try:
        yield h
    finally:
        await h.close()


async def run_all(hub: Hub, ws: str, steps: list[dict[str, Any]], inputs: list[Any]) -> list[str]:
    zap = await zaps_svc.create_zap(hub, workspace_id=ws, document={
        "name": "obs", "trigger": {"kind": "manual"}, "steps": steps})
    ids = [(await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap["id"], data=d))["id"]
           for d in inputs]
    worker = Worker(hub, poll_interval=0.01)
    await worker.run_until_idle(20)
    await worker.stop()
    return ids


SAY = {"id": "say", "use": "obs.say", "input": {"msg": "{{ trigger.tag }}"}}


@pytest.fixture
def json_logs() -> Any:
    """JSON logging for one test; the root logger's handlers and level restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    setup_logging("INFO", "json")
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.mark.usefixtures("json_logs")
async def test_json_logs_carry_the_run_and_its_trace_id(
        hub: Hub, owner: identity.Principal, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    ids = await run_all(hub, owner.workspace_id, [SAY], [{"tag": f"t{i}"} for i in range(4)])
    logging.getLogger("hub.tests.obs").warning("outside any run")
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    said = {x["message"]: x for x in lines if x["message"].startswith("saying")}
    assert len(said) == 4
    for i, run_id in enumerate(ids):  # concurrent runs: each line has its own run's ids
        line = said[f"saying t{i}"]
        assert (line["run_id"], line["trace_id"]) == (run_id, tracing.trace_id_for(run_id))
        assert line["workspace_id"] == owner.workspace_id
    outside = next(x for x in lines if x["message"] == "outside any run")
    assert "trace_id" not in outside and "run_id" not in outside
    assert len(tracing.trace_id_for("run_x")) == 32


@pytest.fixture
def spans() -> Any:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable(provider)
    try:
        yield exporter
    finally:
        tracing.disable()


def chat_body(text: str) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000,
            "model": "gpt-4o-mini", "choices": [{"index": 0, "finish_reason": "stop",
                                                 "message": {"role": "assistant",
                                                             "content": text}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}}


async def test_a_span_per_step_and_per_model_call_in_the_runs_trace(
        hub: Hub, owner: identity.Principal, spans: InMemorySpanExporter,
        httpx_mock: HTTPXMock) -> None:
    ws = owner.workspace_id
    await aiconf.put_model(hub, workspace_id=ws, data={
        "name": "cloud", "provider": "openai_compat",
        "config": {"model": "gpt-4o-mini", "base_url": OPENAI}})
    httpx_mock.add_response(url=f"{OPENAI}/chat/completions", json=chat_body("Hi Ada"))
    gen = {"id": "g", "use": "ai.generate",
           "input": {"prompt": "Say hi to {{ trigger.tag }}", "model": "cloud"}}
    bad = {"id": "bad", "use": "ai.generate", "input": {"prompt": "x", "model": "nosuch"}}
    run_id, = await run_all(hub, ws, [SAY, gen, bad], [{"tag": "secret-name-Ada"}])
    finished = spans.get_finished_spans()
    steps = {s.attributes["hub.step_id"]: s for s in finished if s.name.startswith("step ")}
    models = [s for s in finished if s.name.startswith("model ")]
    assert [s.name for s in models] == ["model cloud"]
    assert {k: v.name for k, v in steps.items()} == {
        "say": "step obs.say", "g": "step ai.generate", "bad": "step ai.generate"}
    trace_id = int(tracing.trace_id_for(run_id), 16)
    assert {s.context.trace_id for s in finished} == {trace_id}
    model = models[0]
    assert model.parent is not None and model.parent.span_id == steps["g"].context.span_id
    assert model.attributes["hub.input_tokens"] == 12
    assert model.attributes["hub.output_tokens"] == 5
    assert model.attributes["hub.step_id"] == "g" and model.attributes["hub.run_id"] == run_id
    assert steps["say"].attributes["hub.outcome"] == "ok"
    assert steps["g"].attributes["hub.outcome"] == "ok"
    assert steps["bad"].attributes["hub.outcome"] not in ("ok", None)
    assert steps["bad"].status.status_code.name == "ERROR"
    got = {s.name + s.attributes["hub.step_id"]: s for s in finished}
    dumped = json.dumps([dict(s.attributes) for s in got.values()])
    assert "secret-name-Ada" not in dumped and "Hi Ada" not in dumped


async def test_metrics_name_the_node_and_time_claims(hub: Hub,
                                                    owner: identity.Principal) -> None:
    await run_all(hub, owner.workspace_id, [SAY], [{"tag": "x"}, {"tag": "y"}])
    text = hub.metrics.render({}, 0).decode()
    assert 'hub_node_info{node="node-a",version="0.1.0"} 1.0' in text
    assert 'hub_runs_claimed_total{node="node-a"} 2.0' in text
    count = next(line for line in text.splitlines()
                 if line.startswith('hub_claim_duration_seconds_count{node="node-a"}'))
    assert float(count.split()[-1]) >= 1


async def test_otel_enabled_sets_up_the_exporter(settings: Settings) -> None:
    try:
        h = await Hub.open(settings.model_copy(update={"otel_enabled": True}))
        await h.close()
        assert tracing._tracer is not None
    finally:
        tracing.disable()
    with tracing.span("nothing") as sp:
        assert sp is None  # disabled: no span, no cost
