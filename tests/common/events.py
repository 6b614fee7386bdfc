"""Building and publishing real events for the kernel's tests."""

from datetime import UTC, datetime
from uuid import uuid4

import nats

from services.common.contracts.attendance import CheckinRecorded
from services.common.events import Event, make_event
from services.common.messaging import ensure_streams


def checkin_event(**overrides) -> Event:
    data = {
        "checkin_id": uuid4(),
        "cadre_id": uuid4(),
        "region_code": "511529100201",
        "kind": "checkin",
        "client_time": datetime.now(UTC),
        "recorded_at": datetime.now(UTC),
        **overrides,
    }
    return make_event(
        CheckinRecorded(**data),
        source="/tests",
        subject=data["checkin_id"],
        region_code=data["region_code"],
    )


async def publish(url: str, event: Event, *, msg_id: str | None = None, raw: bytes | None = None):
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        await js.publish(
            event.type,
            raw if raw is not None else event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": msg_id or str(event.id)},
        )
    finally:
        await nc.close()
