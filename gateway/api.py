from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from gateway import openapi, service
from gateway.schemas import Level, RegionPublic
from services.common.auth import require
from services.common.db import Session
from services.common.pagination import Page, PageParams, page_params
from services.common.permissions import Permission

router = APIRouter()


@router.get(
    "/regions",
    tags=["regions"],
    summary="行政区划 / The region directory",
    dependencies=[require(Permission.REGION_READ)],
)
async def list_regions(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    parent: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
    level: Level | None = None,
) -> Page[RegionPublic]:
    rows, cursor = await service.list_regions(session, page, parent=parent, level=level)
    return Page(items=[RegionPublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/openapi.json", include_in_schema=False)
async def whole_api(request: Request) -> dict[str, Any]:
    """The OpenAPI document of the whole API: the gateway's and every service's routes."""
    app = request.app
    return openapi.merge(app.openapi(), await openapi.fetch_all(app.state.upstreams))


@router.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/api/v1/openapi.json", title="Zhucun API 驻村")
