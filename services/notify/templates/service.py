"""消息模板: the wording of each message, per channel; system-wide in a county's deployment,
written by its county admins. Plain functions that take a session and never commit."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import any_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.common import audit
from services.common.auth import Caller
from services.common.db import lock
from services.common.errors import Conflict, Invalid, NotFound
from services.common.ids import new_id
from services.common.pagination import PageParams, paginate
from services.common.regions import code_of_prefix
from services.notify.alerts.book import RouteBook
from services.notify.alerts.models import AlertRoute
from services.notify.campaigns.models import Campaign
from services.notify.delivery.service import where_given
from services.notify.templates.models import Template
from services.notify.templates.render import check, render, sample_values, sms_parts, sms_text
from services.notify.templates.schemas import Preview, PreviewRequest, TemplateSet

# A campaign that may still send: its template must stay.
_UNFINISHED = ("scheduled", "sending", "paused")


def lock_code(session: AsyncSession, code: str) -> Any:
    """Writes to a code's templates and the routes that name it take turns (a route created
    as its template is deleted)."""
    return lock(session, f"template:{code}")


def shown(
    body: str, channel: str, sign_name: str | None, values: Mapping[str, str]
) -> tuple[str, int]:
    """The text as the recipient sees it (an SMS with its 【sign】) and the SMS parts it is
    billed as (1 for the other channels); a text that does not render is a 422."""
    try:
        text = render(body, dict(values))
    except (TemplateError, ArithmeticError, TypeError, ValueError) as exc:
        raise Invalid(
            f"模板无法渲染：{exc}",
            code="template_render_failed",
            errors=[{"field": "body", "message": str(exc)}],
        ) from None
    if channel != "sms":
        return text, 1
    text = sms_text(text, sign_name)
    return text, sms_parts(text)


def preview(data: PreviewRequest) -> Preview:
    """预览: a body rendered with the purpose's sample values, or the given ones."""
    variables = check(data.body, data.purpose)
    text, parts = shown(
        data.body, data.channel, data.sign_name, {**sample_values(data.purpose), **data.values}
    )
    return Preview(text=text, parts=parts, variables=variables)


async def list_templates(
    session: AsyncSession,
    page: PageParams,
    *,
    code: str | None = None,
    channel: str | None = None,
    purpose: str | None = None,
) -> tuple[list[Template], str | None]:
    statement = where_given(
        select(Template),
        (Template.code, code),
        (Template.channel, channel),
        (Template.purpose, purpose),
    )
    return await paginate(
        session,
        statement,
        page,
        id_column=Template.id,  # type: ignore[arg-type]
        sortable={"code": Template.code, "updated_at": Template.updated_at},  # type: ignore[dict-item]
        default_sort="code",
    )


async def _stored(session: AsyncSession, code: str, channel: str) -> Template | None:
    statement = select(Template).where(Template.code == code, Template.channel == channel)
    return (await session.execute(statement)).scalar_one_or_none()


async def get_template(session: AsyncSession, code: str, channel: str) -> Template:
    template = await _stored(session, code, channel)
    if template is None:
        raise NotFound(f"没有 {channel} 渠道的模板 {code}", code="template_not_found")
    return template


async def users_of(session: AsyncSession, code: str, channel: str) -> list[str]:
    """What would send through the template of `code` on `channel`: the enabled alert routes
    and the unfinished campaigns that name the code and list the channel."""
    routes = await session.execute(
        select(AlertRoute.event_type).where(
            AlertRoute.template_code == code,
            AlertRoute.enabled,
            any_(AlertRoute.channels) == channel,
        )
    )
    campaigns = await session.execute(
        select(Campaign.name).where(
            Campaign.template_code == code,
            Campaign.status.in_(_UNFINISHED),  # type: ignore[attr-defined]
            any_(Campaign.channels) == channel,
        )
    )
    return [f"预警路由 {t}" for t in routes.scalars()] + [f"活动 {n}" for n in campaigns.scalars()]


async def _refuse_if_used(session: AsyncSession, code: str, channel: str, why: str) -> None:
    users = await users_of(session, code, channel)
    if users:
        raise Conflict(
            f"模板 {code}（{channel}）正在使用，{why}：{'、'.join(users)}",
            code="template_in_use",
        )


def _check_channel(channel: str, data: TemplateSet) -> None:
    """What a channel's provider needs besides the text: an SMS its sign (签名), a WeChat
    message the official account's template id."""
    if channel == "sms" and data.sign_name is None:
        raise Invalid(
            "短信模板须有签名 (sign_name)",
            code="sms_sign_required",
            errors=[{"field": "sign_name", "message": "2-12 characters, without 【】"}],
        )
    if channel == "wechat" and data.provider_template_code is None:
        raise Invalid(
            "微信模板须有公众号模板 ID (provider_template_code)",
            code="wechat_template_required",
            errors=[{"field": "provider_template_code", "message": "the OA template id"}],
        )


def _check_provider_params(data: TemplateSet) -> None:
    """Each of the provider's variables is filled from the purpose's, once each."""
    names = [p.name for p in data.provider_params]
    if len(set(names)) != len(names):
        raise Invalid(
            "服务商模板变量重复",
            code="provider_params_duplicate",
            errors=[{"field": "provider_params", "message": "each name once"}],
        )
    for position, param in enumerate(data.provider_params):
        try:
            check(param.value, data.purpose)
        except Invalid as problem:
            problem.errors = [
                {"field": f"provider_params[{position}].value", "message": problem.detail}
            ]
            raise


async def _check_purpose_of_code(
    session: AsyncSession, code: str, channel: str, purpose: str
) -> None:
    """A code names one message in several channels: its templates share one purpose."""
    others = await session.execute(
        select(Template.purpose)
        .where(Template.code == code, Template.channel != channel, Template.purpose != purpose)
        .limit(1)
    )
    other = others.scalar()
    if other is not None:
        raise Invalid(
            f"模板 {code} 的其他渠道用于 {other}，同一模板代码的用途须一致",
            code="template_purpose_mismatch",
            errors=[{"field": "purpose", "message": f"the code's other channels are for {other}"}],
        )


def _kept(template: Template) -> dict[str, Any]:
    """What an audit entry keeps of a template."""
    return template.model_dump(
        include={
            "purpose",
            "name",
            "body",
            "provider_template_code",
            "provider_params",
            "sign_name",
            "max_parts",
        }
    )


async def set_template(
    session: AsyncSession, code: str, channel: str, data: TemplateSet, caller: Caller
) -> tuple[Template, Preview, bool]:
    """Save the template of `code` on `channel`, whole (PUT semantics); True when it was
    created. Refused: an unknown variable, what the channel's provider needs missing, an SMS
    longer with sample values than `max_parts`, a new purpose while something uses it."""
    variables = check(data.body, data.purpose)
    _check_channel(channel, data)
    _check_provider_params(data)
    text, parts = shown(data.body, channel, data.sign_name, sample_values(data.purpose))
    if channel == "sms" and parts > data.max_parts:
        raise Invalid(
            f"以示例值渲染的短信共 {parts} 条，超过上限 {data.max_parts} 条",
            code="sms_too_long",
            errors=[{"field": "body", "message": f"{parts} parts, at most {data.max_parts}"}],
        )
    await lock_code(session, code)
    await _check_purpose_of_code(session, code, channel, data.purpose)
    template = await _stored(session, code, channel)
    before = None if template is None else _kept(template)
    now = datetime.now(UTC)
    values = {
        **data.model_dump(),
        "variables": variables,
        "updated_by": caller.user_id,
        "updated_at": now,
    }
    if template is None:
        template = Template(id=new_id(), code=code, channel=channel, created_at=now, **values)
        session.add(template)
    else:
        if template.purpose != data.purpose:
            await _refuse_if_used(session, code, channel, "不能改变用途")
        template.sqlmodel_update(values)
    await session.flush()
    await audit.record(
        session,
        action="notify.template.set",
        user_id=caller.user_id,
        target=f"{code}/{channel}",
        region_code=code_of_prefix(caller.scope),
        detail={"before": before, "after": _kept(template)},
    )
    RouteBook.changed(session)
    return template, Preview(text=text, parts=parts, variables=variables), before is None


async def delete_template(session: AsyncSession, code: str, channel: str, caller: Caller) -> None:
    """Remove the template of `code` on `channel`; 409 while a route or campaign uses it."""
    await lock_code(session, code)
    template = await get_template(session, code, channel)
    await _refuse_if_used(session, code, channel, "不能删除")
    await session.delete(template)
    await session.flush()
    await audit.record(
        session,
        action="notify.template.deleted",
        user_id=caller.user_id,
        target=f"{code}/{channel}",
        region_code=code_of_prefix(caller.scope),
        detail={"before": _kept(template)},
    )
    RouteBook.changed(session)
