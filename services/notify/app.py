from fastapi import FastAPI

from services.common.kernel import create_service_app
from services.notify import api, consumers, jobs
from services.notify.festivals import api as festivals_api
from services.notify.settings import NotifySettings


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    return create_service_app(
        settings or NotifySettings(),
        title="Zhucun notify 通知",
        description="Messages to cadres and villagers: alerts, receipts and festival greetings.",
        routers=[api.router, festivals_api.router],
        handlers=consumers.HANDLERS,
        jobs=jobs.JOBS,
    )
