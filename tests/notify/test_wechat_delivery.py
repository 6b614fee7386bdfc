"""An alert by WeChat Official Account template message, through the real adapter to a fake
WeChat; WeChat's signed pushes: the send result as a receipt, an unfollow clears the openid,
the server URL check; an unsigned or mis-signed push changes nothing."""

import time
from typing import Any
from uuid import uuid4

from services.common.testing import count_rows, eventually, listening
from services.notify.app import create_app
from services.notify.providers.wechat import push_signature
from services.notify.settings import NotifySettings
from tests.common.events import publish
from tests.conftest import NOTIFY_FAST, client_of
from tests.notify.factories import absence_event, add_contact, messages, settled, sql
from tests.notify.providers.fakes import WeChatFake

OPENID = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"
SERVER_TOKEN = "wechat-server-token"


async def by_wechat(db: str) -> None:
    """The county alerts absences by WeChat, with the template its account was given."""
    await sql(
        db,
        "INSERT INTO template (id, code, channel, purpose, name, body, variables,"
        " provider_template_code, created_at, updated_at) VALUES (gen_random_uuid(),"
        " 'absence_alert', 'wechat', 'attendance.absence.detected', '连续缺勤提醒',"
        " '{{ cadre_name }}已连续{{ days }}天不在村', '{cadre_name,days}', 'TPL-ABSENCE',"
        " now(), now())",
    )
    await sql(
        db,
        "UPDATE alert_route SET channels = '{wechat}'"
        " WHERE event_type = 'attendance.absence.detected'",
    )


def signed(**extra: Any) -> dict[str, Any]:
    timestamp, nonce = str(int(time.time())), uuid4().hex[:10]
    return {
        "timestamp": timestamp,
        "nonce": nonce,
        "signature": push_signature(SERVER_TOKEN, timestamp, nonce),
        **extra,
    }


def push(event: str, **fields: str) -> bytes:
    inner = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return (
        f"<xml><ToUserName><![CDATA[gh_county]]></ToUserName><FromUserName><![CDATA[{OPENID}]]>"
        f"</FromUserName><CreateTime>1733299200</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>{inner}</xml>"
    ).encode()


async def test_an_alert_by_wechat_is_sent_receipted_and_an_unfollow_ends_the_channel(
    notify_db, nats_url, issuer
):
    await by_wechat(notify_db)
    leader = await add_contact(notify_db, phone=None, wechat_openid=OPENID)
    fake = WeChatFake("wx-county", "app-secret", followers={OPENID}, templates={"TPL-ABSENCE"})
    async with listening(fake.app()) as url:
        settings = {
            **NOTIFY_FAST,
            "wechat_provider": "wechat",
            "wechat": {
                "app_id": "wx-county",
                "app_secret": "app-secret",
                "endpoint": url,
                "server_token": SERVER_TOKEN,
            },
        }
        async with client_of(
            create_app, NotifySettings, notify_db, nats_url, issuer, **settings
        ) as notify:
            event = absence_event(
                contact_leader_id=leader, branch_secretary_id=None, unit_code=None
            )
            await publish(nats_url, event)
            [message] = await eventually(lambda: messages(notify, event_id=str(event.id)), settled)
            assert message["status"] == "sent"
            [sent] = fake.accepted
            assert sent["touser"] == OPENID
            assert sent["template_id"] == "TPL-ABSENCE"
            assert sent["data"]["days"] == {"value": "3"}

            path = "/api/v1/notify/callbacks/wechat"
            result = push("TEMPLATESENDJOBFINISH", MsgID=str(sent["msgid"]), Status="success")
            forged = await notify.post(
                path, params={**signed(), "signature": "0" * 40}, content=result
            )
            assert forged.status_code == 401
            assert forged.json()["code"] == "callback_signature_invalid"
            answered = await notify.post(path, params=signed(), content=result)
            assert (answered.status_code, answered.text) == (200, "success")
            one = await notify.get(f"/api/v1/notify/messages/{message['id']}")
            assert one.json()["status"] == "delivered"

            check = await notify.get(path, params=signed(echostr="echo-1234"))
            assert (check.status_code, check.text) == (200, "echo-1234")
            garbled = await notify.post(path, params=signed(), content=b"not xml")
            assert garbled.status_code == 422

            left = await notify.post(path, params=signed(), content=push("unsubscribe"))
            assert left.status_code == 200
    assert await count_rows(notify_db, "contact", "wechat_openid IS NOT NULL") == 0
