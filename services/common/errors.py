"""One exception tree and one handler: every error leaves as RFC 9457 problem+json.

Domain code raises these; routes never build error responses by hand. `detail` is for people
(Chinese), `title` the English name of the status, `code` the stable key clients switch on.
"""

import logging
import socket
from collections.abc import Iterator, Sequence
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError as SADataError
from sqlalchemy.exc import DBAPIError, EmulatedDBAPIException
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from services.common import context
from services.common.sensitive import DecryptionFailed

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """Base of the tree: a status, a stable code, and a message for people."""

    status = 500
    code = "internal_error"
    title = "Internal Server Error"
    detail = "服务器内部错误"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        keep_changes: bool = False,
    ) -> None:
        self.detail = detail or self.detail
        self.code = code or self.code
        self.errors = errors
        self.headers = headers
        # The request's transaction commits even so: the refusal itself is a fact to keep.
        self.keep_changes = keep_changes
        super().__init__(self.detail)


class BadRequest(Problem):
    status, code, title, detail = 400, "bad_request", "Bad Request", "请求无法解析"


class Unauthorized(Problem):
    status, code, title, detail = 401, "unauthorized", "Unauthorized", "未登录或凭证无效"


class Forbidden(Problem):
    status, code, title, detail = 403, "forbidden", "Forbidden", "无权执行此操作"


class NotFound(Problem):
    status, code, title, detail = 404, "not_found", "Not Found", "记录不存在"


class Conflict(Problem):
    status, code, title, detail = 409, "conflict", "Conflict", "与当前状态冲突"


class PayloadTooLarge(Problem):
    status, code, title, detail = 413, "payload_too_large", "Content Too Large", "请求体过大"


class UnsupportedMediaType(Problem):
    status, code, title, detail = (
        415,
        "unsupported_media_type",
        "Unsupported Media Type",
        "不支持的内容类型",
    )


class Invalid(Problem):
    status, code, title, detail = (
        422,
        "validation_failed",
        "Unprocessable Content",
        "请求参数不合法",
    )


class TooManyRequests(Problem):
    status, code, title, detail = (
        429,
        "rate_limited",
        "Too Many Requests",
        "请求过于频繁，请稍后再试",
    )


class UpstreamFailed(Problem):
    status, code, title, detail = 502, "upstream_failed", "Bad Gateway", "上游服务不可用"


class Unavailable(Problem):
    status, code, title, detail = 503, "unavailable", "Service Unavailable", "服务暂时不可用"


class UpstreamTimeout(Problem):
    status, code, title, detail = 504, "upstream_timeout", "Gateway Timeout", "上游服务响应超时"


class BodyTooLarge(StarletteHTTPException):
    """A body found over its limit while it streams in, and the problem it gets (a photo's is
    not a JSON body's). An HTTPException, because FastAPI turns any other error raised while
    it reads a body into a 400."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(413)
        self.problem = problem


def problem_body(problem: Problem) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:zhucun:problem:{problem.code}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "code": problem.code,
        "request_id": context.request_id.get(),
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    return body


def problem_response(problem: Problem) -> Response:
    return Response(
        orjson.dumps(problem_body(problem)),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "")


def invalid(errors: Sequence[Any]) -> Invalid:
    """The 422 for pydantic's errors (a request's, or one item's of a batch): each field and
    what is wrong with it."""
    return Invalid(
        errors=[{"field": _field(tuple(e.get("loc", ()))), "message": e["msg"]} for e in errors]
    )


def _from_validation(exc: RequestValidationError) -> Problem:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return BadRequest("请求体不是合法的 JSON", code="malformed_json")
    return invalid(errors)


def _causes(exc: BaseException | None) -> Iterator[BaseException]:
    """The error, what SQLAlchemy wrapped (`orig`) and what it was raised from, a few deep."""
    for _ in range(6):
        if exc is None:
            return
        yield exc
        exc = getattr(exc, "orig", None) or exc.__cause__


# The database is away for now (a restart, a failover, too many clients): not the fault of the
# request or the event, and worth a retry.
_AWAY = (
    asyncpg.PostgresConnectionError,  # class 08
    asyncpg.OperatorInterventionError,  # class 57: shutting down, starting up
    asyncpg.TooManyConnectionsError,  # 53300
    asyncpg.ConnectionDoesNotExistError,
    ConnectionError,  # refused or reset at the socket
    socket.gaierror,  # its host name does not resolve (yet)
)
# What the database layer raises; each is turned into a problem by `database_problem`.
DATABASE_ERRORS = (
    DBAPIError,
    EmulatedDBAPIException,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    PoolTimeout,
    OSError,
)


def database_problem(exc: BaseException) -> Problem:
    """What an unexpected error means to the caller. A database error, whether SQLAlchemy
    wrapped it or asyncpg raised it (the hot statements): a value the database cannot take is
    the caller's 422; a database that is away, or has no connection free, a 503 with
    Retry-After. Anything else is a bug: 500, logged, without a trace in the answer."""
    chain = list(_causes(exc))
    if any(isinstance(e, SADataError | asyncpg.DataError) for e in chain):
        return Invalid("数值超出可存储的范围", code="value_out_of_range")
    if any(isinstance(e, PoolTimeout) for e in chain):
        return Unavailable(
            "数据库繁忙，请稍后重试", code="database_busy", headers={"Retry-After": "1"}
        )
    if any(
        isinstance(e, _AWAY)
        or (isinstance(e, DBAPIError) and e.connection_invalidated)
        # asyncpg's word for a connection the server dropped before this statement
        or (isinstance(e, asyncpg.InterfaceError) and "connection is closed" in str(e))
        for e in chain
    ):
        return Unavailable(
            "数据库暂时不可用", code="database_unavailable", headers={"Retry-After": "5"}
        )
    return Problem()


def unreadable(exc: DecryptionFailed) -> Problem:
    """A sensitive value no configured key opens (a data key dropped too early, a corrupted
    row): the operators' to fix, not the caller's, so a 503. Logged without the ciphertext
    (the exception never holds it)."""
    log.error("sensitive data: %s", exc)
    return Unavailable(
        "敏感数据无法读取：数据密钥配置有误，请联系运维人员", code="sensitive_data_unreadable"
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_problem(_: Request, exc: Problem) -> Response:
        return problem_response(exc)

    async def on_validation(_: Request, exc: RequestValidationError) -> Response:
        return problem_response(_from_validation(exc))

    async def on_http(_: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            problem = Problem("不支持该请求方法", code="method_not_allowed")
            problem.status, problem.title = 405, "Method Not Allowed"
        elif exc.status_code == 404:
            problem = NotFound("路径不存在")
        elif exc.status_code == 413:
            problem = exc.problem if isinstance(exc, BodyTooLarge) else PayloadTooLarge()
        else:
            problem = Problem(str(exc.detail), code=f"http_{exc.status_code}")
            problem.status, problem.title = exc.status_code, str(exc.detail)
        problem.headers = dict(exc.headers or {})
        return problem_response(problem)

    async def on_unexpected(_: Request, exc: Exception) -> Response:
        problem = database_problem(exc)
        if problem.status == 500:
            log.exception("unhandled error")
        else:
            log.warning("database: %r", exc)
        return problem_response(problem)

    async def on_undecryptable(_: Request, exc: DecryptionFailed) -> Response:
        return problem_response(unreadable(exc))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(DecryptionFailed, on_undecryptable)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    # Database errors get handlers of their own: the one for Exception runs outside the
    # middleware (Starlette's ServerErrorMiddleware), where the answer has no request id.
    for exc_type in DATABASE_ERRORS:
        app.add_exception_handler(exc_type, on_unexpected)
    app.add_exception_handler(Exception, on_unexpected)
