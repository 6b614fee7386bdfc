from sqlmodel import Field, SQLModel


class Region(SQLModel, table=True):
    """行政区划: a statistical division (统计用区划代码), from province down to village."""

    code: str = Field(primary_key=True, max_length=12)
    name: str
    level: str
    parent: str | None = Field(default=None, max_length=12, index=True)
