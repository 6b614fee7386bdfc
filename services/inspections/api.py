from fastapi import APIRouter

# The inspections routes come with the inspections issue; the kernel adds dead letters and job runs.
router = APIRouter(tags=["inspections"])
