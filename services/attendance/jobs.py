"""Attendance's periodic jobs (the daily absence evaluation comes with the attendance issue)."""

from services.common.jobs import Job

JOBS: list[Job] = []
