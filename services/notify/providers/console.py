"""The console channel: a message written to the log. The default for `make run` and the
demo, so a new user sees messages without any provider account."""

import logging

from services.notify.providers.base import Outcome, Outgoing

log = logging.getLogger("zhucun.notify.console")


class ConsoleProvider:
    name = "console"
    channel = "console"
    max_batch = 500
    rate_per_second = 1000.0

    async def send(self, batch: list[Outgoing]) -> list[Outcome]:
        for out in batch:
            log.info(
                "message to %s: %s",
                out.address,
                out.body,
                extra={"message_id": str(out.message_id)},
            )
        return [Outcome("sent", provider_message_id=str(out.message_id)) for out in batch]

    async def close(self) -> None:
        return None
