"""Per-request and per-event context, carried into every log line and every event emitted."""

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
event_id: ContextVar[str | None] = ContextVar("event_id", default=None)
user_id: ContextVar[str | None] = ContextVar("user_id", default=None)
