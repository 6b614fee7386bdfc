"""Who reads which messages: a township officer their township's, a cadre only their own."""

import uuid

from tests.notify.factories import MESSAGES, queued_message


async def message_to(db: str, recipient: uuid.UUID, region_code: str) -> str:
    """An alert by SMS, already sent, to `recipient` in `region_code`; its id."""
    sent = await queued_message(
        db, recipient, priority="alert", status="sent", channel="sms", region_code=region_code
    )
    return str(sent)


async def test_a_township_officer_reads_their_townships_messages_only(notify, notify_db, issuer):
    jinping = await message_to(notify_db, uuid.uuid4(), "511529100201")
    elsewhere = await message_to(notify_db, uuid.uuid4(), "511529200201")
    officer = issuer.headers("township_officer", region_code="511529100000")

    listed = await notify.get(MESSAGES, headers=officer)
    other = await notify.get(f"{MESSAGES}/{elsewhere}", headers=officer)

    assert [m["id"] for m in listed.json()["items"]] == [jinping]
    assert (other.status_code, other.json()["code"]) == (404, "message_not_found")


async def test_a_cadre_reads_their_own_messages_not_their_colleagues(notify, notify_db, issuer):
    me, colleague = uuid.uuid4(), uuid.uuid4()
    mine = await message_to(notify_db, me, "511529100201")
    theirs = await message_to(notify_db, colleague, "511529100201")
    cadre = issuer.headers("team_member", region_code="511529100201", user_id=me)

    listed = await notify.get(MESSAGES, headers=cadre)
    about_them = await notify.get(f"{MESSAGES}/{theirs}", headers=cadre)
    by_filter = await notify.get(MESSAGES, params={"recipient_id": str(colleague)}, headers=cadre)

    assert [m["id"] for m in listed.json()["items"]] == [mine]
    assert about_them.status_code == 404
    assert by_filter.json()["items"] == []
