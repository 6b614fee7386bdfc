"""Per-request and per-event context, carried into every log line, event and audit entry."""

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
event_id: ContextVar[str | None] = ContextVar("event_id", default=None)
user_id: ContextVar[str | None] = ContextVar("user_id", default=None)
# Where the request came from (see middleware.client_address) and the route it matched
# ("POST /api/v1/attendance/checkins"): the audit log's "from where" and "which route".
client: ContextVar[str | None] = ContextVar("client", default=None)
route: ContextVar[str | None] = ContextVar("route", default=None)
