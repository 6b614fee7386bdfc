"""Routes every service has for its operators: dead letters (list, replay) and job runs."""

import logging
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlmodel import select

from services.common import audit
from services.common.auth import Caller, require, scoped
from services.common.consumer import apply
from services.common.db import Session
from services.common.errors import Conflict, NotFound
from services.common.events import Event
from services.common.models import DeadLetter, JobRun
from services.common.pagination import Page, PageParams, page_params, paginate
from services.common.permissions import Permission

log = logging.getLogger(__name__)
# Operators only: every route here needs the operations permission.
router = APIRouter(tags=["operations"])
Operator = Annotated[Caller, require(Permission.OPERATIONS)]
# A dead letter belongs where its event happened (the envelope's `regioncode`): an operator
# of one county neither sees nor replays another county's events. One without a region (a
# message that was no event at all) is every operator's to look into.
_LETTER_REGION = DeadLetter.envelope["regioncode"].astext  # type: ignore[index]


class DeadLetterPublic(BaseModel):
    id: UUID
    consumer: str
    event_id: UUID
    event_type: str
    envelope: dict[str, Any]
    error: str
    deliveries: int
    created_at: datetime
    replayed_at: datetime | None


class JobRunPublic(BaseModel):
    job_name: str
    period: str
    status: str
    attempts: int
    outcome: dict[str, Any] | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None


@router.get("/dead-letters", summary="死信列表 / Events a consumer gave up on")
async def list_dead_letters(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    caller: Operator,
    consumer: str | None = None,
    replayed: bool | None = None,
) -> Page[DeadLetterPublic]:
    statement = scoped(select(DeadLetter), _LETTER_REGION, caller, unplaced=True)
    if consumer is not None:
        statement = statement.where(DeadLetter.consumer == consumer)
    if replayed is not None:
        column = DeadLetter.replayed_at
        statement = statement.where(column.is_not(None) if replayed else column.is_(None))
    rows, cursor = await paginate(
        session,
        statement,
        page,
        id_column=DeadLetter.id,
        sortable={"created_at": DeadLetter.created_at},
        default_sort="-created_at",
    )
    return Page(
        items=[DeadLetterPublic.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=cursor,
    )


@router.post(
    "/dead-letters/{dead_letter_id}/replay",
    summary="重放死信 / Hand a dead-lettered event to its consumer again",
)
async def replay_dead_letter(
    dead_letter_id: UUID, session: Session, request: Request, caller: Operator
) -> DeadLetterPublic:
    statement = scoped(select(DeadLetter), _LETTER_REGION, caller, unplaced=True)
    letter = (
        await session.execute(statement.where(DeadLetter.id == dead_letter_id).with_for_update())
    ).scalar_one_or_none()
    if letter is None:
        raise NotFound("死信不存在")
    if letter.replayed_at is not None:
        raise Conflict("该死信已重放", code="already_replayed")
    runner = request.app.state.kernel.consumers
    handler = runner.handler_for(letter.consumer)
    if handler is None:
        raise Conflict("该消费者已不存在", code="consumer_unknown")
    try:
        event = Event.model_validate(letter.envelope)
        await apply(session, letter.consumer, handler, event)
    except Exception as exc:
        log.warning("replay of %s failed: %r", dead_letter_id, exc)
        raise Conflict(
            f"重放失败（{type(exc).__name__}），详情见服务日志", code="replay_failed"
        ) from exc
    letter.replayed_at = datetime.now().astimezone()
    session.add(letter)
    await session.flush()
    await audit.record(
        session,
        action="operations.dead_letter.replayed",
        target=letter.id,
        region_code=event.regioncode,
        detail={"consumer": letter.consumer, "event_id": str(letter.event_id)},
    )
    return DeadLetterPublic.model_validate(letter, from_attributes=True)


@router.get("/job-runs", summary="定时任务运行记录 / Periodic job runs and their outcomes")
async def list_job_runs(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    _: Operator,
    job_name: str | None = None,
) -> Page[JobRunPublic]:
    statement = select(JobRun)
    if job_name is not None:
        statement = statement.where(JobRun.job_name == job_name)
    rows, cursor = await paginate(
        session,
        statement,
        page,
        id_column=JobRun.period,
        sortable={"started_at": JobRun.started_at},
        default_sort="-started_at",
    )
    return Page(
        items=[JobRunPublic.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=cursor,
    )
