from datetime import datetime
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from services.notify.providers.base import PersonChannel as Channel

ContactKind = Literal["user", "listed", "unit"]
RegionCode = Annotated[str, Field(pattern=r"^\d{12}$", description="12 位统计用区划代码")]
# A WeChat official account's openid: 28 characters (o6_bmjrPTlm6_2sgVt7hMZOPfL2M).
WECHAT_OPENID = r"^[A-Za-z0-9_-]{28}$"
WechatOpenid = Annotated[str, Field(pattern=WECHAT_OPENID, description="微信 openid（28 位）")]
# A WeCom group robot's webhook key (the `key=` of its URL), a UUID as WeCom issues it.
WecomKey = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9-]{16,64}$", description="企业微信群机器人 webhook key")
]


def _distinct(channels: list[Channel]) -> list[Channel]:
    if len(set(channels)) != len(channels):
        raise ValueError("each channel at most once")
    return channels


Channels = Annotated[
    list[Channel],
    Field(
        min_length=1,
        max_length=3,
        description="渠道，按先后：sms 短信 / wechat 微信 / wecom 企业微信",
    ),
    AfterValidator(_distinct),
]


class ContactPublic(BaseModel):
    """联系人, as a reader sees them: the phone masked unless their role needs it in clear; a
    unit's WeCom key never (only whether it has one)."""

    id: UUID
    kind: ContactKind = Field(description="user 系统用户 / listed 名单 / unit 派出单位")
    name: str
    region_code: str
    roles: list[str]
    list_id: UUID | None = Field(description="所属名单（kind=listed）")
    unit_code: str | None = Field(description="派出单位代码（kind=unit）")
    phone: str | None = Field(description="脱敏手机号（有权限者为明文）")
    has_wechat: bool
    has_wecom: bool
    channels: list[str]
    away: bool = Field(description="在外")
    active: bool
    opted_out: bool = Field(description="该手机号已退订节日问候")


class PreferencesSet(BaseModel):
    """How a contact is reached, whole: the channels in order, and their WeChat (null: none)."""

    model_config = ConfigDict(extra="forbid")

    channels: Channels
    wechat_openid: WechatOpenid | None = None


class UnitCreate(BaseModel):
    """派出单位: reached through its liaison's phone or its WeCom group robot (at least one)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    unit_code: str = Field(min_length=1, max_length=32, description="派出单位代码")
    name: str = Field(min_length=1, max_length=100, description="单位名称")
    region_code: RegionCode
    phone: str | None = Field(default=None, description="联络人手机号，加密存储")
    wecom_key: WecomKey | None = Field(default=None, description="群机器人 key，加密存储，不返回")
    channels: Channels | None = Field(default=None, description="不填：有群机器人先 wecom，再 sms")

    @model_validator(mode="after")
    def _reachable(self) -> Self:
        if self.phone is None and self.wecom_key is None:
            raise ValueError("a phone or a WeCom robot's key, at least one")
        return self


class UnitUpdate(BaseModel):
    """A unit's changes: the fields left out stay as they are; a null phone or WeCom key
    removes it (one of them must remain)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    unit_code: str | None = Field(default=None, min_length=1, max_length=32)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    region_code: RegionCode | None = None
    phone: str | None = None
    wecom_key: WecomKey | None = None
    channels: Channels | None = None

    @model_validator(mode="after")
    def _only_addresses_nullable(self) -> Self:
        for name in ("unit_code", "name", "region_code", "channels"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ContactListPublic(BaseModel):
    """名单: an uploaded list of people to greet."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    region_code: str
    size: int = Field(description="人数（去重后）")
    uploaded_by: UUID
    created_at: datetime


class ContactListUploaded(ContactListPublic):
    duplicates: int = Field(description="文件中重复的手机号（保留第一行）")


class PhoneGiven(BaseModel):
    """A phone someone asked about: to opt out of greetings, or back in."""

    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=1, max_length=32, description="手机号")


class OptOutPublic(BaseModel):
    """退订: a phone that receives no more greetings."""

    phone: str = Field(description="脱敏手机号")
    opted_out_at: datetime
    via: str = Field(description="api（手工登记）或短信回复的服务商")
    greetings_stopped: int = Field(description="本次停发的排队中问候")
