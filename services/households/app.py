from fastapi import FastAPI

from services.common.kernel import create_service_app
from services.households import api, consumers, jobs
from services.households.settings import HouseholdsSettings


def create_app(settings: HouseholdsSettings | None = None) -> FastAPI:
    return create_service_app(
        settings or HouseholdsSettings(),
        title="Zhucun households 帮扶户",
        description="Households, their plans, visits and requests.",
        routers=[api.router],
        handlers=consumers.HANDLERS,
        jobs=jobs.JOBS,
    )
