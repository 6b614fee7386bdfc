from fastapi import FastAPI

from services.attendance import api, consumers, jobs
from services.attendance.days import api as days_api
from services.attendance.leave import api as leave_api
from services.attendance.photos import api as photos_api
from services.attendance.reports import api as reports_api
from services.attendance.roster import api as roster_api
from services.attendance.settings import AttendanceSettings
from services.attendance.supervision import api as supervision_api
from services.common.kernel import create_service_app


def create_app(settings: AttendanceSettings | None = None) -> FastAPI:
    settings = settings or AttendanceSettings()
    return create_service_app(
        settings,
        title="Zhucun attendance 考勤",
        description="Check-ins, days in the village, leave and spot checks of stationed cadres.",
        routers=[
            api.router,
            roster_api.router,
            leave_api.router,
            days_api.router,
            reports_api.router,
            supervision_api.router,
            photos_api.router,
        ],
        handlers=consumers.HANDLERS,
        jobs=jobs.JOBS,
        body_limits={photos_api.PHOTOS: photos_api.body_limit(settings.photo_max_bytes)},
    )
