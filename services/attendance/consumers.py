"""Events attendance handles (none yet: the roster will follow identity's user events)."""

from services.common.consumer import Handler

HANDLERS: list[Handler] = []
