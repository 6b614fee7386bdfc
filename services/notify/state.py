"""What notify's routes share (set on the app by create_app): a route's dependency."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.common.sensitive import SensitiveData
from services.notify.settings import NotifySettings


@dataclass(frozen=True)
class Notify:
    """Notify's settings, the data keys (phones) and the provider of each channel."""

    settings: NotifySettings
    vault: SensitiveData
    providers: dict[str, str]  # channel -> provider name


async def _notify(request: Request) -> Notify:
    return request.app.state.notify


NotifyContext = Annotated[Notify, Depends(_notify)]
