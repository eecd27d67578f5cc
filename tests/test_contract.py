"""The connector contract suite (hub.testing) over every built-in, and that it catches faults."""

from __future__ import annotations

import importlib
from typing import Any

import pluggy
import pytest
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from hub import Action, Connector, Credentials, StepContext
from hub.plugins import BUILTIN_PLUGINS, create_plugin_manager, plugin_name
from hub.registry import build_registry
from hub.rules import KINDS
from hub.settings import Settings
from hub.testing import check_connector, check_plugin, contract_problems, looks_secret
from plugins import invalid, sample


def _builtin_connectors() -> list[tuple[str, type[Connector]]]:
    registry = build_registry(create_plugin_manager(load_entrypoints=False, settings=Settings()))
    return sorted(registry.connectors.items())


@pytest.mark.parametrize("key,connector", _builtin_connectors())
def test_builtin_connector_contract(key: str, connector: type[Connector]) -> None:
    check_connector(connector)


def _builtin_registrations() -> list[tuple[str, str, Any]]:
    registry = build_registry(create_plugin_manager(load_entrypoints=False, settings=Settings()))
    return [(hook, key, cls) for hook, (section, *_rest) in KINDS.items()
            for key, cls in sorted(getattr(registry, section).items())]


@pytest.mark.parametrize("hook,key,cls", _builtin_registrations(),
                         ids=[f"{h.removeprefix('register_')}:{k}"
                              for h, k, _ in _builtin_registrations()])
def test_builtin_registration_contract(hook: str, key: str, cls: Any) -> None:
    """Every built-in model, guardrail, trigger kind and scheme meets the form rules too."""
    assert contract_problems(hook, cls) == []


def test_builtin_connectors_found() -> None:
    assert "core" in dict(_builtin_connectors())


@pytest.mark.parametrize("module_name", BUILTIN_PLUGINS)
def test_builtin_plugin_alone(module_name: str,
                              hub_pm: pluggy.PluginManager) -> None:
    """Each built-in is loaded under its name; everything registered has a loaded owner."""
    name = plugin_name(module_name)
    assert hub_pm.get_plugin(name) is importlib.import_module(module_name)
    owners = set(build_registry(hub_pm).owners.values())
    assert owners <= {n for n, p in hub_pm.list_name_plugin() if p is not None}


def test_check_plugin_registers_and_checks() -> None:
    registry = check_plugin(sample.Recorder(), name="sample")
    assert registry.owners[("connectors", "sample")] == "sample"
    assert registry.connectors["core"]  # next to the built-ins, so clashes are caught


def test_check_plugin_fails_on_clash() -> None:
    with pytest.raises(Exception, match="already registered"):
        check_plugin(invalid.Registers(invalid.connector("core", invalid.Good)), name="clash")


def test_hub_pm_is_fresh(hub_pm: pluggy.PluginManager) -> None:
    hub_pm.register(sample.Recorder(), name="sample")
    assert build_registry(hub_pm).connectors["sample"] is sample.SampleConnector


@pytest.mark.parametrize("name,secret", [
    ("api_key", True), ("apikey", True), ("token", True), ("access_token", True),
    ("client_secret", True), ("password", True), ("private_key", True), ("key", True),
    ("base_url", False), ("subject", False), ("keyword", False), ("tokens_used", False),
    ("monkey", False)])
def test_looks_secret(name: str, secret: bool) -> None:
    assert looks_secret(name) is secret


# --- the suite catches each fault -----------------------------------------------------------


class _In(BaseModel):
    text: str = Field(title="Text")


class _Ok(Action):
    key = "ok"
    title = "OK"
    Input = _In

    async def run(self, payload: Any, ctx: StepContext) -> dict[str, Any]:
        return {}


class _Creds(Credentials):
    api_key: SecretStr = Field(title="API key")


def _connector(**attrs: Any) -> type[Connector]:
    base: dict[str, Any] = {"key": "acme", "title": "Acme", "Credentials": _Creds,
                            "actions": (_Ok,)}
    return type("Acme", (Connector,), base | attrs)


def _action(**attrs: Any) -> type[Action]:
    return type("Act", (_Ok,), attrs)


def _model(base: type[BaseModel], **fields: Any) -> type[BaseModel]:
    annotations = {name: annotation for name, (annotation, _) in fields.items()}
    namespace = {name: default for name, (_, default) in fields.items()}
    return type("M", (base,), {"__annotations__": annotations, **namespace})


def test_good_connector_passes() -> None:
    check_connector(_connector())


class _LooseCreds(_Creds):
    model_config = ConfigDict(extra="allow")


class _PlainCreds(BaseModel):
    api_key: SecretStr = Field(title="API key")


class _SyncCheck(Connector):
    key, title, actions = "acme", "Acme", (_Ok,)

    def check(self, creds: Any, http: Any) -> None:  # type: ignore[override]
        return None


class _Sync(Action):
    key, title = "sync", "Sync"

    def run(self, payload: Any, ctx: StepContext) -> None:  # type: ignore[override]
        return None


FAULTS: list[tuple[str, Any, str]] = [
    ("bad key", _connector(key="Acme"), "'key' must be a lowercase identifier"),
    ("no title", _connector(title=""), "connector 'acme': missing 'title'"),
    ("not a connector", object, "not a hub.Connector subclass"),
    ("no actions", _connector(actions=()), "declares no actions and no poll triggers"),
    ("plain token", _connector(Credentials=_model(_Creds, token=(str, Field(title="T")))),
     "Credentials.token: looks like a secret"),
    ("untitled cred", _connector(Credentials=_model(_Creds, region=(str, "eu"))),
     "Credentials.region: needs a title or a description"),
    ("extra allowed", _connector(Credentials=_LooseCreds), "extra='forbid'"),
    ("not Credentials", _connector(Credentials=_PlainCreds), "must subclass hub.Credentials"),
    ("untitled input", _connector(actions=(_action(Input=_model(BaseModel, n=(int, 1))),)),
     "action 'acme.ok': Input.n: needs a title"),
    ("secret input", _connector(actions=(_action(
        Input=_model(BaseModel, password=(str, Field(description="pw")))),)),
     "Input.password: looks like a secret"),
    ("plain output", _connector(actions=(_action(Output=dict),)),
     "action 'acme.ok': Output must be a pydantic model"),
    ("no schema", _connector(actions=(_action(Input=invalid.NoSchemaInput),)),
     "action 'acme.ok': Input does not render to JSON Schema"),
    ("sync run", _connector(actions=(_Sync,)), "action 'acme.sync': 'run' must be an async method"),
    ("sync check", _SyncCheck, "'check' must be an async method"),
    ("dup actions", _connector(actions=(_Ok, _Ok)), "connector 'acme': duplicate action 'ok'"),
]


@pytest.mark.parametrize("cls,message", [(c, m) for _, c, m in FAULTS],
                         ids=[name for name, _, _ in FAULTS])
def test_contract_catches(cls: Any, message: str) -> None:
    with pytest.raises(AssertionError, match="connector contract failed|not a hub.Connector") \
            as info:
        check_connector(cls)
    assert message in str(info.value)


def test_optional_secret_is_accepted() -> None:
    creds = _model(_Creds, refresh_token=(SecretStr | None, Field(None, title="Refresh")))
    check_connector(_connector(Credentials=creds))
