"""The catalog (`GET /api/v1/catalog`, `hub catalog`): every registered object with form-ready
JSON Schemas, in a stable order, cached per registry."""

from __future__ import annotations

import enum
import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, SecretStr

from hub import (
    Action,
    Connector,
    Credentials,
    OAuth2,
    OAuth2Credentials,
    PollResult,
    PollTrigger,
    StepContext,
    hookimpl,
)
from hub.plugins import create_plugin_manager
from hub.registry import Registry, build_registry
from hub.services.catalog import build_catalog, catalog_json, form_schema
from hub.settings import Settings
from plugins import sample


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Inner(BaseModel):
    depth: int = Field(1, ge=1, le=5, title="Depth")


class FormInput(BaseModel):
    zeta: str = Field(title="Zeta", description="Declared first.", examples=["z"])
    alpha: int = Field(3, ge=1, le=10, title="Alpha")
    colour: Colour = Field(Colour.RED, title="Colour")
    size: Literal["s", "m", "l"] = Field("m", title="Size")
    note: str | None = Field(None, title="Note", json_schema_extra={"format": "multiline"})
    inner: Inner = Field(default_factory=Inner, title="Inner")


class FormCredentials(Credentials):
    api_key: SecretStr = Field(title="API key", description="Settings → API.")
    old_key: SecretStr | None = Field(None, title="Previous key")
    region: Literal["eu", "us"] = Field("eu", title="Region")


class Zulu(Action):
    key = "zulu"
    title = "Zulu"
    Input = FormInput

    async def run(self, payload: Any, ctx: StepContext) -> dict[str, Any]:
        return {}


class Alpha(Zulu):
    key = "alpha"
    title = "Alpha"
    description = "Sorted before zulu."


class Watch(PollTrigger):
    key = "watch"
    title = "Watch"
    Config = Inner
    dedupe_key = "uid"

    async def poll(self, config: Any, creds: Any, cursor: Any, http: Any) -> PollResult:
        return PollResult(items=[])


class Forms(Connector):
    key = "forms"
    title = "Forms"
    description = "Every kind of field."
    Credentials = FormCredentials
    actions = (Zulu, Alpha)
    triggers = (Watch,)
    hosts = ("api.forms.test",)


class OAuthCreds(OAuth2Credentials):
    pass


class Social(Connector):
    key = "social"
    title = "Social"
    Credentials = OAuthCreds
    oauth2 = OAuth2(authorize_url="https://social.test/auth", token_url="https://social.test/t",
                    scopes=("read",))
    actions = (Alpha,)


class FormsPlugin:
    @hookimpl
    def register_connectors(self, register: Any) -> None:
        register(Forms)
        register(Social)


@pytest.fixture(scope="module")
def registry() -> Registry:
    pm = create_plugin_manager(load_entrypoints=False, settings=Settings())
    pm.register(FormsPlugin(), name="forms")
    pm.register(sample.Recorder(), name="sample")
    return build_registry(pm)


def _connector(registry: Registry, key: str) -> dict[str, Any]:
    return next(c for c in build_catalog(registry)["connectors"] if c["key"] == key)


def test_sections_sorted_by_key(registry: Registry) -> None:
    catalog = build_catalog(registry)
    assert catalog["version"] == 1
    for section in ("connectors", "trigger_kinds", "signature_schemes", "models",
                    "guardrails"):
        keys = [item["key"] for item in catalog[section]]
        assert keys == sorted(keys) and keys, section
    assert {"core", "forms", "sample"} <= {c["key"] for c in catalog["connectors"]}
    assert [a["key"] for a in _connector(registry, "forms")["actions"]] == ["alpha", "zulu"]


def test_connector_entry(registry: Registry) -> None:
    forms = _connector(registry, "forms")
    assert {k: forms[k] for k in ("key", "title", "description", "plugin", "hosts",
                                  "needs_connection", "oauth2")} == {
        "key": "forms", "title": "Forms", "description": "Every kind of field.",
        "plugin": "forms", "hosts": ["api.forms.test"], "needs_connection": True,
        "oauth2": None}
    (alpha, _) = forms["actions"]
    assert alpha["use"] == "forms.alpha" and alpha["description"] == "Sorted before zulu."
    assert alpha["output_schema"]["type"] == "object"
    (watch,) = forms["poll_triggers"]
    assert {k: watch[k] for k in ("key", "source", "title", "dedupe_key")} == {
        "key": "watch", "source": "forms.watch", "title": "Watch", "dedupe_key": "uid"}
    assert watch["config_schema"]["properties"]["depth"]["maximum"] == 5
    core = _connector(registry, "core")
    assert core["credentials_schema"] is None and core["needs_connection"] is False


def test_input_schema_is_form_ready(registry: Registry) -> None:
    schema = _connector(registry, "forms")["actions"][0]["input_schema"]
    props = schema["properties"]
    assert list(props) == ["zeta", "alpha", "colour", "size", "note", "inner"]  # declared
    assert props["zeta"] == {"description": "Declared first.", "examples": ["z"],
                             "title": "Zeta", "type": "string"}
    assert (props["alpha"]["minimum"], props["alpha"]["maximum"], props["alpha"]["default"]) \
        == (1, 10, 3)
    assert props["colour"]["enum"] == ["red", "blue"] and props["colour"]["default"] == "red"
    assert props["size"]["enum"] == ["s", "m", "l"]
    assert props["note"]["type"] == ["string", "null"]
    assert props["note"]["format"] == "multiline" and props["note"]["title"] == "Note"
    assert props["inner"]["properties"]["depth"]["title"] == "Depth"
    assert "$defs" not in schema and "$ref" not in json.dumps(schema)
    assert schema["required"] == ["zeta"]


def test_secrets_are_write_only(registry: Registry) -> None:
    props = _connector(registry, "forms")["credentials_schema"]["properties"]
    for name in ("api_key", "old_key"):
        assert props[name]["writeOnly"] is True and props[name]["format"] == "password"
    assert "writeOnly" not in props["region"]
    social = _connector(registry, "social")
    assert social["oauth2"] == {"authorize_url": "https://social.test/auth",
                                "token_url": "https://social.test/t", "scopes": ["read"],
                                "scope_separator": " ", "authorize_params": {}}
    props = social["credentials_schema"]["properties"]
    assert props["client_secret"]["writeOnly"] is True
    assert [n for n, p in props.items() if p.get("readOnly")] == [
        "access_token", "refresh_token", "expires_at"]


def test_other_sections(registry: Registry) -> None:
    catalog = build_catalog(registry)
    model = next(m for m in catalog["models"] if m["key"] == "sample_model")
    assert model["capabilities"] == ["chat"] and model["plugin"] == "sample"
    assert model["config_schema"]["type"] == "object"
    guard = next(g for g in catalog["guardrails"] if g["key"] == "personal_data")
    assert guard["stages"] == ["input", "output"] and "kinds" in \
        guard["config_schema"]["properties"]
    poll = next(k for k in catalog["trigger_kinds"] if k["key"] == "poll")
    assert poll["config_schema"]["properties"]["interval"]["minimum"] == 1
    github = next(s for s in catalog["signature_schemes"] if s["key"] == "github")
    assert github["dedupe_key"] and github["plugin"] == "signatures"


def test_cached_per_registry(registry: Registry) -> None:
    assert build_catalog(registry) is build_catalog(registry)
    body, etag = catalog_json(registry)
    assert json.loads(body) == build_catalog(registry) and catalog_json(registry)[1] == etag
    other = build_registry(create_plugin_manager(load_entrypoints=False, settings=Settings()))
    assert catalog_json(other)[1] != etag  # no sample, no forms


def test_recursive_model_keeps_its_definitions() -> None:
    class Node(BaseModel):
        name: str = Field(title="Name")
        children: list[Node] = Field(default_factory=list, title="Children")

    schema = form_schema(Node)
    assert schema["properties"]["name"]["title"] == "Name"
    assert "$defs" in schema and "Node" in schema["$defs"]


async def test_api(api: Any) -> None:
    answer = await api.get("/api/v1/catalog")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert answer.json() == build_catalog(api.app.state.hub.registry)
    etag = answer.headers["etag"]
    again = await api.client.get("/api/v1/catalog", headers={**api.auth(),
                                                              "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    anonymous = await api.client.get("/api/v1/catalog")
    assert anonymous.status_code == 401


async def test_api_viewer(api: Any) -> None:
    made = await api.post("/api/v1/users", json={"email": "v@x.io", "role": "viewer"})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    answer = await api.get("/api/v1/catalog", token=token)
    assert answer.status_code == 200 and answer.json()["connectors"]
