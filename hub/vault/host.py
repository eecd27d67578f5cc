"""What the vault needs of the hub that holds it: the database, the secret store (KEKs) and the
payload codec. The hub satisfies it; the vault never imports the hub."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from hub.secrets import SecretStore
    from hub.store.db import Database


class VaultHost(Protocol):
    db: Database
    secrets: SecretStore | None
    payloads: Any  # the workspace payload codec (``SealingCodec`` once the vault is open)
