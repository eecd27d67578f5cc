"""Hook specifications: the whole public plugin API of the hub.

Plugins implement these with ``@hub.hookimpl``. Discovery hooks are register-style: the core
passes a ``register`` callable that validates the object immediately and records which plugin
registered it. Hookimpls are synchronous and do no I/O; pluggy never awaits. Hooks are always
called with keyword arguments and evolve only by adding arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pluggy import HookimplMarker, HookspecMarker

if TYPE_CHECKING:
    from collections.abc import Callable

    from hub.context import Hub
    from hub.secrets import SecretStore
    from hub.settings import Settings

PROJECT = "hub"
hookspec = HookspecMarker(PROJECT)
hookimpl = HookimplMarker(PROJECT)


@hookspec
def register_connectors(register: Callable[[type], None]) -> None:
    """Register ``hub.Connector`` subclasses: ``register(MyConnector)``.

    Called once per plugin manager at startup, before any run, in the order pluggy calls
    hookimpls (third-party plugins before built-ins). ``register`` validates the class at
    once with the rules of ``hub.rules`` (unique ``key``, a ``title``, schemas that render,
    ``SecretStr`` secrets in ``Credentials``, async ``run``/``check``/``poll`` with the
    right parameters, unique action and poll trigger keys) and raises ``hub.PluginError``
    naming the plugin, the object and the rule. docs/plugins.md lists every rule.

    Args:
        register: call it once per connector class.

    Returns:
        Nothing; return values are ignored.

    Example::

        @hookimpl
        def register_connectors(register):
            register(AcmeConnector)
    """


@hookspec
def register_models(register: Callable[[type], None]) -> None:
    """Register ``hub.Model`` subclasses (AI model providers): ``register(MyModel)``.

    Called once at startup. Keys are unique across all plugins; ``Config`` must render to
    JSON Schema. The routing policy chooses among registered models per AI step.

    Args:
        register: call it once per model class.

    Returns:
        Nothing.

    Example::

        @hookimpl
        def register_models(register):
            register(MyLocalModel)
    """


@hookspec
def register_guardrails(register: Callable[[type], None]) -> None:
    """Register ``hub.Guardrail`` subclasses: ``register(MyGuardrail)``.

    Called once at startup. The workspace's guardrail policy applies registered guardrails to
    every AI step's input and output; a zap cannot turn them off.

    Args:
        register: call it once per guardrail class.

    Returns:
        Nothing.

    Example::

        @hookimpl
        def register_guardrails(register):
            register(NoProfanity)
    """


@hookspec
def register_trigger_kinds(register: Callable[[type], None]) -> None:
    """Register ``hub.TriggerKind`` subclasses (``manual``, ``webhook``, ...).

    Called once at startup. A zap's ``trigger.kind`` must name a registered kind and its
    ``trigger.config`` is validated against the kind's ``Config`` model when the zap is saved.

    Args:
        register: call it once per trigger kind class.

    Returns:
        Nothing.

    Example::

        @hookimpl
        def register_trigger_kinds(register):
            register(ManualTrigger)
    """


@hookspec
def register_signature_schemes(register: Callable[[type], None]) -> None:
    """Register ``hub.SignatureScheme`` subclasses used to verify webhook requests.

    Called once at startup. A webhook zap names a scheme by ``key`` (``trigger.config.signature``)
    and a ``webhook_secret`` connection; the scheme's ``verify`` runs over the raw body with a
    constant-time comparison, once per secret (current, then previous while rotating), and
    raises ``hub.Unauthorized`` (code ``bad_signature`` or ``stale_signature``). A scheme may
    set ``dedupe_key`` (the provider's delivery id as JMESPath over ``{headers, body, query}``)
    and override ``signature_headers`` (headers hidden from runs).

    Args:
        register: call it once per scheme class.

    Returns:
        Nothing.

    Example::

        @hookimpl
        def register_signature_schemes(register):
            register(GitHubSignature)
    """


@hookspec
def startup(hub: Hub) -> None:
    """Observe the hub starting, after the registry is validated and the database is ready.

    Called once per process (``hub serve``, ``hub worker`` or a CLI command that opens the
    hub). Must not raise and must not block: start background work with the hub's own
    facilities, never with threads of your own.

    Args:
        hub: the running hub (settings, registry, database, shared HTTP client).

    Returns:
        Nothing.

    Example::

        @hookimpl
        def startup(hub):
            hub.log.info("acme plugin ready")
    """


@hookspec
def shutdown(hub: Hub) -> None:
    """Observe the hub stopping, before the database and HTTP client close.

    Called once per process. Must not raise.

    Args:
        hub: the hub that is stopping.

    Returns:
        Nothing.

    Example::

        @hookimpl
        def shutdown(hub):
            hub.log.info("acme plugin stopped")
    """


@hookspec
def track_event(hub: Hub, event: dict[str, Any]) -> None:
    """Observe a run event: ``run.started``, ``step.finished``, ``run.finished``.

    Called by the worker after the event's state is committed. ``event`` holds ``type``,
    ``workspace_id``, ``run_id``, ``zap_id`` and, per type, ``step_id``, ``status``,
    ``duration_ms`` and ``error_code``; it never holds payloads or secrets. Observers must be
    fast, must not raise (an exception is logged and ignored) and must not mutate ``event``.

    Args:
        hub: the running hub.
        event: the event, a plain dict.

    Returns:
        Nothing.

    Example::

        @hookimpl
        def track_event(hub, event):
            if event["type"] == "run.finished":
                statsd.incr(f"runs.{event['status']}")
    """


@hookspec(firstresult=True)
def secret_store(settings: Settings) -> SecretStore | None:
    """Choose the store that provides the hub's key-encryption keys.

    ``firstresult``: the first non-``None`` result wins. The built-in (a key file in the data
    directory, or ``HUB_MASTER_KEY``) is registered ``trylast``, so a plugin that returns a
    store (Vault, a cloud KMS ...) replaces it. Return ``None`` to defer to the next one.

    Args:
        settings: the hub's settings.

    Returns:
        A ``hub.secrets.SecretStore`` or ``None``.

    Example::

        @hookimpl
        def secret_store(settings):
            if os.environ.get("VAULT_ADDR"):
                return VaultStore(os.environ["VAULT_ADDR"])
            return None
    """
