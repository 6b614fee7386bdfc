from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["province", "city", "county", "township", "village"]


class RegionBase(BaseModel):
    code: Annotated[str, Field(pattern=r"^\d{12}$")]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    level: Level
    parent: Annotated[str | None, Field(pattern=r"^\d{12}$")] = None


class RegionCreate(RegionBase):
    model_config = ConfigDict(extra="forbid")


class RegionPublic(RegionBase):
    model_config = ConfigDict(from_attributes=True)
