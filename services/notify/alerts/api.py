"""预警路由: which event alerts whom, with which template, through which channels; the county
admins (ROUTE_MANAGE) change them, system-wide."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from services.common.auth import Caller, require
from services.common.db import Session
from services.common.pagination import Page, PageParams, page_params
from services.common.permissions import Permission
from services.notify.alerts import service
from services.notify.alerts.schemas import AlertRoutePublic, AlertRouteSet

router = APIRouter(tags=["alert routes"])
ROUTES = "/api/v1/notify/alert-routes"


@router.get("/alert-routes", summary="预警路由列表 / Which event alerts whom, by event type")
async def list_routes(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    event_type: Annotated[str | None, Query(description="事件类型")] = None,
    enabled: Annotated[bool | None, Query(description="是否启用")] = None,
    caller: Caller = require(Permission.ROUTE_MANAGE),
) -> Page[AlertRoutePublic]:
    rows, cursor = await service.list_routes(session, page, event_type=event_type, enabled=enabled)
    return Page(items=[AlertRoutePublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.post(
    "/alert-routes", status_code=201, summary="新建预警路由 / Alert someone of an event type"
)
async def create_route(
    body: AlertRouteSet,
    session: Session,
    response: Response,
    caller: Caller = require(Permission.ROUTE_MANAGE),
) -> AlertRoutePublic:
    route = await service.create_route(session, body, caller)
    response.headers["Location"] = f"{ROUTES}/{route.id}"
    return AlertRoutePublic.model_validate(route)


@router.get("/alert-routes/{route_id}", summary="预警路由详情 / One alert route")
async def get_route(
    route_id: UUID, session: Session, caller: Caller = require(Permission.ROUTE_MANAGE)
) -> AlertRoutePublic:
    return AlertRoutePublic.model_validate(await service.get_route(session, route_id))


@router.put("/alert-routes/{route_id}", summary="修改预警路由 / Replace an alert route, whole")
async def replace_route(
    route_id: UUID,
    body: AlertRouteSet,
    session: Session,
    caller: Caller = require(Permission.ROUTE_MANAGE),
) -> AlertRoutePublic:
    return AlertRoutePublic.model_validate(
        await service.replace_route(session, route_id, body, caller)
    )


@router.delete(
    "/alert-routes/{route_id}", status_code=204, summary="删除预警路由 / Remove an alert route"
)
async def delete_route(
    route_id: UUID, session: Session, caller: Caller = require(Permission.ROUTE_MANAGE)
) -> Response:
    await service.delete_route(session, route_id, caller)
    return Response(status_code=204)
