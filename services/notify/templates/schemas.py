from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.notify.providers.base import Channel

CODE_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"


def _text(value: str) -> str:
    if not value.strip() or "\x00" in value:  # PostgreSQL's text takes no NUL
        raise ValueError("a text, not blank")
    return value


def _sign(value: str) -> str:
    if "【" in value or "】" in value:
        raise ValueError("the sign without 【】: they are added when sent")
    return _text(value)


Text = Annotated[str, AfterValidator(_text)]


class ProviderParam(BaseModel):
    """One variable of the provider's template, and what fills it (Jinja2 over ours)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=r"^[A-Za-z0-9_]{1,32}$",
        description="服务商模板中的变量名（阿里云 ${name}、公众号 thing1；腾讯云按顺序）",
    )
    value: Text = Field(max_length=200, description="取值（Jinja2：{{ cadre_name }}）")


class TemplateSet(BaseModel):
    """A template for one code and channel, whole: what was there before is replaced."""

    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(
        max_length=100, description="用途：greeting 或所预警的事件类型（决定可用变量）"
    )
    name: Text = Field(min_length=1, max_length=50, description="模板名称")
    body: Text = Field(
        min_length=1, max_length=1000, description="模板正文（Jinja2：{{ cadre_name }}）"
    )
    provider_template_code: Text | None = Field(
        default=None,
        max_length=64,
        description="服务商的模板编号（短信审核通过的模板、公众号模板 ID）；微信必填",
    )
    provider_params: list[ProviderParam] = Field(
        default_factory=list,
        max_length=20,
        description="服务商模板的变量（按顺序）及其取值；空：正文用到的变量，原名原值",
    )
    sign_name: Annotated[str, AfterValidator(_sign)] | None = Field(
        default=None, min_length=2, max_length=12, description="短信签名（不含【】）；短信必填"
    )
    max_parts: int = Field(default=3, ge=1, le=10, description="短信最多几条（计费条数）")


class TemplatePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    code: str
    channel: Channel
    purpose: str
    name: str
    body: str
    variables: list[str] = Field(description="正文用到的变量")
    provider_template_code: str | None
    provider_params: list[ProviderParam]
    sign_name: str | None
    max_parts: int
    updated_by: UUID | None
    created_at: datetime
    updated_at: datetime


class TemplateSaved(TemplatePublic):
    """A template as saved, and how it reads with sample values."""

    sample: str = Field(description="以示例值渲染的正文（短信含【签名】）")
    sample_parts: int = Field(description="示例正文的短信计费条数（非短信为 1）")


class PreviewRequest(BaseModel):
    """A template's text tried out with sample values (or the given ones); nothing stored."""

    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(max_length=100, description="用途：greeting 或事件类型")
    body: Text = Field(min_length=1, max_length=1000, description="模板正文")
    channel: Channel
    sign_name: Annotated[str, AfterValidator(_sign)] | None = Field(
        default=None, min_length=2, max_length=12, description="短信签名（不含【】）"
    )
    values: dict[str, str] = Field(default_factory=dict, description="变量的取值；未给的用示例值")


class Preview(BaseModel):
    text: str = Field(description="收到的样子（短信含【签名】）")
    parts: int = Field(description="短信计费条数（非短信为 1）")
    variables: list[str] = Field(description="正文用到的变量")
