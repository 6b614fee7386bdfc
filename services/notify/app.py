from functools import partial
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from services.common.kernel import create_service_app
from services.common.sensitive import SensitiveData
from services.notify import consumers
from services.notify.alerts import api as alerts_api
from services.notify.campaigns import api as campaigns_api
from services.notify.campaigns.service import finish_done, start_due
from services.notify.contacts import api as contacts_api
from services.notify.delivery import api as delivery_api
from services.notify.delivery import callbacks
from services.notify.delivery.dispatcher import Dispatcher
from services.notify.festivals import api as festivals_api
from services.notify.providers.aliyun import AliyunSmsProvider
from services.notify.providers.base import Provider
from services.notify.providers.console import ConsoleProvider
from services.notify.providers.tencent import TencentSmsProvider
from services.notify.providers.wechat import WeChatProvider
from services.notify.providers.wecom import WeComRobotProvider
from services.notify.settings import NotifySettings
from services.notify.state import Notify
from services.notify.templates import api as templates_api


def channels(settings: NotifySettings) -> dict[str, Provider]:
    """The provider each channel leaves by, as settings choose (the console by default)."""
    console = ConsoleProvider()
    chosen: dict[str, Provider] = {"console": console}
    if settings.sms_provider == "aliyun" and settings.aliyun:
        chosen["sms"] = AliyunSmsProvider(settings.aliyun)
    elif settings.sms_provider == "tencent" and settings.tencent:
        chosen["sms"] = TencentSmsProvider(settings.tencent)
    if settings.wechat_provider == "wechat" and settings.wechat:
        chosen["wechat"] = WeChatProvider(settings.wechat)
    if settings.wecom_provider == "wecom":
        chosen["wecom"] = WeComRobotProvider(settings.wecom)
    return {channel: chosen.get(channel, console) for channel in ("sms", "wechat", "wecom")} | {
        "console": console
    }


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    settings.check_serving()
    vault = SensitiveData(settings.data_keys, settings.hash_key)
    providers = channels(settings)
    names = {channel: provider.name for channel, provider in providers.items()}
    app = create_service_app(
        settings,
        title="Zhucun notify 通知",
        description="Messages to cadres and villagers: alerts, receipts and festival greetings.",
        routers=[
            delivery_api.router,
            callbacks.router,
            festivals_api.router,
            templates_api.router,
            alerts_api.router,
            contacts_api.router,
            campaigns_api.router,
        ],
        handlers=consumers.handlers(vault, ZoneInfo(settings.timezone), names),
        body_limits={contacts_api.CONTACT_LISTS: contacts_api.body_limit()},
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
