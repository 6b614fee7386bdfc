"""Notify's periodic jobs (festival campaigns come with the notify issue)."""

from services.common.jobs import Job

JOBS: list[Job] = []
