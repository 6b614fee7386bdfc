from fastapi import APIRouter

# The households routes come with the households issue; the kernel adds dead letters and job runs.
router = APIRouter(tags=["households"])
