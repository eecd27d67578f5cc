"""The registration rules, in one place: the hub applies them at start-up (``hub.registry``)
and the contract suite (``hub.testing``) applies the same ones, plus a few form rules.

Every check returns a list of problems, each ``"<object>: <rule>"`` (``"poll trigger
'acme.new_notes': missing 'title'"``), and never raises: the registry stops at the first one,
the contract suite lists them all.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

from hub import sdk

KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")  # use fullmatch

#: A field holds a secret when its last ``_``-separated part is one of these
#: (``api_key``, ``access_token``, ``client_secret``), or it is named like ``apikey``.
SECRET_PARTS = frozenset({"token", "secret", "password", "passwd", "passphrase", "key",
                          "apikey", "credential", "credentials"})
_NOT_SECRET = frozenset({"public_key"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

#: discovery hook -> (registry section, object kind in messages, base class, model attributes)
KINDS: dict[str, tuple[str, str, type, tuple[str, ...]]] = {
    "register_connectors": ("connectors", "connector", sdk.Connector, ("Credentials",)),
    "register_models": ("models", "model", sdk.Model, ("Config",)),
    "register_guardrails": ("guardrails", "guardrail", sdk.Guardrail, ("Config",)),
    "register_trigger_kinds": ("trigger_kinds", "trigger kind", sdk.TriggerKind, ("Config",)),
    "register_signature_schemes": ("signature_schemes", "signature scheme", sdk.SignatureScheme,
                                   ("Config",)),
}
STAGES = frozenset({"input", "output"})
POLL_SIGNATURE = "async def poll(self, config, creds, cursor, http)"


def looks_secret(name: str) -> bool:
    """Whether a field name looks like it holds a secret (``api_key``, ``token`` ...)."""
    snake = _CAMEL.sub("_", name).lower()
    if snake in _NOT_SECRET:
        return False
    return snake.rsplit("_", 1)[-1] in SECRET_PARTS or snake.replace("_", "") == "apikey"


def _union_args(annotation: Any) -> list[Any] | None:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return None


def is_secret_type(annotation: Any) -> bool:
    """``SecretStr``/``SecretBytes``, alone or optional."""
    if annotation in (SecretStr, SecretBytes):
        return True
    args = _union_args(annotation)
    return bool(args) and all(is_secret_type(a) for a in args)


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    args = _union_args(annotation) or [annotation]
    return [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]


def secret_field_problems(model: type[BaseModel], what: str, depth: int = 0) -> list[str]:
    """Fields named like a secret that are not ``SecretStr`` (nested models included)."""
    problems = []
    for name, info in model.model_fields.items():
        if looks_secret(name) and not is_secret_type(info.annotation):
            problems.append(f"{what}.{name}: looks like a secret, so it must be SecretStr")
        for nested in _nested_models(info.annotation) if depth < 3 else ():
            problems += secret_field_problems(nested, f"{what}.{name}", depth + 1)
    return problems


def model_problems(model: Any, what: str, attr: str) -> list[str]:
    """``attr`` is a pydantic model class whose JSON Schema renders (input and output modes)."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return [f"{what}: {attr} must be a pydantic model class"]
    try:
        for mode in ("validation", "serialization"):
            json.dumps(model.model_json_schema(mode=mode))
    except Exception as exc:  # noqa: BLE001 - any failure to render is the plugin's error
        return [f"{what}: {attr} does not render to JSON Schema: {type(exc).__name__}: {exc}"]
    return []


def name_of(kind: str, cls: Any, prefix: str = "") -> str:
    """How messages name an object: ``action 'acme.create_item'`` (or its class name)."""
    key = getattr(cls, "key", None)
    if isinstance(key, str) and KEY_RE.fullmatch(key):
        return f"{kind} '{prefix}{key}'"
    return f"{kind} {getattr(cls, '__name__', repr(cls))}"


def identity_problems(cls: Any, what: str) -> list[str]:
    """A lowercase identifier ``key`` and a non-empty ``title``."""
    key = getattr(cls, "key", None)
    if not (isinstance(key, str) and KEY_RE.fullmatch(key)):
        return [f"{what}: 'key' must be a lowercase identifier (a-z, 0-9, _), got {key!r}"]
    title = getattr(cls, "title", None)
    if not (isinstance(title, str) and title.strip()):
        return [f"{what}: missing 'title'"]
    if not isinstance(getattr(cls, "description", ""), str):
        return [f"{what}: 'description' must be a string"]
    return []


def coroutine_problems(cls: type, method: str, what: str) -> list[str]:
    if not inspect.iscoroutinefunction(getattr(cls, method, None)):
        return [f"{what}: '{method}' must be an async method"]
    return []


def _subclass(cls: Any, base: type, what: str) -> list[str]:
    if isinstance(cls, type) and issubclass(cls, base):
        return []
    return [f"{what}: {cls!r} is not a {base.__name__} subclass"]


def action_problems(action: Any, connector: str) -> list[str]:
    """One action of connector ``connector``."""
    what = name_of("action", action, f"{connector}.")
    problems = _subclass(action, sdk.Action, what) or identity_problems(action, what)
    if problems:
        return problems
    for attr in ("Input", "Output"):
        problems += model_problems(getattr(action, attr, None), what, attr)
    if action.run is sdk.Action.run or not inspect.iscoroutinefunction(action.run):
        problems.append(f"{what}: 'run' must be an async method")
    return problems


def _poll_signature_ok(poll: Any) -> bool:
    try:
        inspect.signature(poll).bind(None, None, None, None, None)
    except (TypeError, ValueError):
        return False
    return True


def poll_trigger_problems(trigger: Any, connector: str) -> list[str]:
    """One poll trigger of connector ``connector``."""
    what = name_of("poll trigger", trigger, f"{connector}.")
    problems = _subclass(trigger, sdk.PollTrigger, what) or identity_problems(trigger, what)
    if problems:
        return problems
    problems += model_problems(getattr(trigger, "Config", None), what, "Config")
    poll = trigger.poll
    if (poll is sdk.PollTrigger.poll or not inspect.iscoroutinefunction(poll)
            or not _poll_signature_ok(poll)):
        problems.append(f"{what}: 'poll' must be `{POLL_SIGNATURE}`")
    dedupe = getattr(trigger, "dedupe_key", None)
    if not (isinstance(dedupe, str) and dedupe):
        problems.append(f"{what}: 'dedupe_key' must name the item field that identifies an item")
    return problems


def _unique(items: tuple[Any, ...], what: str, kind: str) -> list[str]:
    seen: set[str] = set()
    problems = []
    for item in items:
        key = getattr(item, "key", None)
        if key in seen:
            problems.append(f"{what}: duplicate {kind} '{key}'")
        seen.add(key)
    return problems


def _members(cls: Any, attr: str, what: str) -> tuple[list[str], tuple[Any, ...]]:
    value = getattr(cls, attr, ())
    if not isinstance(value, tuple | list):
        return [f"{what}: '{attr}' must be a tuple of classes"], ()
    return [], tuple(value)


def credentials_problems(creds: Any, what: str) -> list[str]:
    problems = model_problems(creds, what, "Credentials")
    if problems:
        return problems
    if not issubclass(creds, sdk.Credentials):
        return [f"{what}: Credentials must subclass hub.Credentials"]
    return secret_field_problems(creds, f"{what}: Credentials")


def connector_problems(cls: type[sdk.Connector]) -> list[str]:
    """A connector: credentials, OAuth2, check, actions and poll triggers (keys unique)."""
    what = name_of("connector", cls)
    problems = credentials_problems(getattr(cls, "Credentials", None), what)
    problems += coroutine_problems(cls, "check", what)
    if cls.oauth2 is not None and not (isinstance(cls.Credentials, type) and issubclass(
            cls.Credentials, sdk.OAuth2Credentials)):
        problems.append(f"{what}: declares 'oauth2' but its Credentials model is not an "
                        "OAuth2Credentials subclass")
    bad, actions = _members(cls, "actions", what)
    problems += bad + _unique(actions, what, "action")
    bad, triggers = _members(cls, "triggers", what)
    problems += bad + _unique(triggers, what, "poll trigger")
    for action in actions:
        problems += action_problems(action, cls.key)
    for trigger in triggers:
        problems += poll_trigger_problems(trigger, cls.key)
    return problems


def _set_of_str(value: Any) -> bool:
    return isinstance(value, frozenset | set | tuple) and all(isinstance(v, str) for v in value)


def _model_extra(cls: Any, what: str) -> list[str]:
    problems = coroutine_problems(cls, "call", what)
    for attr in ("capabilities", "tags"):
        if not _set_of_str(getattr(cls, attr, None)):
            problems.append(f"{what}: '{attr}' must be a frozenset of strings")
    return problems


def _guardrail_extra(cls: Any, what: str) -> list[str]:
    problems = coroutine_problems(cls, "check", what)
    stages = getattr(cls, "stages", None)
    if not (_set_of_str(stages) and stages and set(stages) <= STAGES):
        problems.append(f"{what}: 'stages' must be a non-empty subset of {sorted(STAGES)}")
    return problems


def _scheme_extra(cls: Any, what: str) -> list[str]:
    verify = getattr(cls, "verify", None)
    if verify is sdk.SignatureScheme.verify or inspect.iscoroutinefunction(verify):
        return [f"{what}: 'verify' must be a (synchronous) method of its own"]
    return []


_EXTRA = {"connectors": lambda cls, what: connector_problems(cls),
          "models": _model_extra, "guardrails": _guardrail_extra,
          "signature_schemes": _scheme_extra}


def registration_problems(hook: str, cls: Any) -> list[str]:
    """Everything the hub checks when a plugin calls ``register(cls)`` in ``hook``."""
    section, kind, base, models = KINDS[hook]
    if not (isinstance(cls, type) and issubclass(cls, base)):
        return [f"registered {cls!r}, expected a {base.__name__} subclass"]
    what = name_of(kind, cls)
    problems = identity_problems(cls, what)
    if problems:
        return problems
    if section != "connectors":
        for attr in models:
            problems += model_problems(getattr(cls, attr, None), what, attr)
    extra = _EXTRA.get(section)
    return problems + (extra(cls, what) if extra else [])
