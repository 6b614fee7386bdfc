from functools import partial
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from services.common.kernel import create_service_app
from services.common.sensitive import SensitiveData
from services.notify import consumers, jobs
from services.notify.campaigns import api as campaigns_api
from services.notify.campaigns.service import finish_done, start_due
from services.notify.delivery import api as delivery_api
from services.notify.delivery.dispatcher import Dispatcher
from services.notify.festivals import api as festivals_api
from services.notify.providers.console import ConsoleProvider
from services.notify.settings import NotifySettings
from services.notify.state import Notify


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    vault = SensitiveData(settings.data_keys, settings.hash_key)
    console = ConsoleProvider()
    providers = {"sms": console, "wechat": console, "wecom": console, "console": console}
    names = {channel: provider.name for channel, provider in providers.items()}
    app = create_service_app(
        settings,
        title="Zhucun notify 通知",
        description="Messages to cadres and villagers: alerts, receipts and festival greetings.",
        routers=[delivery_api.router, festivals_api.router, campaigns_api.router],
        handlers=consumers.handlers(vault, ZoneInfo(settings.timezone), names),
        jobs=jobs.JOBS,
    )
    kernel = app.state.kernel
    dispatcher = Dispatcher(
        kernel.db,
        vault,
        providers,
        timezone=settings.timezone,
        quiet_starts=settings.quiet_starts,
        quiet_ends=settings.quiet_ends,
        max_attempts=settings.send_max_attempts,
        backoff=settings.send_backoff_seconds,
        lease_seconds=settings.send_lease_seconds,
        poll_seconds=settings.dispatch_poll_seconds,
        # Campaigns start at their time and complete when nothing is left to send.
        housekeeping=[
            partial(start_due, providers=names, timezone=ZoneInfo(settings.timezone)),
            finish_done,
        ],
    )
    if settings.dispatch_enabled:
        kernel.on_start.append(dispatcher.start)
        kernel.on_stop.append(dispatcher.stop)
    app.state.notify = Notify(settings, vault, names)
    app.state.dispatcher = dispatcher
    return app
