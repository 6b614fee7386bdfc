from fastapi import FastAPI

from services.common.kernel import create_service_app
from services.inspections import api, consumers, jobs
from services.inspections.settings import InspectionsSettings


def create_app(settings: InspectionsSettings | None = None) -> FastAPI:
    return create_service_app(
        settings or InspectionsSettings(),
        title="Zhucun inspections 督查",
        description="Inspections, findings, rectification and notices.",
        routers=[api.router],
        handlers=consumers.HANDLERS,
        jobs=jobs.JOBS,
    )
