"""How the engine names its own failures: stable codes, bounded messages, transient or not.

A run the engine cannot execute must end, never loop: a failure inside a step fails that step
(by its retry policy), a failure outside any step fails the run. Only infrastructure trouble
(the database unreachable) hands the run back to the queue, and the claim limit bounds that.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hub.errors import HubError

ENGINE_ERROR = "engine_error"  # an unexpected exception around a step or a run
OUTPUT_UNSTORABLE = "output_unstorable"  # a step output or run result cannot be encoded
INPUT_UNSTORABLE = "input_unstorable"  # a step input cannot be encoded
MESSAGE_LIMIT = 500

_TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError, OSError)


def describe(exc: BaseException) -> str:
    """``Type: message`` of an unexpected exception, bounded in size."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + "..."


def error_of(exc: Exception, *, code: str = ENGINE_ERROR, where: str = "") -> dict[str, Any]:
    """The stored error for ``exc``: a ``HubError`` keeps its own code and message."""
    prefix = f"{where}: " if where else ""
    if isinstance(exc, HubError):
        return {"code": exc.code, "message": prefix + exc.message[:MESSAGE_LIMIT]}
    return {"code": code, "message": prefix + describe(exc)}


#: SQLSTATE classes of a database going away: connection exception, operator intervention
#: (e.g. ``57P01`` admin_shutdown while PostgreSQL restarts)
_GONE = ("08", "57")


def _sqlstate(exc: BaseException) -> str:
    for err in (getattr(exc, "orig", None), getattr(getattr(exc, "orig", None), "__cause__",
                                                      None)):
        state = getattr(err, "sqlstate", None) or getattr(err, "pgcode", None)
        if isinstance(state, str):
            return state
    return ""


def is_transient(exc: BaseException) -> bool:
    """Database or network trouble that says nothing about the run itself."""
    if isinstance(exc, sa.exc.DBAPIError) and (
            exc.connection_invalidated or _sqlstate(exc)[:2] in _GONE):
        return True
    return isinstance(exc, _TRANSIENT)
