"""`hub keys ...`: key-encryption key status, rotation, roll back, retirement, payload sealing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from hub.cli.common import WorkspaceOpt, fail, print_json, run_with_hub, workspace_id
from hub.cli.lazy import lazy_module
from hub.errors import HubError

if TYPE_CHECKING:  # loaded by the commands that need them: `--help` stays fast
    from hub.context import Hub

keys = lazy_module("hub.vault.keys")
payloads_module = lazy_module("hub.vault.payloads")

app = typer.Typer(help="Key-encryption keys: status, rotate, retire.", no_args_is_help=True)


async def _status(hub: Hub) -> dict[str, object]:
    assert hub.secrets is not None
    used = await keys.counts(hub)
    held = hub.secrets.key_ids()
    rows = [{"key_id": k, "data_keys": used.get(k, 0), "in_store": k in held}
            for k in dict.fromkeys([*held, *used])]
    return {"current": hub.secrets.current_key_id(), "keys": rows,
            "unreadable": await keys.unreadable(hub)}


def _print_unreadable(bad: list[dict[str, str]], err: bool = False) -> None:
    for row in bad:
        typer.echo(f"  unreadable: data_keys {row['id']} (workspace {row['workspace_id']}, "
                   f"purpose {row['purpose']}, key {row['kek_id']}): {row['code']}", err=err)


@app.command()
def status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Each key id: how many data keys it wraps, whether the store holds it, which is current;
    then every data key that cannot be unwrapped, by id."""
    out = run_with_hub(_status)
    if as_json:
        print_json(out)
        return
    for row in out["keys"]:  # type: ignore[attr-defined]
        mark = "*" if row["key_id"] == out["current"] else " "
        where = "" if row["in_store"] else "  (MISSING from the secret store)"
        typer.echo(f"{mark} {row['key_id']}  {row['data_keys']} data key(s){where}")
    bad = out["unreadable"]
    if bad:
        typer.echo(f"{len(bad)} data key(s) cannot be unwrapped; restore them from backup:")  # type: ignore[arg-type]
        _print_unreadable(bad)  # type: ignore[arg-type]


async def rotate_to(hub: Hub, target: str, batch: int,
                    show: bool = True) -> tuple[int, list[dict[str, str]]]:
    """Re-wrap every data key not yet on ``target``, in batches; return how many moved and
    the data keys that could not be unwrapped (left as they are)."""
    moved, bad = 0, []
    after: str | None = ""
    total = await keys.pending(hub, target)
    with typer.progressbar(length=total, label=f"re-wrapping to {target}",
                           hidden=not show, file=None) as bar:
        while after is not None:
            page = await keys.rewrap_batch(hub, target, batch, after)
            moved, after = moved + page.moved, page.after
            bad += page.bad
            bar.update(page.moved + len(page.bad))
    return moved, bad


@app.command()
def rotate(to: str | None = typer.Option(None, "--to", help="Make this existing key current "
                                         "again (roll back) instead of adding a new one."),
           resume: bool = typer.Option(False, "--resume", help="Add no key: finish re-wrapping "
                                       "to the current key (after an interrupted rotation)."),
           batch: int = typer.Option(200, min=1, max=10_000, help="Data keys per transaction.")
           ) -> None:
    """Add a new key version and re-wrap every data key to it, online and resumable.

    A data key that cannot be unwrapped is reported by id and left under its old key; the
    others are re-wrapped, and the command exits 1 (`rotation_incomplete`)."""

    async def go(hub: Hub) -> tuple[str, int, list[dict[str, str]]]:
        assert hub.secrets is not None
        if to:
            if to not in hub.secrets.key_ids():
                raise HubError(f"the secret store holds no key {to}", code="key_not_found")
            hub.secrets.use_key(to)
            target = to
        elif resume:
            target = hub.secrets.current_key_id()
        else:
            target = hub.secrets.add_key()
        return target, *await rotate_to(hub, target, batch)

    target, moved, bad = run_with_hub(go)
    typer.echo(f"current key {target}; re-wrapped {moved} data key(s)")
    if bad:
        _print_unreadable(bad, err=True)
        raise fail(f"{len(bad)} data key(s) could not be unwrapped and stay under their old "
                   "key; restore them from backup, then run `hub keys rotate --resume`",
                   1, error="rotation_incomplete")


@app.command()
def retire(key_id: str = typer.Argument(..., help="The key id to remove.")) -> None:
    """Remove an old key from the store once no data key uses it."""

    async def go(hub: Hub) -> None:
        assert hub.secrets is not None
        await keys.check_retirable(hub, key_id)
        hub.secrets.remove_key(key_id)

    run_with_hub(go)
    typer.echo(f"retired key {key_id}")


@app.command()
def payloads(state: str = typer.Argument(..., help="on or off"),
             workspace: str | None = WorkspaceOpt) -> None:
    """Turn encryption at rest of run payloads on (default) or off for a workspace."""
    if state not in ("on", "off"):
        raise fail("use on or off", error="invalid_argument")

    async def go(hub: Hub) -> None:
        ws = await workspace_id(hub, workspace)
        await payloads_module.set_encryption(hub, workspace_id=ws, enabled=state == "on")

    run_with_hub(go)
    typer.echo(f"payload encryption {state}")
