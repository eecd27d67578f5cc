"""Settings from ``HUB_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


class Settings(BaseSettings):
    """Every knob of the hub. Each field maps to ``HUB_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    data_dir: Path = Field(Path("hub-data"), description="Embedded database and key file.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite.")
    database_schema: str | None = Field(None, description="PostgreSQL schema (search_path) to use.")
    host: str = Field("127.0.0.1", description="Address `hub serve` binds to.")
    port: int = Field(8080, ge=1, le=65535, description="Port `hub serve` listens on.")
    public_url: str | None = Field(None, description="URL users reach the hub at (for links).")
    session_ttl: float = Field(12 * 3600.0, ge=60, le=90 * 86400, description="Seconds a "
                               "browser session lasts after signing in.")
    log_level: str = Field("INFO", description="Log level.")
    log_format: Literal["text", "json"] = Field("text", description="`json` for structured logs.")
    load_plugins: str | None = Field(None, description="Comma list: load only these plugins.")
    disabled_plugins: str | None = Field(None, description="Comma list of plugins not to load.")
    trace_plugins: bool = Field(False, description="Log every hook call and its results.")
    strict_plugins: bool = Field(False, description="Refuse to start when an installed "
                                 "(third-party) plugin fails, instead of skipping it.")
    master_key: SecretStr | None = Field(None, description="Base64 32-byte key-encryption key.")
    worker_concurrency: int = Field(64, ge=1, le=10_000, description="Runs per worker at once.")
    lease_seconds: float = Field(30.0, gt=0, description="How long a claimed run stays leased.")
    poll_interval: float = Field(0.5, gt=0, description="Idle worker's queue poll interval (s).")
    max_run_claims: int = Field(
        10, ge=1, le=1000, description="Claims of one run without a committed step before the "
        "run fails with `too_many_claims` (a run that crashes or hangs every worker).")
    sqlite_synchronous: Literal["full", "normal"] = Field(
        "full", description="SQLite `synchronous` of the writer connections: `full` keeps "
        "acknowledged webhooks and checkpoints through a power cut; `normal` may lose the last "
        "commits then (a killed process loses nothing either way).")
    run_worker: bool = Field(True, description="`hub serve` also runs an in-process worker.")
    run_scheduler: bool = Field(True, description="`hub serve` fires schedules and polls.")
    hook_max_body: int = Field(1_048_576, ge=1, description="Largest webhook body (bytes).")
    hook_max_body_limit: int = Field(
        16_777_216, ge=1, description="Most a zap may raise its own webhook body limit to.")
    api_max_body: int = Field(1_048_576, ge=1024, description="Largest /api/v1 request body.")
    max_json_depth: int = Field(64, ge=2, le=200, description="Deepest nesting accepted in a "
                                "JSON or YAML document from outside (bodies, zaps, input).")
    header_timeout: float = Field(10.0, gt=0, le=3600, description="Seconds a client has to "
                                  "send a request's headers.")
    body_timeout: float = Field(30.0, gt=0, le=3600, description="Seconds a client may pause "
                                "while sending a request body.")
    hook_cache_ttl: float = Field(5.0, ge=0, description="Seconds a cached hook stays valid.")
    trigger_refresh: float = Field(10.0, gt=0, description="Seconds between schedule reloads.")
    egress_allow: str | None = Field(
        None, description="Comma list of CIDRs and host names outbound calls may reach even "
        "though they are internal (loopback, private, link-local ...).")
    tables_max_tables: int = Field(100, ge=1, description="Data tables per workspace.")
    tables_max_columns: int = Field(50, ge=1, le=1000, description="Columns per data table.")
    tables_max_rows: int = Field(50_000, ge=1, description="Rows per data table.")
    tables_max_value_bytes: int = Field(16_384, ge=64, description="Largest cell (bytes).")
    tables_max_row_bytes: int = Field(65_536, ge=64, description="Largest row (bytes).")
    tables_scan_rows: int = Field(5_000, ge=1, description="Rows one table query may examine.")
    tables_scan_bytes: int = Field(16_777_216, ge=1, description="Bytes one query may examine.")
    tables_page_max: int = Field(500, ge=1, description="Largest page or find limit.")
    tables_max_conditions: int = Field(10, ge=1, description="Conditions in one table filter.")
    audit_runs: bool = Field(True, description="Record run start and finish, each step's side "
                             "effect and guardrail verdicts in the audit trail.")
    approval_link_key: SecretStr | None = Field(
        None, description="Key signing approval links; default: derived from the vault key.")
    tables_csv_max_bytes: int = Field(10_485_760, ge=1, description="Largest CSV import.")

    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def load_plugin_names(self) -> tuple[str, ...]:
        return _csv(self.load_plugins)

    @property
    def disabled_plugin_names(self) -> tuple[str, ...]:
        return _csv(self.disabled_plugins)

    def hook_body_limit(self, requested: int | None) -> int:
        """A hook's body limit: the zap's own or the default, never above the operator's cap."""
        return min(requested or self.hook_max_body, self.hook_max_body_limit)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'hub.db').absolute()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
