from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.requests import ClientDisconnect

from services.common.auth import Caller, check_writable, require
from services.common.db import Session
from services.common.errors import BadRequest
from services.common.middleware import BodyLimit
from services.common.pagination import Page, PageParams, page_params
from services.common.permissions import Permission
from services.notify.contacts import service
from services.notify.contacts.schemas import (
    ContactKind,
    ContactListPublic,
    ContactListUploaded,
    ContactPublic,
    OptOutPublic,
    PhoneGiven,
    PreferencesSet,
    RegionCode,
    UnitCreate,
    UnitUpdate,
)
from services.notify.contacts.sheets import LIST_TYPES
from services.notify.state import NotifyContext

router = APIRouter(tags=["contacts"])
NOTIFY = "/api/v1/notify"
CONTACT_LISTS = f"{NOTIFY}/contact-lists"
LIST_MAX_BYTES = 20 * 2**20  # 100,000 rows are ~4 MB of CSV
_FILE = {"schema": {"type": "string", "format": "binary"}}
RegionPrefix = Annotated[
    str | None, Query(pattern=r"^\d{2,12}$", description="区划代码前缀（在管辖范围内）")
]


def body_limit() -> BodyLimit:
    """The upload's own body limit, above the service's for JSON."""
    return BodyLimit(LIST_MAX_BYTES, lambda: service.list_too_large(LIST_MAX_BYTES))


@router.get("/contacts", summary="联系人列表 / Who notify reaches, and how (phone masked or clear)")
async def list_contacts(
    session: Session,
    notify: NotifyContext,
    page: Annotated[PageParams, Depends(page_params)],
    kind: ContactKind | None = None,
    list_id: UUID | None = None,
    role: Annotated[str | None, Query(max_length=50, description="角色")] = None,
    region_code: RegionPrefix = None,
    phone: Annotated[
        str | None, Query(max_length=32, description="按手机号精确查找（需明文权限）")
    ] = None,
    caller: Caller = require(Permission.CONTACT_READ),
) -> Page[ContactPublic]:
    rows, cursor = await service.list_contacts(
        session,
        page,
        caller,
        notify.vault,
        kind=kind,
        list_id=list_id,
        role=role,
        region_code=region_code,
        phone=phone,
    )
    items = await service.public(session, caller, notify.vault, rows)
    return Page(items=items, next_cursor=cursor)


@router.get("/contacts/{contact_id}", summary="联系人详情 / One contact")
async def get_contact(
    contact_id: UUID,
    session: Session,
    notify: NotifyContext,
    caller: Caller = require(Permission.CONTACT_READ),
) -> ContactPublic:
    contact = await service.get_contact(session, contact_id, caller)
    [item] = await service.public(session, caller, notify.vault, [contact])
    return item


@router.put(
    "/contacts/{contact_id}/preferences",
    summary="设定联系方式 / Set how a contact is reached: channels in order, WeChat openid",
)
async def set_preferences(
    contact_id: UUID,
    body: PreferencesSet,
    session: Session,
    notify: NotifyContext,
    caller: Caller = require(Permission.CONTACT_MANAGE),
) -> ContactPublic:
    contact = await service.set_preferences(session, contact_id, body, caller)
    [item] = await service.public(session, caller, notify.vault, [contact])
    return item


@router.post(
    "/units",
    status_code=201,
    summary="添加派出单位 / Add a dispatching unit: its liaison's phone, its WeCom group robot",
)
async def create_unit(
    body: UnitCreate,
    session: Session,
    notify: NotifyContext,
    response: Response,
    caller: Caller = require(Permission.CONTACT_MANAGE),
) -> ContactPublic:
    unit = await service.create_unit(session, notify.vault, body, caller)
    response.headers["Location"] = f"{NOTIFY}/contacts/{unit.id}"
    [item] = await service.public(session, caller, notify.vault, [unit])
    return item


@router.put(
    "/units/{unit_id}",
    summary="修改派出单位 / Change a dispatching unit (fields left out stay as they are)",
)
async def update_unit(
    unit_id: UUID,
    body: UnitUpdate,
    session: Session,
    notify: NotifyContext,
    caller: Caller = require(Permission.CONTACT_MANAGE),
) -> ContactPublic:
    unit = await service.update_unit(session, notify.vault, unit_id, body, caller)
    [item] = await service.public(session, caller, notify.vault, [unit])
    return item


@router.post(
    "/contact-lists",
    status_code=201,
    summary="上传名单 / Upload a list of people to greet: the CSV or XLSX file itself as the body",
    openapi_extra={"requestBody": {"required": True, "content": dict.fromkeys(LIST_TYPES, _FILE)}},
)
async def upload_list(
    request: Request,
    name: Annotated[str, Query(max_length=100, pattern=r"\S", description="名单名称")],
    region_code: Annotated[RegionCode, Query(description="名单所属区域的区划代码")],
    session: Session,
    notify: NotifyContext,
    response: Response,
    caller: Caller = require(Permission.CONTACT_MANAGE),
) -> ContactListUploaded:
    # Scope and type are checked before the body is read: a refused upload is not received.
    check_writable(caller, region_code)
    content_type = service.declared_list_type(request.headers.get("content-type"))
    try:
        content = await request.body()
    except ClientDisconnect:
        raise BadRequest("名单文件未传完", code="contact_list_incomplete") from None
    contact_list, duplicates = await service.upload_list(
        session,
        notify.vault,
        content,
        content_type,
        name=name,
        region_code=region_code,
        caller=caller,
    )
    response.headers["Location"] = f"{CONTACT_LISTS}/{contact_list.id}"
    return ContactListUploaded(
        **ContactListPublic.model_validate(contact_list).model_dump(), duplicates=duplicates
    )


@router.get("/contact-lists", summary="名单列表 / The uploaded lists, newest first")
async def list_lists(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    region_code: RegionPrefix = None,
    caller: Caller = require(Permission.CONTACT_READ),
) -> Page[ContactListPublic]:
    rows, cursor = await service.list_lists(session, page, caller, region_code=region_code)
    return Page(items=[ContactListPublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/contact-lists/{list_id}", summary="名单详情 / One uploaded list")
async def get_list(
    list_id: UUID, session: Session, caller: Caller = require(Permission.CONTACT_READ)
) -> ContactListPublic:
    return ContactListPublic.model_validate(await service.get_list(session, list_id, caller))


@router.delete(
    "/contact-lists/{list_id}",
    status_code=204,
    summary="删除名单 / Remove an uploaded list, and its people with it",
)
async def delete_list(
    list_id: UUID, session: Session, caller: Caller = require(Permission.CONTACT_MANAGE)
) -> Response:
    await service.delete_list(session, list_id, caller)
    return Response(status_code=204)


@router.post(
    "/opt-outs",
    status_code=201,
    summary="登记退订 / A phone receives no more greetings (the person asked, by phone)",
    responses={200: {"description": "The phone had opted out before: as it was"}},
)
async def opt_out(
    body: PhoneGiven,
    session: Session,
    notify: NotifyContext,
    response: Response,
    caller: Caller = require(Permission.CONTACT_MANAGE),
) -> OptOutPublic:
    done, masked = await service.opt_out_by_hand(session, notify.vault, body.phone, caller)
    if not done.created:
        response.status_code = 200
    return OptOutPublic(
        phone=masked,
        opted_out_at=done.record.opted_out_at,
        via=done.record.via,
        greetings_stopped=done.greetings_stopped,
    )


@router.post(
    "/opt-outs/remove",
    status_code=204,
    summary="取消退订 / A phone receives greetings again (the person asked for them)",
)
async def opt_back_in(
    body: PhoneGiven,
    session: Session,
    notify: NotifyContext,
    caller: Caller = require(Permission.CONTACT_MANAGE),
) -> Response:
    await service.opt_back_in(session, notify.vault, body.phone, caller)
    return Response(status_code=204)
