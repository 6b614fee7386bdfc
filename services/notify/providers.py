"""Channels a message can leave by. `console` writes it to the log (development, the demo);
SMS and WeChat adapters come with the notify issue."""

import logging

from services.notify.models import Message

log = logging.getLogger("zhucun.notify.console")


class ConsoleProvider:
    channel = "console"

    async def send(self, message: Message) -> None:
        log.info(
            "message to %s: %s",
            message.recipient_id,
            message.body,
            extra={"message_id": str(message.id), "template": message.template},
        )
