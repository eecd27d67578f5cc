"""A plugin module that calls the network at import, as a careless package might: here the
call fails the way it does on a machine without network access."""

from __future__ import annotations

raise OSError(101, "Network is unreachable")
