"""消息模板: what each message says, per channel. Campaign authors read them to pick one; the
county admins (TEMPLATE_MANAGE) write them, system-wide."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from services.common.auth import Caller, require
from services.common.db import Session
from services.common.pagination import Page, PageParams, page_params
from services.common.permissions import Permission
from services.notify.templates import service
from services.notify.templates.schemas import (
    CODE_PATTERN,
    Channel,
    Preview,
    PreviewRequest,
    TemplatePublic,
    TemplateSaved,
    TemplateSet,
)

router = APIRouter(tags=["templates"])
TEMPLATES = "/api/v1/notify/templates"
Code = Annotated[
    str, Path(pattern=CODE_PATTERN, description="模板代码（snake_case）如 absence_alert")
]


@router.get("/templates", summary="模板列表 / Message templates, by code")
async def list_templates(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    code: Annotated[str | None, Query(description="模板代码")] = None,
    channel: Channel | None = None,
    purpose: Annotated[str | None, Query(description="用途：greeting 或事件类型")] = None,
    caller: Caller = require(Permission.CAMPAIGN_READ),
) -> Page[TemplatePublic]:
    rows, cursor = await service.list_templates(
        session, page, code=code, channel=channel, purpose=purpose
    )
    return Page(items=[TemplatePublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.post(
    "/templates/preview",
    summary="模板预览 / A template's text with sample values and its SMS parts; nothing stored",
)
async def preview_template(
    body: PreviewRequest, caller: Caller = require(Permission.TEMPLATE_MANAGE)
) -> Preview:
    return service.preview(body)


@router.get("/templates/{code}/{channel}", summary="模板详情 / One template of a code and channel")
async def get_template(
    code: Code,
    channel: Channel,
    session: Session,
    caller: Caller = require(Permission.CAMPAIGN_READ),
) -> TemplatePublic:
    return TemplatePublic.model_validate(await service.get_template(session, code, channel))


@router.put(
    "/templates/{code}/{channel}",
    summary="保存模板 / Create or replace a template, checked with sample values",
    responses={201: {"description": "Created", "model": TemplateSaved}},
)
async def set_template(
    code: Code,
    channel: Channel,
    body: TemplateSet,
    session: Session,
    response: Response,
    caller: Caller = require(Permission.TEMPLATE_MANAGE),
) -> TemplateSaved:
    template, sample, created = await service.set_template(session, code, channel, body, caller)
    if created:
        response.status_code = 201
        response.headers["Location"] = f"{TEMPLATES}/{code}/{channel}"
    return TemplateSaved(
        **TemplatePublic.model_validate(template).model_dump(),
        sample=sample.text,
        sample_parts=sample.parts,
    )


@router.delete(
    "/templates/{code}/{channel}",
    status_code=204,
    summary="删除模板 / Remove a template no route or unfinished campaign uses",
)
async def delete_template(
    code: Code,
    channel: Channel,
    session: Session,
    caller: Caller = require(Permission.TEMPLATE_MANAGE),
) -> Response:
    await service.delete_template(session, code, channel, caller)
    return Response(status_code=204)
