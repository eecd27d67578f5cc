"""`hub plugin new` (scaffold a plugin package) and `hub catalog` (what plugins registered,
with the JSON Schemas of their inputs, outputs, configs and credentials)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from hub.cli.common import fail, print_json
from hub.errors import HubError

if TYPE_CHECKING:  # loaded by the commands that need them: `--help` stays fast
    from hub.registry import Registry
    from hub.settings import Settings

app = typer.Typer(help="Write plugins.", no_args_is_help=True)


def load_plugins(settings: Settings, *, load_entrypoints: bool = True) -> Any:
    """The plugin manager, its registry validated (failing third-party plugins skipped);
    a refusal (a failing built-in, or any failure with ``HUB_STRICT_PLUGINS``) exits with
    one ``error[plugin_error]`` line instead of a traceback."""
    from hub.plugins import create_plugin_manager
    from hub.registry import registry_for

    try:
        pm = create_plugin_manager(settings=settings, load_entrypoints=load_entrypoints)
        registry_for(pm)
    except HubError as exc:
        raise fail(exc.message, error=exc.code) from None
    return pm


def _registry(*, load_entrypoints: bool = True) -> Registry:
    """Load the plugins and build the registry (no database needed)."""
    from hub.logs import setup_logging
    from hub.registry import registry_for
    from hub.settings import Settings

    settings = Settings()
    setup_logging(settings.log_level if settings.log_level != "INFO" else "WARNING",
                  settings.log_format)
    return registry_for(load_plugins(settings, load_entrypoints=load_entrypoints))


def _reserved() -> set[str]:
    from hub.plugins import BUILTIN_PLUGINS, plugin_name

    registry = _registry(load_entrypoints=False)
    return {plugin_name(m) for m in BUILTIN_PLUGINS} | set(registry.connectors)


@app.command("new")
def new(name: str = typer.Argument(..., help="The plugin's name, e.g. acme_crm."),
        directory: Path = typer.Option(Path("."), "--dir", "-d",
                                       help="Where to create zaphub-NAME/ (default: here).")
        ) -> None:
    """Create zaphub-NAME/: an installable plugin package with a connector (one action, one
    poll trigger), a fake upstream for its tests, tests that pass, and a README."""
    from hub.scaffold import scaffold

    try:
        target = scaffold(name, directory, reserved=_reserved())
    except HubError as exc:
        raise fail(exc.message, error=exc.code) from None
    typer.echo(f"created {target}\n\nnext:\n  cd {target}\n"
               "  pip install -e '.[test]'   # with zaphub installed first (see README.md)\n"
               "  pytest")


def _fields(schema: dict[str, Any] | None) -> str:
    if not schema:
        return "-"
    required = set(schema.get("required", []))
    return ", ".join(f"{k}{'*' if k in required else ''}"
                     for k in schema.get("properties", {})) or "-"


def _print_text(catalog: dict[str, Any]) -> None:
    typer.echo("connectors")
    for c in catalog["connectors"]:
        creds = f"  credentials: {_fields(c['credentials_schema'])}" \
            if c["needs_connection"] else ""
        typer.echo(f"  {c['key']:<22} {c['title']}  (plugin {c['plugin']}){creds}")
        for a in c["actions"]:
            typer.echo(f"    action  {a['use']:<28} {a['title']}  "
                       f"[{_fields(a['input_schema'])}]")
        for t in c["poll_triggers"]:
            typer.echo(f"    poll    {t['source']:<28} {t['title']}  "
                       f"[{_fields(t['config_schema'])}]")
    for section in ("trigger_kinds", "signature_schemes", "models", "guardrails"):
        typer.echo(section.replace("_", " "))
        for item in catalog[section]:
            extra = item.get("capabilities") or item.get("stages") or []
            suffix = f"  ({', '.join(extra)})" if extra else ""
            typer.echo(f"  {item['key']:<22} {item['title']}{suffix}")


def catalog(as_json: bool = typer.Option(False, "--json", help="Print the catalog as JSON "
                                         "(what GET /api/v1/catalog answers).")) -> None:
    """Every connector with its actions, poll triggers and credentials, plus trigger kinds,
    signature schemes, models and guardrails (required fields marked *)."""
    from hub.services.catalog import build_catalog

    data = build_catalog(_registry())
    if as_json:
        print_json(data)
    else:
        _print_text(data)
