"""Monthly price-index values imported by the operators (``nexora prices index import``): they take precedence,
month by month, over the series shipped in seeds/indices (see tasks.prices.indices)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Numeric, PrimaryKeyConstraint, Text
from sqlmodel import Field, SQLModel

from models.db import UtcDateTime, utcnow

INDEX_VALUE = Numeric(20, 6)


class PriceIndexValue(SQLModel, table=True):
    __tablename__ = "price_index_values"
    __table_args__ = (
        PrimaryKeyConstraint("name", "year", "month", name="pk_price_index_values"),
        CheckConstraint("month BETWEEN 1 AND 12", name="ck_price_index_values_month"),
        CheckConstraint("value > 0", name="ck_price_index_values_value"),
    )

    name: str = Field(max_length=20)
    year: int
    month: int
    value: Decimal = Field(sa_type=INDEX_VALUE)
    source: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
