"""The decision question, as callers send it."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator


class BreakGlassIn(BaseModel):
    justification: str = Field(min_length=10, max_length=2000, description="Why, in words.")


class DecisionRequest(BaseModel):
    person: str | None = Field(
        default=None, min_length=1, max_length=128, description="The disclosing agency's pseudonym."
    )
    person_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="Service role only."
    )
    disclosing_agency: str = Field(min_length=1, max_length=64)
    recipient_agency: str = Field(min_length=1, max_length=64)
    purpose: str | None = Field(default=None, max_length=64, description="No purpose: deny.")
    categories: list[str] = Field(min_length=1, max_length=50)
    break_glass: BreakGlassIn | None = None

    @model_validator(mode="after")
    def _one_person(self) -> DecisionRequest:
        if (self.person is None) == (self.person_id is None):
            raise ValueError("name the person by exactly one of person or person_id")
        return self


class RevisionOut(BaseModel):
    revision: int = Field(description="The global policy revision.")
    person_revisions: dict[str, int] = Field(
        description="Per person asked: the latest change affecting them or any agreement."
    )
