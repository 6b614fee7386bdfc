"""WeCom group robot (企业微信群机器人): a text or markdown message posted to a group's webhook.
The Outgoing's address is the robot's webhook key; the key is a credential, never logged."""

import dataclasses

from pydantic import BaseModel

from services.notify.providers._http import HttpAdapter, errcode_outcome, request_json
from services.notify.providers.base import Outcome, Outgoing

TEMPORARY = ("45009", "-1")  # 45009: over 20 messages a minute for this robot; -1: busy
PERMANENT = ("93000", "40008", "44004")  # bad webhook key, bad message type, empty content
LIMIT_WINDOW_SECONDS = 60.0  # the robot's limit counts messages per minute


class WeComConfig(BaseModel):
    endpoint: str = "https://qyapi.weixin.qq.com"
    timeout_seconds: float = 10.0


class WeComRobotProvider(HttpAdapter):
    name = "wecom"
    channel = "wecom"
    max_batch = 1
    rate_per_second = 20 / LIMIT_WINDOW_SECONDS  # each robot takes 20 messages a minute

    def __init__(self, config: WeComConfig | None = None) -> None:
        self.config = config or WeComConfig()
        super().__init__(self.config.endpoint, self.config.timeout_seconds)

    async def send(self, batch: list[Outgoing]) -> list[Outcome]:
        return [await self._send_one(out) for out in batch]

    async def _send_one(self, out: Outgoing) -> Outcome:
        # template_code "markdown" asks for WeCom's markdown; anything else is plain text.
        msgtype = "markdown" if out.template_code == "markdown" else "text"
        answer = await request_json(
            self._client,
            "POST",
            f"{self._endpoint}/cgi-bin/webhook/send",
            params={"key": out.address},
            json={"msgtype": msgtype, msgtype: {"content": out.body}},
        )
        if isinstance(answer, Outcome):
            return answer
        outcome = errcode_outcome(answer[1], permanent=PERMANENT, temporary=TEMPORARY)
        if outcome.code == "45009":
            return dataclasses.replace(outcome, retry_after=LIMIT_WINDOW_SECONDS)
        return outcome
