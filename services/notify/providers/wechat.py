"""WeChat Official Account messages (微信公众号): template messages (模板消息) or subscribe
notifications (订阅通知), one kind per adapter (`WeChatConfig.kind`); the Outgoing's address
is the recipient's openid, its template_code the template id, its params the template's data.

The access token comes from the stable-token API (getStableAccessToken, POST
/cgi-bin/stable_token), which WeChat now recommends over GET /cgi-bin/token: in its normal
mode a call returns the token still in force instead of minting one, so another service or
process of ours that shares the app id does not invalidate our token (as each GET /token call
does to the one before), and it is allowed far more calls. One token is cached until shortly
before it expires, fetched by one coroutine at a time, and fetched again (once) when an API
says it is invalid or expired.
"""

import asyncio
import hashlib
import time
from typing import Any, Literal
from xml.etree import ElementTree

from pydantic import BaseModel, SecretStr

from services.notify.providers._http import Clock, HttpAdapter, errcode_outcome, request_json
from services.notify.providers.base import Outcome, Outgoing, Receipt

# 40001 invalid, 42001 expired, 40014 not a token: fetch a fresh one and try once more.
STALE_TOKEN = ("40001", "42001", "40014")
TEMPORARY = ("45009", "-1", *STALE_TOKEN)  # 45009: the API's quota; -1: busy
# Not following the account, refused the subscription, no such template, no such openid,
# bad data: trying again changes nothing.
PERMANENT = ("43004", "43101", "40037", "40003", "47003", "47001")
# A wrong app id or secret, or our IP not on the account's allow-list, when fetching a token.
TOKEN_PERMANENT = ("40013", "40125", "40164", "41002", "41004")
TOKEN_MARGIN_SECONDS = 300.0  # WeChat renews a stable token 5 minutes before it expires


class WeChatConfig(BaseModel):
    app_id: str
    app_secret: SecretStr
    kind: Literal["template", "subscribe"] = "template"
    subscribe_page: str | None = None  # where a subscribe notification opens, if anywhere
    endpoint: str = "https://api.weixin.qq.com"
    timeout_seconds: float = 10.0
    rate_per_second: float = 50.0
    # The Token set in the account's server configuration (服务器配置): WeChat signs each push
    # to our server with it (send results, unfollows); without it pushes are refused.
    server_token: SecretStr | None = None


def push_signature(token: str, timestamp: str, nonce: str) -> str:
    """The signature WeChat puts on a push: SHA-1 of token, timestamp and nonce, sorted and
    joined (消息推送 / 接入指南)."""
    return hashlib.sha1("".join(sorted((token, timestamp, nonce))).encode()).hexdigest()


def parse_push(body: bytes) -> tuple[list[Receipt], list[str]]:
    """A push's XML: a template message's send result (TEMPLATESENDJOBFINISH, Status
    `success` or `failed:…`) as a receipt, and the openid of a follower who left
    (`unsubscribe`). Any other push reads as neither."""
    root = ElementTree.fromstring(body)
    if root.tag != "xml":
        raise ValueError("not a WeChat push")
    event = (root.findtext("Event") or "").strip()
    openid = (root.findtext("FromUserName") or "").strip()
    if event == "TEMPLATESENDJOBFINISH":
        status = (root.findtext("Status") or "").strip()
        receipt = Receipt(
            provider_message_id=(root.findtext("MsgID") or "").strip(),
            address=openid,
            delivered=status == "success",
            code=None if status == "success" else status,
        )
        return [receipt], []
    if event == "unsubscribe":
        return [], [openid]
    return [], []


class WeChatProvider(HttpAdapter):
    name = "wechat"
    channel = "wechat"
    max_batch = 1  # one openid per call

    def __init__(self, config: WeChatConfig, *, clock: Clock = time.monotonic) -> None:
        super().__init__(config.endpoint, config.timeout_seconds)
        self.config = config
        self.rate_per_second = config.rate_per_second
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    async def send(self, batch: list[Outgoing]) -> list[Outcome]:
        return [await self._send_one(out) for out in batch]

    async def _send_one(self, out: Outgoing) -> Outcome:
        token = await self._access_token()
        if isinstance(token, Outcome):
            return token
        answer = await self._post(out, token)
        if not isinstance(answer, Outcome) and str(answer.get("errcode")) in STALE_TOKEN:
            token = await self._access_token(stale=token)
            if isinstance(token, Outcome):
                return token
            answer = await self._post(out, token)
        if isinstance(answer, Outcome):
            return answer
        return errcode_outcome(answer, permanent=PERMANENT, temporary=TEMPORARY)

    async def _post(self, out: Outgoing, token: str) -> dict[str, Any] | Outcome:
        message: dict[str, Any] = {
            "touser": out.address,
            "template_id": out.template_code,
            "data": {name: {"value": value} for name, value in out.params.items()},
        }
        if self.config.kind == "subscribe":
            path = "/cgi-bin/message/subscribe/bizsend"
            if self.config.subscribe_page:
                message["page"] = self.config.subscribe_page
        else:
            path = "/cgi-bin/message/template/send"
        answer = await request_json(
            self._client,
            "POST",
            f"{self._endpoint}{path}",
            params={"access_token": token},
            json=message,
        )
        return answer if isinstance(answer, Outcome) else answer[1]

    async def _access_token(self, stale: str | None = None) -> str | Outcome:
        """The cached token, or a fresh one if it is near its end or is `stale` (the one an
        API just refused; if another coroutine has replaced it meanwhile, that one is used)."""
        async with self._lock:
            if self._token and self._token != stale and self._clock() < self._expires_at:
                return self._token
            answer = await request_json(
                self._client,
                "POST",
                f"{self._endpoint}/cgi-bin/stable_token",
                json={
                    "grant_type": "client_credential",
                    "appid": self.config.app_id,
                    "secret": self.config.app_secret.get_secret_value(),
                },
            )
            if isinstance(answer, Outcome):
                return answer
            body = answer[1]
            if not body.get("access_token"):
                return errcode_outcome(body, permanent=TOKEN_PERMANENT, temporary=TEMPORARY)
            expires_in = float(body.get("expires_in", 7200))
            self._token = str(body["access_token"])
            margin = min(TOKEN_MARGIN_SECONDS, expires_in / 2)
            self._expires_at = self._clock() + expires_in - margin
            return self._token
