"""Attendance's periodic jobs, run in this order each tick: a month is evaluated after its
last day was."""

from services.attendance.days.jobs import DAILY, MONTHLY
from services.common.jobs import Job

JOBS: list[Job] = [DAILY, MONTHLY]
