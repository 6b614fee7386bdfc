"""The providers played at their HTTP boundary, for the tests (serve one with
`services.common.testing.listening(fake.app())` and point the adapter's endpoint at it).

Each fake checks a request the way the real API does: it recomputes the signature from what
arrived on the wire with the secret it was given, checks the timestamp, the required headers,
parameters and body shape, and answers a refusal in the provider's own error shape. What it
accepts it records in `accepted`. It can be told to refuse a number, template or sign name
(`refuse`) or to fail the next requests (`fail_next`), with the real codes for each reason.

The SMS fakes verify with the same canonical-request helpers the adapters sign with; the
adapters' tests reproduce each cloud's documented example, so a shared mistake cannot pass.
"""

import asyncio
import hmac
import json
import re
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from itertools import count
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.notify.providers import aliyun, tencent
from services.notify.providers._http import (
    Clock,
    canonical_query,
    canonical_request,
    sha256_hex,
)

Reason = Literal[
    "rate_limited",
    "template_not_approved",
    "invalid_number",  # for WeChat: an openid that is not the account's
    "balance_exhausted",
    "signature_not_approved",
    "not_following",  # WeChat: 43004
    "refused_subscription",  # WeChat: 43101
    "throttled",  # the whole account over its request rate
    "busy",  # the provider's own failure
]


class Refused(Exception):
    """An answer in the provider's error shape, raised from deep in a check."""

    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(code)
        self.code, self.message, self.status = code, message, status


class FakeProvider:
    # reason → (HTTP status, the provider's code, its message)
    reasons: ClassVar[dict[str, tuple[int, str, str]]] = {}

    def __init__(self, clock: Clock = time.time) -> None:
        self.clock = clock
        self.accepted: list[dict[str, Any]] = []
        self.requests = 0  # every request that reached the fake, refused or not
        self._refusals: dict[str, str] = {}
        self._failures: list[str] = []

    paths: ClassVar[tuple[str, ...]] = ("/",)  # the API's routes, each POST

    def app(self) -> FastAPI:
        app = FastAPI()

        async def endpoint(request: Request) -> JSONResponse:
            self.requests += 1
            try:
                return JSONResponse(self.answer(await self.handle(request)))
            except Refused as refused:
                return JSONResponse(self.refusal(refused), status_code=refused.status)

        for path in self.paths:
            app.post(path)(endpoint)
        return app

    async def handle(self, request: Request) -> dict[str, Any]:
        """Check the request as the real API does; raise Refused, or return the answer's data."""
        raise NotImplementedError

    def answer(self, data: dict[str, Any]) -> dict[str, Any]:
        """A success in the provider's shape (by default WeChat's and WeCom's)."""
        return {"errcode": 0, "errmsg": "ok", **data}

    def refusal(self, refused: Refused) -> dict[str, Any]:
        return {"errcode": int(refused.code), "errmsg": refused.message}

    def refuse(self, key: str, reason: Reason) -> None:
        """Answer `reason` for this number, openid, template or sign name from now on."""
        if reason not in self.reasons:
            raise ValueError(f"{type(self).__name__} has no {reason!r}")
        self._refusals[key] = reason

    def fail_next(self, times: int, reason: Reason = "busy") -> None:
        """Refuse the next `times` authenticated requests, then succeed again."""
        if reason not in self.reasons:
            raise ValueError(f"{type(self).__name__} has no {reason!r}")
        self._failures.extend([reason] * times)

    def _refusal(self, *keys: str) -> Refused | None:
        for key in keys:
            if key in self._refusals:
                return self._refused(self._refusals[key])
        return None

    def _check_failures(self) -> None:
        if self._failures:
            raise self._refused(self._failures.pop(0))

    def _refused(self, reason: str) -> Refused:
        status, code, message = self.reasons[reason]
        return Refused(code, message, status)


class AliyunFake(FakeProvider):
    """dysmsapi: ACS3-signed SendSms and SendBatchSms. `templates` (optional) names each
    approved template's variables: any other template is not approved, a missing variable
    is isv.TEMPLATE_MISSING_PARAMETERS."""

    reasons: ClassVar[dict[str, tuple[int, str, str]]] = {
        "rate_limited": (200, "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"),
        "template_not_approved": (200, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板"),
        "invalid_number": (200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"),
        "balance_exhausted": (200, "isv.AMOUNT_NOT_ENOUGH", "账户余额不足"),
        "signature_not_approved": (200, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名"),
        "throttled": (400, "Throttling.User", "Request was denied due to user flow control."),
        "busy": (503, "ServiceUnavailable", "The request has failed due to a temporary failure."),
    }
    AUTHORIZATION = re.compile(
        r"^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$"
    )
    MAX_SKEW_SECONDS = 15 * 60

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        *,
        templates: dict[str, list[str]] | None = None,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(clock)
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.templates = templates
        self._nonces: set[str] = set()
        self._biz_ids = count(900001)

    def answer(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"RequestId": str(uuid.uuid4()).upper(), "Code": "OK", "Message": "OK", **data}

    def refusal(self, refused: Refused) -> dict[str, Any]:
        return {
            "RequestId": str(uuid.uuid4()).upper(),
            "Code": refused.code,
            "Message": refused.message,
            "HostId": "dysmsapi.aliyuncs.com",
        }

    async def handle(self, request: Request) -> dict[str, Any]:
        payload = await request.body()
        query = dict(parse_qsl(request.url.query, keep_blank_values=True))
        self._verify(request, query, payload)
        version, action = request.headers["x-acs-version"], request.headers["x-acs-action"]
        if version != aliyun.API_VERSION:
            raise Refused("InvalidVersion", f"Version {version} is not valid.", 400)
        self._check_failures()
        if action == "SendSms":
            numbers = self._required(query, "PhoneNumbers").split(",")
            signs = [self._required(query, "SignName")] * len(numbers)
            params = [self._json(query.get("TemplateParam", "{}"), dict)] * len(numbers)
        elif action == "SendBatchSms":
            numbers = self._json(self._required(query, "PhoneNumberJson"), list)
            signs = self._json(self._required(query, "SignNameJson"), list)
            params = self._json(query.get("TemplateParamJson", "[]"), list) or [{}] * len(numbers)
            if len(numbers) > 100:
                raise Refused("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制")
            if not len(numbers) == len(signs) == len(params):
                raise Refused("isv.INVALID_PARAMETERS", "参数异常: 数组长度不一致")
        else:
            raise Refused("InvalidAction.NotFound", f"Specified api {action} is not found.", 404)
        template = self._required(query, "TemplateCode")
        for number, sign, values in zip(numbers, signs, params, strict=True):
            # The real API refuses the whole request for any one bad number.
            self._check_message(number, sign, template, values)
        biz_id = f"{next(self._biz_ids)}^0"
        for number, sign, values in zip(numbers, signs, params, strict=True):
            self.accepted.append(
                {
                    "action": action,
                    "phone": number,
                    "sign_name": sign,
                    "template_code": template,
                    "params": values,
                    "out_id": query.get("OutId"),
                    "biz_id": biz_id,
                }
            )
        return {"BizId": biz_id}

    def _verify(self, request: Request, query: dict[str, str], payload: bytes) -> None:
        match = self.AUTHORIZATION.match(request.headers.get("authorization", ""))
        if not match:
            raise Refused("IncompleteSignature", "The request signature does not conform.", 400)
        key_id, signed_headers, signature = match.groups()
        if key_id != self.access_key_id:
            raise Refused("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        names = signed_headers.split(";")
        required = {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce"}
        required |= {"x-acs-content-sha256"}
        sent_acs = {name for name in request.headers if name.startswith("x-acs-")}
        if not required <= set(names) or not sent_acs <= set(names):
            raise Refused("IncompleteSignature", "Every x-acs-* header must be signed.", 400)
        if any(name not in request.headers for name in names):
            raise Refused("IncompleteSignature", "A signed header is missing.", 400)
        if request.headers["x-acs-content-sha256"] != sha256_hex(payload):
            raise Refused("SignatureDoesNotMatch", "x-acs-content-sha256 is not the body's.", 400)
        try:
            sent_at = datetime.strptime(request.headers["x-acs-date"], "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            raise Refused("InvalidTimeStamp.Format", "Time stamp is not valid.", 400) from None
        if abs(self.clock() - sent_at.replace(tzinfo=UTC).timestamp()) > self.MAX_SKEW_SECONDS:
            raise Refused("InvalidTimeStamp.Expired", "Specified time stamp has expired.", 400)
        text, _ = canonical_request(
            request.method,
            request.url.path,
            canonical_query(query),
            {name: request.headers[name] for name in names},
            request.headers["x-acs-content-sha256"],
        )
        expected = aliyun.acs3_signature(self.access_key_secret, text)
        if not hmac.compare_digest(expected, signature):
            message = "Specified signature is not matched with our calculation."
            raise Refused("SignatureDoesNotMatch", message, 400)
        nonce = request.headers["x-acs-signature-nonce"]
        if nonce in self._nonces:
            raise Refused("SignatureNonceUsed", "Specified signature nonce was used already.", 400)
        self._nonces.add(nonce)

    def _check_message(self, number: str, sign: str, template: str, values: Any) -> None:
        if not isinstance(values, dict):
            raise Refused("isv.INVALID_JSON_PARAM", "JSON参数不合法")
        refused = self._refusal(number, template, sign)
        if refused:
            raise refused
        if self.templates is not None:
            if template not in self.templates:
                raise self._refused("template_not_approved")
            if any(name not in values for name in self.templates[template]):
                raise Refused("isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值")

    @staticmethod
    def _required(query: dict[str, str], name: str) -> str:
        if not query.get(name):
            raise Refused(f"Missing{name}", f"{name} is mandatory for this action.", 400)
        return query[name]

    @staticmethod
    def _json(text: str, kind: type) -> Any:
        return _parse_json(text, kind, Refused("isv.INVALID_JSON_PARAM", "JSON参数不合法"))


class TencentFake(FakeProvider):
    """SendSms 2021-01-11, TC3-signed. `templates` (optional) names each approved template's
    parameters (their count is what Tencent checks)."""

    reasons: ClassVar[dict[str, tuple[int, str, str]]] = {
        "rate_limited": (
            200,
            "LimitExceeded.PhoneNumberThirtySecondLimit",
            "单个手机号30秒内下发短信条数超过设定的上限",
        ),
        "template_not_approved": (
            200,
            "FailedOperation.TemplateIncorrectOrUnapproved",
            "模板未审批或请求的内容与审核通过的模板内容不匹配",
        ),
        "invalid_number": (200, "InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误"),
        "balance_exhausted": (
            200,
            "FailedOperation.InsufficientBalanceInSmsPackage",
            "套餐包余量不足",
        ),
        "signature_not_approved": (
            200,
            "FailedOperation.SignatureIncorrectOrUnapproved",
            "签名未审批或格式错误",
        ),
        "throttled": (200, "RequestLimitExceeded", "请求的次数超过了频率限制"),
        "busy": (200, "InternalError.Timeout", "请求下发短信超时"),
    }
    AUTHORIZATION = re.compile(
        r"^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([^/]+)/tc3_request, "
        r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$"
    )
    MAX_SKEW_SECONDS = 300
    # Per-number answers go in SendStatusSet; the others refuse the whole request.
    PER_NUMBER = ("rate_limited", "invalid_number")

    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        *,
        templates: dict[str, list[str]] | None = None,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(clock)
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.templates = templates
        self._serials = count(1)

    def answer(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"Response": {**data, "RequestId": str(uuid.uuid4())}}

    def refusal(self, refused: Refused) -> dict[str, Any]:
        error = {"Code": refused.code, "Message": refused.message}
        return {"Response": {"Error": error, "RequestId": str(uuid.uuid4())}}

    async def handle(self, request: Request) -> dict[str, Any]:
        payload = await request.body()
        self._verify(request, payload)
        headers = request.headers
        if headers.get("x-tc-action") != tencent.ACTION:
            raise Refused("InvalidAction", "接口不存在")
        if headers.get("x-tc-version") != tencent.API_VERSION:
            raise Refused("NoSuchVersion", "接口版本不存在")
        if not headers.get("x-tc-region"):
            raise Refused("MissingParameter", "缺少参数 Region")
        if not headers.get("content-type", "").startswith("application/json"):
            raise Refused("InvalidParameter", "Content-Type 须为 application/json")
        self._check_failures()
        body = _parse_json(payload, dict, Refused("InvalidParameter", "请求体不是 JSON 对象"))
        numbers = self._field(body, "PhoneNumberSet", list)
        if len(numbers) > 200:
            raise Refused("LimitExceeded.PhoneNumberCountLimit", "单次请求手机号码数量超过上限200")
        if self._field(body, "SmsSdkAppId", str) != self.sdk_app_id:
            raise Refused("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId不存在")
        template = self._field(body, "TemplateId", str)
        sign = self._field(body, "SignName", str)
        params = body.get("TemplateParamSet", [])
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            raise Refused("InvalidParameter", "TemplateParamSet 须为字符串数组")
        refused = self._refusal(template, sign)
        if refused:
            raise refused
        if self.templates is not None:
            if template not in self.templates:
                raise self._refused("template_not_approved")
            if len(params) != len(self.templates[template]):
                raise Refused(
                    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                    "请求内容与审核通过的模板内容不匹配",
                )
        return {"SendStatusSet": [self._status(n, sign, template, params, body) for n in numbers]}

    def _status(
        self, number: str, sign: str, template: str, params: list[str], body: dict
    ) -> dict[str, Any]:
        status = {"PhoneNumber": number, "SessionContext": body.get("SessionContext", "")}
        reason = self._refusals.get(number.removeprefix("+86"))
        if reason in self.PER_NUMBER:
            _, code, message = self.reasons[reason]
            return {**status, "SerialNo": "", "Fee": 0, "Code": code, "Message": message}
        if reason:
            raise self._refused(reason)
        serial = f"2019:{next(self._serials):020d}"
        self.accepted.append(
            {
                "phone": number,
                "sign_name": sign,
                "template_id": template,
                "params": params,
                "session_context": body.get("SessionContext"),
                "serial_no": serial,
            }
        )
        return {**status, "SerialNo": serial, "Fee": 1, "Code": "Ok", "Message": "send success"}

    def _verify(self, request: Request, payload: bytes) -> None:
        match = self.AUTHORIZATION.match(request.headers.get("authorization", ""))
        if not match:
            raise Refused("AuthFailure.InvalidAuthorization", "Authorization 不符合腾讯云标准")
        secret_id, date, service, signed_headers, signature = match.groups()
        if secret_id != self.secret_id:
            raise Refused("AuthFailure.SecretIdNotFound", "密钥不存在")
        try:
            timestamp = int(request.headers.get("x-tc-timestamp", ""))
        except ValueError:
            raise Refused("MissingParameter", "缺少参数 Timestamp") from None
        if abs(self.clock() - timestamp) > self.MAX_SKEW_SECONDS:
            raise Refused("AuthFailure.SignatureExpire", "签名过期")
        names = signed_headers.split(";")
        if (
            service != tencent.SERVICE
            or date != datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
            or not {"content-type", "host"} <= set(names)
            or any(name not in request.headers for name in names)
        ):
            raise Refused("AuthFailure.SignatureFailure", "签名错误")
        text, _ = canonical_request(
            request.method,
            request.url.path,
            request.url.query,
            {name: request.headers[name] for name in names},
            sha256_hex(payload),
            lower_values=True,
        )
        expected = tencent.tc3_sign(
            secret_id=secret_id,
            secret_key=self.secret_key,
            service=service,
            timestamp=timestamp,
            canonical=text,
            signed_headers=signed_headers,
        )
        if not hmac.compare_digest(expected.rsplit("Signature=", 1)[1], signature):
            raise Refused("AuthFailure.SignatureFailure", "签名错误")

    @staticmethod
    def _field(body: dict, name: str, kind: type) -> Any:
        if name not in body:
            raise Refused("MissingParameter", f"缺少参数 {name}")
        if not isinstance(body[name], kind) or not body[name]:
            raise Refused("InvalidParameter", f"参数 {name} 不合法")
        return body[name]


class WeComFake(FakeProvider):
    """Group robots: the webhook keys it knows, and the real 20-a-minute limit per robot."""

    reasons: ClassVar[dict[str, tuple[int, str, str]]] = {
        "rate_limited": (200, "45009", "api freq out of limit"),
        "busy": (200, "-1", "system busy"),
    }
    paths = ("/cgi-bin/webhook/send",)
    PER_MINUTE = 20

    def __init__(self, keys: set[str], *, clock: Clock = time.time) -> None:
        super().__init__(clock)
        self.keys = keys
        self._sent: dict[str, list[float]] = defaultdict(list)

    async def handle(self, request: Request) -> dict[str, Any]:
        self._send(request.query_params.get("key", ""), await request.body())
        return {}

    def _send(self, key: str, payload: bytes) -> None:
        if key not in self.keys:
            raise Refused("93000", "invalid webhook url")
        self._check_failures()
        body = _parse_json(payload, dict, Refused("40008", "invalid message type"))
        msgtype = body.get("msgtype")
        if msgtype not in ("text", "markdown"):
            raise Refused("40008", "invalid message type")
        content = (body.get(msgtype) or {}).get("content")
        if not content:
            raise Refused("44004", "empty content")
        now = self.clock()
        recent = [t for t in self._sent[key] if now - t < 60]
        if len(recent) >= self.PER_MINUTE:
            raise self._refused("rate_limited")
        self._sent[key] = [*recent, now]
        self.accepted.append({"key": key, "msgtype": msgtype, "content": content})


class WeChatFake(FakeProvider):
    """Official Account: stable access tokens (counted in `token_fetches`; `expire_tokens`
    makes every token so far answer 42001 or 40001), template messages and subscribe
    notifications. `followers`: the openids that follow the account (others get 43004);
    `templates`: the template ids it has (others get 40037)."""

    paths = ("/cgi-bin/message/template/send", "/cgi-bin/message/subscribe/bizsend")
    reasons: ClassVar[dict[str, tuple[int, str, str]]] = {
        "rate_limited": (200, "45009", "reach max api daily quota limit"),
        "template_not_approved": (200, "40037", "invalid template_id"),
        "invalid_number": (200, "40003", "invalid openid"),
        "not_following": (200, "43004", "require subscribe"),
        "refused_subscription": (200, "43101", "user refuse to accept the msg"),
        "busy": (200, "-1", "system error"),
    }

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        *,
        followers: set[str] | None = None,
        templates: set[str] | None = None,
        token_delay: float = 0.0,
    ) -> None:
        super().__init__()
        self.app_id = app_id
        self.app_secret = app_secret
        self.followers = followers
        self.templates = templates
        self.token_delay = token_delay  # seconds a token takes: lets concurrent fetches overlap
        self.token_fetches = 0
        self._tokens: dict[str, str] = {}  # token → "ok", or the errcode it now answers
        self._current: str | None = None

    def expire_tokens(self, errcode: Literal["42001", "40001"] = "42001") -> None:
        for token in self._tokens:
            self._tokens[token] = errcode

    def app(self) -> FastAPI:
        app = super().app()

        @app.post("/cgi-bin/stable_token")
        async def stable_token(request: Request) -> JSONResponse:
            self.token_fetches += 1
            await asyncio.sleep(self.token_delay)
            try:
                return JSONResponse(self._issue(_json_object(await request.body())))
            except Refused as refused:
                return JSONResponse(self.refusal(refused))

        return app

    async def handle(self, request: Request) -> dict[str, Any]:
        token = request.query_params.get("access_token", "")
        kind = "subscribe" if request.url.path.endswith("bizsend") else "template"
        return self._send(kind, token, _json_object(await request.body()))

    def _issue(self, body: dict) -> dict:
        if body.get("grant_type") != "client_credential":
            raise Refused("40002", "invalid grant_type")
        if body.get("appid") != self.app_id:
            raise Refused("40013", "invalid appid")
        if body.get("secret") != self.app_secret:
            raise Refused("40125", "invalid appsecret")
        # Normal mode hands out the token in force; force_refresh, or none in force, mints one.
        if body.get("force_refresh") or self._tokens.get(self._current or "") != "ok":
            self._current = f"token-{len(self._tokens) + 1}-{uuid.uuid4().hex}"
            self._tokens[self._current] = "ok"
        return {"access_token": self._current, "expires_in": 7200}

    def _send(self, kind: str, token: str, body: dict) -> dict:
        if not token:
            raise Refused("41001", "access_token missing")
        state = self._tokens.get(token, "40001")
        if state != "ok":
            message = "access_token expired" if state == "42001" else "invalid credential"
            raise Refused(state, message)
        self._check_failures()
        openid, template, data = body.get("touser"), body.get("template_id"), body.get("data")
        if not isinstance(openid, str) or not openid:
            raise self._refused("invalid_number")
        if not isinstance(template, str) or not template:
            raise self._refused("template_not_approved")
        if not isinstance(data, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("value"), str) for v in data.values()
        ):
            raise Refused("47003", "argument invalid! data.value invalid")
        refused = self._refusal(openid, template)
        if refused:
            raise refused
        if self.templates is not None and template not in self.templates:
            raise self._refused("template_not_approved")
        if kind == "template" and self.followers is not None and openid not in self.followers:
            raise self._refused("not_following")
        msgid = 200000000 + len(self.accepted) + 1
        record = {"kind": kind, "touser": openid, "template_id": template, "data": data}
        self.accepted.append({**record, "page": body.get("page"), "msgid": msgid})
        return {"msgid": msgid}


def _parse_json(text: str | bytes, kind: type, refused: Refused) -> Any:
    """The JSON value of `text` if it is a `kind`, else the provider's refusal."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, kind):
        raise refused
    return value


def _json_object(payload: bytes) -> dict[str, Any]:
    return _parse_json(payload, dict, Refused("47001", "data format error"))
