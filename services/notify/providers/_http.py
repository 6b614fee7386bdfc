"""What the adapters share: the hashing and canonical request of the cloud signatures, one HTTP
call that turns a network failure into an outcome, and the mapping of error codes to outcomes."""

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from services.notify.providers.base import Outcome, OutcomeStatus

Clock = Callable[[], float]  # seconds since the epoch, as time.time gives them


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def percent_encode(value: str) -> str:
    """RFC 3986, as both clouds sign: space is %20, `*` is %2A, `~` stays."""
    return quote(value, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    payload_hash: str,
    *,
    lower_values: bool = False,
) -> tuple[str, str]:
    """The canonical request both ACS3 (Aliyun) and TC3 (Tencent) sign, and its signed-header
    list: names lowercased and sorted, values trimmed (and lowercased too for Tencent, whose
    documentation says so)."""
    entries = sorted(
        (name.lower(), value.strip().lower() if lower_values else value.strip())
        for name, value in headers.items()
    )
    canonical_headers = "".join(f"{name}:{value}\n" for name, value in entries)
    signed_headers = ";".join(name for name, _ in entries)
    text = "\n".join([method, path, query, canonical_headers, signed_headers, payload_hash])
    return text, signed_headers


def matches(code: str, patterns: Iterable[str]) -> bool:
    """`patterns` are codes, or families ending in `*` (`LimitExceeded.*`)."""
    return any(code.startswith(p[:-1]) if p.endswith("*") else code == p for p in patterns)


def classify(code: str, *, permanent: Iterable[str], temporary: Iterable[str]) -> OutcomeStatus:
    """An error code we do not know is `temporary`: the dispatcher bounds the retries, and a
    message tried again in vain costs less than one dropped for good."""
    if matches(code, temporary):
        return "temporary"
    if matches(code, permanent):
        return "permanent"
    return "temporary"


async def request_json(
    client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> tuple[int, dict[str, Any]] | Outcome:
    """The provider's JSON answer and its HTTP status, or a `temporary` outcome when there is
    no usable answer: a network failure, a timeout, a 5xx or 429, a body that is not JSON."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TimeoutException:
        return Outcome("temporary", code="timeout", detail="the provider did not answer in time")
    except httpx.HTTPError as exc:
        return Outcome("temporary", code="network", detail=type(exc).__name__)
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 500 or response.status_code == 429 or not isinstance(body, dict):
        code = body.get("Code") if isinstance(body, dict) else None
        return Outcome(
            "temporary",
            code=code or f"http_{response.status_code}",
            detail=response.text[:200],
            retry_after=_retry_after(response),
        )
    return response.status_code, body


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None


def errcode_outcome(
    body: dict[str, Any], *, permanent: Iterable[str], temporary: Iterable[str]
) -> Outcome:
    """The outcome of the {"errcode", "errmsg"} answer WeCom and WeChat share."""
    errcode = str(body.get("errcode", ""))
    if errcode == "0":
        msgid = body.get("msgid")
        return Outcome("sent", provider_message_id=None if msgid is None else str(msgid))
    status = classify(errcode, permanent=permanent, temporary=temporary)
    return Outcome(status, code=errcode, detail=body.get("errmsg"))


class HttpAdapter:
    """What every adapter holds: its HTTP client, its endpoint (overridable, so the tests and
    the demo point it at a fake) and the host it signs; `close()` closes the client."""

    def __init__(self, endpoint: str, timeout_seconds: float) -> None:
        self._endpoint = endpoint.rstrip("/")
        self._host = httpx.URL(self._endpoint).netloc.decode()
        self._client = httpx.AsyncClient(timeout=timeout_seconds)

    async def close(self) -> None:
        await self._client.aclose()


def optional_text(value: object) -> str | None:
    """A callback's text field as text (a provider's push is not trusted to keep its types)."""
    return None if value is None else str(value).replace("\x00", "")[:500]  # text takes no NUL
