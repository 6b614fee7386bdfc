"""The consumer runner on a real JetStream: exactly once in effect, dead letters, replay."""

import asyncio
import contextlib
from zoneinfo import ZoneInfo

from services.common.consumer import ConsumerRunner, Handler, apply
from services.common.contracts.attendance import CheckinRecorded
from services.common.db import Database
from services.common.kernel import create_service_app
from services.common.messaging import Messaging
from services.common.sensitive import SensitiveData
from services.common.settings import DEV_DATA_KEY, DEV_HASH_KEY
from services.common.testing import FAST_SETTINGS, count_rows, eventually, serving
from services.notify.consumers import handlers
from services.notify.delivery import api as notify_api
from services.notify.settings import NotifySettings
from tests.common.events import checkin_event, publish

# notify's check-in receipts: a handler whose effect is one message row per event
RECEIPTS = next(
    h
    for h in handlers(
        SensitiveData([DEV_DATA_KEY], DEV_HASH_KEY),
        ZoneInfo("Asia/Shanghai"),
        {"console": "console"},
    )
    if h.event_type == CheckinRecorded.type
)
on_checkin_recorded = RECEIPTS.handle


@contextlib.asynccontextmanager
async def runner_for(db_url: str, nats_url: str, handler: Handler, **options):
    db = Database(db_url, pool_size=2)
    messaging = Messaging(nats_url, name="test")
    await messaging.connect()
    runner = ConsumerRunner("notify", db, messaging, [handler], fetch_timeout=0.3, **options)
    task = asyncio.create_task(runner.run())
    try:
        yield runner
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await messaging.close()
        await db.dispose()


async def test_a_redelivered_event_has_one_effect(notify_db, nats_url):
    """Crash after the effect committed, before the ack: the redelivery changes nothing."""
    event = checkin_event()
    await publish(nats_url, event)
    db = Database(notify_db, pool_size=2)
    crashed = Messaging(nats_url, name="crashed")
    await crashed.connect()
    runner = ConsumerRunner("notify", db, crashed, [RECEIPTS], ack_wait=1.0)
    subscription = await runner._subscribe(RECEIPTS)
    [_delivered] = await subscription.fetch(1, timeout=5)
    async with db.transaction() as session:
        await apply(session, runner.consumer_name(RECEIPTS), RECEIPTS, event)
    await crashed.close()  # gone without acking: JetStream redelivers after ack_wait
    await db.dispose()

    async with runner_for(notify_db, nats_url, RECEIPTS, ack_wait=1.0) as live:
        js = live.messaging.js

        async def consumer():
            return await js.consumer_info("ATTENDANCE", "notify-checkin-recorded")

        info = await eventually(
            consumer, lambda i: i.num_ack_pending == 0 and i.delivered.consumer_seq == 2
        )

    assert info.ack_floor.stream_seq == 1  # the one event, delivered twice, acked once
    assert await count_rows(notify_db, "message") == 1
    assert await count_rows(notify_db, "inbox") == 1


async def test_the_same_event_published_twice_has_one_effect(notify_db, nats_url):
    """Past the stream's duplicate window an event can arrive twice; the inbox absorbs it."""
    event = checkin_event()
    await publish(nats_url, event, msg_id="first")
    await publish(nats_url, event, msg_id="second")
    other = checkin_event()
    await publish(nats_url, other)

    async with runner_for(notify_db, nats_url, RECEIPTS):
        await eventually(lambda: count_rows(notify_db, "inbox"), lambda n: n == 2)
        await asyncio.sleep(0.3)

    assert await count_rows(notify_db, "message") == 2
    assert await count_rows(notify_db, "message", "event_id = $1", event.id) == 1


async def test_a_poison_message_ends_in_dead_letter_and_replays_once_fixed(
    notify_db, nats_url, issuer
):
    provider = {"down": True, "attempts": 0}

    async def flaky(session, event):
        provider["attempts"] += 1
        if provider["down"]:
            raise RuntimeError("SMS gateway down")
        await on_checkin_recorded(session, event)

    settings = NotifySettings(
        database_url=notify_db,
        nats_url=nats_url,
        auth_jwks_url=issuer.url,
        consumer_max_deliveries=3,
        **FAST_SETTINGS,
    )
    app = create_service_app(
        settings,
        title="notify",
        description="notify with a provider that is down",
        routers=[notify_api.router],
        handlers=[Handler(RECEIPTS.name, RECEIPTS.event_type, flaky)],
    )
    event = checkin_event()
    async with serving(app) as notify:
        forbidden = await notify.get(
            "/api/v1/notify/dead-letters", headers=issuer.headers("first_secretary")
        )
        assert (forbidden.status_code, forbidden.json()["code"]) == (403, "permission_denied")
        notify.headers.update(issuer.headers("county_admin"))  # an operator from here on
        await publish(nats_url, event)
        letters = await eventually(
            lambda: notify.get("/api/v1/notify/dead-letters"),
            lambda r: len(r.json()["items"]) == 1,
        )
        [letter] = letters.json()["items"]
        assert letter["event_id"] == str(event.id)
        assert letter["consumer"] == "notify-checkin-recorded"
        assert letter["deliveries"] == 3
        assert "SMS gateway down" in letter["error"]
        assert provider["attempts"] == 3
        assert await count_rows(notify_db, "message") == 0

        still_down = await notify.post(f"/api/v1/notify/dead-letters/{letter['id']}/replay")
        assert (still_down.status_code, still_down.json()["code"]) == (409, "replay_failed")
        assert await count_rows(notify_db, "message") == 0

        provider["down"] = False
        replayed = await notify.post(f"/api/v1/notify/dead-letters/{letter['id']}/replay")
        again = await notify.post(f"/api/v1/notify/dead-letters/{letter['id']}/replay")

        assert replayed.status_code == 200
        assert replayed.json()["replayed_at"] is not None
        assert (again.status_code, again.json()["code"]) == (409, "already_replayed")
        assert await count_rows(notify_db, "message", "event_id = $1", event.id) == 1
        pending = await notify.get("/api/v1/notify/dead-letters", params={"replayed": "false"})
        assert pending.json()["items"] == []
        audited = await notify.get(
            "/api/v1/notify/audit-entries", params={"action": "operations.dead_letter.replayed"}
        )
        [entry] = audited.json()["items"]  # the failed replay changed nothing, so left none
        assert entry["target"] == letter["id"]
        assert entry["route"] == "POST /api/v1/notify/dead-letters/{dead_letter_id}/replay"
        assert entry["region_code"] == event.regioncode


async def test_an_event_that_is_not_an_event_is_dead_lettered_at_once(notify_db, nats_url):
    event = checkin_event()
    await publish(nats_url, event, raw=b"{not json")

    async with runner_for(notify_db, nats_url, RECEIPTS):
        await eventually(lambda: count_rows(notify_db, "dead_letter"), lambda n: n == 1)

    assert await count_rows(notify_db, "message") == 0


async def test_one_bad_event_in_a_batch_holds_back_only_itself(notify_db, nats_url):
    events = [checkin_event() for _ in range(6)]
    poison = events[2]

    async def picky(session, event):
        if event.id == poison.id:
            raise ValueError("cannot render this one")
        await on_checkin_recorded(session, event)

    for event in events:
        await publish(nats_url, event)
    handler = Handler(RECEIPTS.name, RECEIPTS.event_type, picky)
    async with runner_for(notify_db, nats_url, handler, batch=10, max_deliveries=2, backoff=(0.1,)):
        await eventually(lambda: count_rows(notify_db, "dead_letter"), lambda n: n == 1)

    assert await count_rows(notify_db, "message") == 5
    assert await count_rows(notify_db, "message", "event_id = $1", poison.id) == 0
    assert await count_rows(notify_db, "dead_letter", "event_id = $1", poison.id) == 1


async def test_a_payload_that_breaks_its_contract_is_dead_lettered_without_retries(
    notify_db, nats_url
):
    event = checkin_event()
    broken = event.model_copy(update={"data": {"checkin_id": "not-a-uuid"}})
    await publish(nats_url, broken)

    async with runner_for(notify_db, nats_url, RECEIPTS, max_deliveries=5):
        await eventually(lambda: count_rows(notify_db, "dead_letter"), lambda n: n == 1)

    assert await count_rows(notify_db, "dead_letter", "deliveries = 1") == 1
    assert await count_rows(notify_db, "message") == 0
