from fastapi import FastAPI

from services.attendance import api, consumers, jobs
from services.attendance.photos import api as photos_api
from services.attendance.roster import api as roster_api
from services.attendance.settings import AttendanceSettings
from services.common.kernel import create_service_app


def create_app(settings: AttendanceSettings | None = None) -> FastAPI:
    settings = settings or AttendanceSettings()
    return create_service_app(
        settings,
        title="Zhucun attendance 考勤",
        description="Check-ins, days in the village, leave and spot checks of stationed cadres.",
        routers=[api.router, roster_api.router, photos_api.router],
        handlers=consumers.HANDLERS,
        jobs=jobs.JOBS,
        body_limits={photos_api.PHOTOS: photos_api.body_limit(settings.photo_max_bytes)},
    )
