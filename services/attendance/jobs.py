"""Attendance's periodic jobs, run in this order each tick: a month is evaluated after its
last day was, a year after its last month."""

from services.attendance.days.jobs import DAILY, MONTHLY, YEARLY
from services.common.jobs import Job

JOBS: list[Job] = [DAILY, MONTHLY, YEARLY]
