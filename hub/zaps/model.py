"""The zap document: a trigger, ordered steps, variables and settings (pydantic)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.zaps.approval import ApprovalSpec

STEP_ID = r"^[a-z_][a-z0-9_]{0,62}$"
USE = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetryPolicy(_Strict):
    """Retries for a failed step: exponential backoff, optionally with full jitter."""

    attempts: int = Field(1, ge=1, le=20, description="Total attempts, the first included.")
    backoff: float = Field(1.0, ge=0, le=3600, description="Delay before the 2nd attempt (s).")
    factor: float = Field(2.0, ge=1, le=10, description="Multiplier per further attempt.")
    max_backoff: float = Field(300.0, ge=0, le=86400, description="Upper bound on a delay (s).")
    jitter: bool = Field(True, description="Randomise each delay in [0, delay] (full jitter).")


class Trigger(_Strict):
    """What starts the zap: a registered trigger kind and its configuration."""

    kind: str = Field(description="A registered trigger kind, e.g. `manual`.")
    config: dict[str, Any] = Field(default_factory=dict, description="The kind's settings.")


class Step(_Strict):
    """One step: a connector action with an input mapping of `{{ }}` templates."""

    id: str = Field(pattern=STEP_ID, description="Unique id, used as `steps.<id>` later.")
    use: str = Field(pattern=USE, description="`<connector>.<action>`, e.g. `core.transform`.")
    name: str | None = Field(None, max_length=200, description="A label for people.")
    connection: str | None = Field(None, max_length=200, description="Connection name.")
    input: dict[str, Any] = Field(default_factory=dict,
                                  description="Input; strings may hold `{{ }}`.")
    when: str | None = Field(None, max_length=4000, description="Run only if this is truthy.")
    retry: RetryPolicy | None = Field(None, description="Overrides the zap's default retry.")
    timeout: float | None = Field(None, gt=0, le=86400, description="Seconds per attempt.")
    approval: ApprovalSpec | None = Field(None, description="People must approve the step's "
                                          "rendered input before it runs.")


class ZapSettings(_Strict):
    """Zap-wide defaults."""

    default_retry: RetryPolicy = Field(default_factory=RetryPolicy)
    default_timeout: float = Field(300.0, gt=0, le=86400, description="Seconds per attempt.")


class Zap(_Strict):
    """A zap: the document users write, import, export and version."""

    name: str = Field(min_length=1, max_length=200, description="Unique in the workspace.")
    description: str = Field("", max_length=10_000)
    enabled: bool = Field(True, description="Disabled zaps start no runs.")
    trigger: Trigger
    vars: dict[str, Any] = Field(default_factory=dict, description="Constants: `vars.<name>`.")
    steps: list[Step] = Field(min_length=1, max_length=500)
    output: Any = Field(None, description="Template for the run's result; "
                        "default: last step's output.")
    settings: ZapSettings = Field(default_factory=ZapSettings)
