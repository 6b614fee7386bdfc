"""Events households handles (none yet)."""

from services.common.consumer import Handler

HANDLERS: list[Handler] = []
