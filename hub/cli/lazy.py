"""A command group that imports each subcommand's module only when that command runs.

``hub --help`` lists every command from a table of names and one-line summaries; running
``hub zaps list`` imports :mod:`hub.cli.zaps` alone. So a command that needs no database
never pays for the web framework, the ORM or the plugins (issue 14, "fast start").
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperGroup


@dataclass(frozen=True)
class Lazy:
    """A subcommand: ``target`` is ``module:attribute`` (a ``typer.Typer`` or a function)."""

    target: str
    summary: str


class LazyGroup(TyperGroup):
    """A ``TyperGroup`` whose ``lazy`` table adds commands that load on first use."""

    lazy: dict[str, Lazy] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in self.lazy:
            return found
        # Listing only (help, suggestions): a stand-in with the summary, nothing imported.
        return typer.core.TyperCommand(cmd_name, help=self.lazy[cmd_name].summary)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in self.lazy and args[0] not in self.commands:
            self.add_command(load(args[0], self.lazy[args[0]]), args[0])
        return super().resolve_command(ctx, args)


def load(name: str, spec: Lazy) -> Any:
    """Import ``spec.target`` and turn it into a click command named ``name``."""
    module, _, attribute = spec.target.partition(":")
    obj = getattr(importlib.import_module(module), attribute)
    if isinstance(obj, typer.Typer):  # a group, even with one command (`hub plugins list`)
        command = typer.main.get_group(obj)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(obj)
        command = typer.main.get_command(single)
    command.name = name
    return command


def lazy_module(name: str) -> Any:
    """``name``, imported on first attribute access (``importlib.util.LazyLoader``), so a
    command module can name its services at the top and still load fast for ``--help``."""
    import importlib.util
    import sys

    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
