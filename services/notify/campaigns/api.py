from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Response

from services.common.auth import Caller, require
from services.common.db import Session
from services.common.kernel import CountyTimezone
from services.common.pagination import Page, PageParams, page_params
from services.common.permissions import Permission
from services.notify.campaigns import service
from services.notify.campaigns.schemas import (
    CampaignCreate,
    CampaignDetail,
    CampaignPreview,
    CampaignPublic,
    CampaignStatus,
)
from services.notify.state import NotifyContext

router = APIRouter(tags=["campaigns"])
CAMPAIGNS = "/api/v1/notify/campaigns"


@router.post(
    "/campaigns",
    status_code=201,
    summary="创建问候活动 / Schedule a greeting campaign for a festival or a date",
)
async def create_campaign(
    body: CampaignCreate,
    session: Session,
    timezone: CountyTimezone,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=100,
            description="重试时带同一个键：返回已创建的活动（200），不再创建第二个",
        ),
    ] = None,
    caller: Caller = require(Permission.CAMPAIGN_MANAGE),
) -> CampaignPublic:
    campaign, created = await service.create_campaign(
        session, body, caller, timezone, request_key=idempotency_key
    )
    response.headers["Location"] = f"{CAMPAIGNS}/{campaign.id}"
    if not created:
        response.status_code = 200
    return CampaignPublic.model_validate(campaign)


@router.get("/campaigns", summary="问候活动列表 / Greeting campaigns within one's scope")
async def list_campaigns(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    status: CampaignStatus | None = None,
    caller: Caller = require(Permission.CAMPAIGN_READ),
) -> Page[CampaignPublic]:
    rows, cursor = await service.list_campaigns(session, page, caller, status=status)
    return Page(items=[CampaignPublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/campaigns/{campaign_id}", summary="问候活动详情 / A campaign and its progress")
async def get_campaign(
    campaign_id: UUID, session: Session, caller: Caller = require(Permission.CAMPAIGN_READ)
) -> CampaignDetail:
    campaign = await service.get_campaign(session, campaign_id, caller)
    progress = await service.progress(session, campaign.id)
    return CampaignDetail.model_validate(
        {**CampaignPublic.model_validate(campaign).model_dump(), "progress": progress}
    )


@router.get(
    "/campaigns/{campaign_id}/preview",
    summary="发送预览 / Whom a campaign would reach by which channel, and what SMS would cost",
)
async def preview_campaign(
    campaign_id: UUID,
    session: Session,
    timezone: CountyTimezone,
    notify: NotifyContext,
    caller: Caller = require(Permission.CAMPAIGN_READ),
) -> CampaignPreview:
    campaign = await service.get_campaign(session, campaign_id, caller)
    return await service.preview(
        session, campaign, timezone=timezone, sms_price=notify.settings.sms_price_per_part
    )


@router.post(
    "/campaigns/{campaign_id}/pause", summary="暂停 / Pause a scheduled or sending campaign"
)
async def pause_campaign(
    campaign_id: UUID, session: Session, caller: Caller = require(Permission.CAMPAIGN_MANAGE)
) -> CampaignPublic:
    return CampaignPublic.model_validate(await service.pause(session, campaign_id, caller))


@router.post("/campaigns/{campaign_id}/resume", summary="继续 / Resume a paused campaign")
async def resume_campaign(
    campaign_id: UUID, session: Session, caller: Caller = require(Permission.CAMPAIGN_MANAGE)
) -> CampaignPublic:
    return CampaignPublic.model_validate(await service.resume(session, campaign_id, caller))


@router.post(
    "/campaigns/{campaign_id}/cancel",
    summary="取消 / Cancel a campaign: what is still queued is never sent",
)
async def cancel_campaign(
    campaign_id: UUID, session: Session, caller: Caller = require(Permission.CAMPAIGN_MANAGE)
) -> CampaignPublic:
    return CampaignPublic.model_validate(await service.cancel(session, campaign_id, caller))
