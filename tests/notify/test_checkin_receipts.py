"""A check-in in attendance becomes one receipt message in notify, through the real NATS."""

import asyncio

from services.common.testing import count_rows, eventually
from tests.attendance.factories import checkin_body, post_checkin


async def messages_for(notify, cadre_id: str) -> list[dict]:
    response = await notify.get("/api/v1/notify/messages", params={"recipient_id": cadre_id})
    return response.json()["items"]


async def test_a_checkin_is_acknowledged_by_one_message(attendance, notify, issuer):
    body = checkin_body(client_time="2026-11-23T07:58:00+08:00")
    await post_checkin(attendance, issuer, body)

    [message] = await eventually(
        lambda: messages_for(notify, body["cadre_id"]),
        lambda found: bool(found) and found[0]["status"] == "sent",
    )

    assert message["template"] == "checkin_receipt"
    assert message["channel"] == "console"
    assert message["status"] == "sent"
    assert message["region_code"] == body["region_code"]
    assert "2026-11-23 07:58" in message["body"]


async def test_a_resent_checkin_is_acknowledged_once(attendance, notify, notify_db, issuer):
    body = checkin_body()
    for _ in range(3):
        await post_checkin(attendance, issuer, body)
    other = checkin_body()
    await post_checkin(attendance, issuer, other)

    # The other check-in's message arriving shows the relay and consumer have caught up.
    await eventually(lambda: messages_for(notify, other["cadre_id"]), bool)
    await asyncio.sleep(0.5)
    assert len(await messages_for(notify, body["cadre_id"])) == 1
    assert await count_rows(notify_db, "message") == 2
