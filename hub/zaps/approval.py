"""Approval settings of a step (``approval:``) and the workspace's approval policy."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_TIMEOUT = 30 * 86400.0
USE = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"
FIELD = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"


def parse_duration(value: Any) -> float:
    """Seconds from a number or a text like ``90s``, ``15m``, ``24h``, ``7d``."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a text like 24h")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise ValueError("a duration is a number of seconds or a text like 24h")
    if not 1 <= seconds <= MAX_TIMEOUT:
        raise ValueError("a duration is between 1 second and 30 days")
    return seconds


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Notify(_Strict):
    """A connector action run when the approval is requested (e.g. ``email.send``).

    Its input sees ``vars.approval``: ``id``, ``url`` (a signed, expiring link), ``step``,
    ``action``, ``expires_at``.
    """

    use: str = Field(pattern=USE, description="`<connector>.<action>`, e.g. `slack.post_message`.")
    connection: str | None = Field(None, max_length=200, description="Connection name.")
    input: dict[str, Any] = Field(default_factory=dict, description="Input; `{{ }}` allowed.")


class ApprovalSpec(_Strict):
    """Who must approve a step before it runs, how many, and for how long."""

    approvers: str | list[str] = Field(
        "approver", description="A role (members of that role or above who may decide "
        "approvals), or a list of user ids and e-mails.")
    min_approvals: int = Field(1, ge=1, le=20, description="Distinct people who must approve.")
    timeout: float = Field(86400.0, description="How long to wait: seconds or `24h`, `7d`...")
    on_timeout: Literal["reject", "approve"] = Field("reject", description="What a timeout does.")
    notify: list[Notify] = Field(default_factory=list, max_length=5,
                                 description="Actions that tell the approvers (signed link).")

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("approvers")
    @classmethod
    def _approvers(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, str):
            from hub.permissions import ROLES

            if value not in ROLES:
                raise ValueError(f"a role ({', '.join(ROLES)}), or a list of user ids or "
                                 "e-mails")
            return value
        if not 1 <= len(value) <= 100 or any(not 1 <= len(v) <= 320 for v in value):
            raise ValueError("between 1 and 100 user ids or e-mails")
        return [v.strip().lower() if "@" in v else v.strip() for v in value]


class ApprovalRule(_Strict):
    """A workspace rule: steps it matches need approval whatever their zap says."""

    name: str = Field(min_length=1, max_length=100)
    when: Literal["external", "ai_input", "amount_above"] = Field(
        description="`external`: the step's connector sends data outside (see "
        "`external_connectors`); `ai_input`: its input reads an AI step's output; "
        "`amount_above`: its input field `field` is a number above `threshold`.")
    field: str = Field("amount", pattern=FIELD, description="Input field (amount_above).")
    threshold: float = Field(0.0, description="Amount above which approval is needed.")
    approval: ApprovalSpec = Field(default_factory=ApprovalSpec)


class ApprovalPolicy(_Strict):
    """A workspace's approval rules, edited by admins."""

    external_connectors: list[str] = Field(
        default_factory=list, max_length=200,
        description="Connectors marked as sending data outside the organisation.")
    rules: list[ApprovalRule] = Field(default_factory=list, max_length=50)
    allow_self_approval: bool = Field(
        False, description="Let the run's starter or the zap's last editor approve it.")
