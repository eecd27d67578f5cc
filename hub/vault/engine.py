"""What the engine needs from the vault: a step's credentials and masking its results."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub import redaction
from hub.sdk import Credentials

if TYPE_CHECKING:
    from hub.context import Hub
    from hub.engine.steps import Attempt
    from hub.zaps import CompiledStep


async def step_credentials(hub: Hub, workspace_id: str, cs: CompiledStep,
                           run_id: str | None = None) -> Credentials | None:
    """The decrypted credentials of the step's connection (``None`` without one), when the
    connection's policy lets run ``run_id`` use it.

    Raises ``HubError`` (``connection_not_found``, ``connection_mismatch``, ``needs_reauth``,
    ``connection_forbidden``, ``decryption_failed`` ...) which the engine records as a
    non-retryable step failure.
    """
    if not cs.step.connection:
        return None
    from hub.services.connections import get_credentials

    return await get_credentials(hub, workspace_id=workspace_id, name=cs.step.connection,
                                 connector=cs.step.use.split(".", 1)[0], run_id=run_id)


def redact_attempt(att: Attempt, creds: Credentials | None) -> None:
    """Mask the connection's secret values wherever the step's input, output or error holds them."""
    values = redaction.secret_values(creds)
    if not values:
        return
    att.input = redaction.mask(att.input, values)
    att.output = redaction.mask(att.output, values)
    att.error = redaction.mask(att.error, values)
