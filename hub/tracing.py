"""Per-run trace ids for logs, and optional OpenTelemetry spans (``pip install zaphub[otel]``).

While a worker executes a run, ``run_trace`` puts the run's id and trace id in a context
variable; ``TraceFields`` adds them to every log record emitted meanwhile, so with
``HUB_LOG_FORMAT=json`` each line of a run carries ``run_id`` and ``trace_id``. The trace id
is derived from the run id: every claim of the run, on any node, logs and traces under the
same id.

With ``HUB_OTEL_ENABLED=true`` the hub also records a span per step attempt and per model
call, in the run's trace, and exports them with OTLP over HTTP (configured by the standard
``OTEL_EXPORTER_OTLP_*`` variables). Spans carry ids, names, outcomes and token counts,
never inputs, outputs or secrets. Without it, ``span`` costs nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from hub.errors import HubError


@dataclass(frozen=True)
class RunTrace:
    run_id: str
    workspace_id: str
    trace_id: str  # 32 hex digits (OpenTelemetry's 128-bit trace id)


_current: ContextVar[RunTrace | None] = ContextVar("hub_run_trace", default=None)
_tracer: Any = None  # an OpenTelemetry tracer once enabled; None: spans are no-ops


def trace_id_for(run_id: str) -> str:
    """The run's trace id: the same on every node and every claim of the run."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:32]


def current() -> RunTrace | None:
    return _current.get()


def enter_run(run_id: str, workspace_id: str) -> RunTrace:
    """Mark the current context as work on ``run_id`` (for a task's own context copy)."""
    trace = RunTrace(run_id, workspace_id, trace_id_for(run_id))
    _current.set(trace)
    return trace


@contextlib.contextmanager
def run_trace(run_id: str, workspace_id: str) -> Iterator[RunTrace]:
    """Mark everything done in this context (its task) as work on ``run_id``."""
    trace = RunTrace(run_id, workspace_id, trace_id_for(run_id))
    token = _current.set(trace)
    try:
        yield trace
    finally:
        _current.reset(token)


class TraceFields(logging.Filter):
    """Adds ``run_id``, ``workspace_id`` and ``trace_id`` to records logged during a run."""

    def filter(self, record: logging.LogRecord) -> bool:
        trace = _current.get()
        if trace is not None and not hasattr(record, "trace_id"):
            record.run_id = trace.run_id
            record.workspace_id = trace.workspace_id
            record.trace_id = trace.trace_id
        return True


# --- OpenTelemetry ----------------------------------------------------------------------------


def enable(provider: Any = None) -> None:
    """Record spans with ``provider`` (an OpenTelemetry ``TracerProvider``; default: the
    SDK's, exporting with OTLP over HTTP). Refuses with ``otel_missing`` when the extra is
    not installed."""
    global _tracer
    try:
        from opentelemetry import trace
    except ImportError:
        raise HubError("HUB_OTEL_ENABLED needs the otel extra: pip install 'zaphub[otel]'",
                       code="otel_missing") from None
    if provider is None:
        provider = _otlp_provider()
    _tracer = trace.get_tracer("zaphub", tracer_provider=provider)


def disable() -> None:
    global _tracer
    _tracer = None


def _otlp_provider() -> Any:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise HubError("HUB_OTEL_ENABLED needs the otel extra: pip install 'zaphub[otel]'",
                       code="otel_missing") from None
    provider = TracerProvider(resource=Resource.create({"service.name": "zaphub"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def _parent() -> Any:
    """The run's trace as the parent context, so spans of a run share its trace id."""
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    run = _current.get()
    if run is None or trace.get_current_span().get_span_context().is_valid:
        return None  # no run, or already inside a span: the current context is the parent
    ctx = SpanContext(trace_id=int(run.trace_id, 16), span_id=int.from_bytes(
        secrets.token_bytes(8), "big") or 1, is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.set_span_in_context(NonRecordingSpan(ctx))


def outcome(sp: Any, error_code: str | None) -> None:
    """Record a span's outcome: ``ok``, or the stable error code (never the message)."""
    if sp is None:
        return
    sp.set_attribute("hub.outcome", error_code or "ok")
    if error_code:
        from opentelemetry.trace import Status, StatusCode

        sp.set_status(Status(StatusCode.ERROR, error_code))


def usage(sp: Any, input_tokens: int, output_tokens: int) -> None:
    if sp is not None:
        sp.set_attribute("hub.input_tokens", input_tokens)
        sp.set_attribute("hub.output_tokens", output_tokens)
        sp.set_attribute("hub.outcome", "ok")


@contextlib.contextmanager
def span(name: str, **attributes: Any) -> Iterator[Any]:
    """A span named ``name`` when OpenTelemetry is enabled, else nothing. Attributes must be
    ids, names and counts: never payloads or secrets."""
    if _tracer is None:
        yield None
        return
    run = _current.get()
    attrs = {k: v for k, v in attributes.items() if v is not None}
    if run is not None:
        attrs.setdefault("hub.run_id", run.run_id)
        attrs.setdefault("hub.workspace_id", run.workspace_id)
    with _tracer.start_as_current_span(name, context=_parent(), attributes=attrs,
                                       record_exception=False,  # messages may quote data
                                       set_status_on_exception=False) as sp:
        try:
            yield sp
        except HubError as exc:
            outcome(sp, exc.code)
            raise
        except TimeoutError:
            outcome(sp, "timeout")
            raise
        except BaseException:
            outcome(sp, "error")
            raise
