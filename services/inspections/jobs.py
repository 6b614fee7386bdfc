"""Inspections's periodic jobs (none yet)."""

from services.common.jobs import Job

JOBS: list[Job] = []
