"""Every value sealed at rest (core.crypto), sealed again with the current SECRET_KEY after a rotation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlmodel import Session, col, select

from core import crypto
from models.notification import Subscription

# (table, column) of each sealed value; a new one is added here so that `nexora secrets rotate` covers it
SEALED = ((Subscription, "secret_encrypted"),)


@dataclass
class Resealed:
    resealed: int = 0  # moved to the current key
    current: int = 0  # already under it
    unreadable: list[tuple[str, uuid.UUID]] = field(default_factory=list)  # (table, id) no key opens


def reseal_all(session: Session) -> Resealed:
    """Seal again, with the current key, each stored value sealed with a previous key (or the v1 derivation).

    Safe to run again (a value already under the current key is left as it is) and while the platform runs: a row
    is written only if its sealed value is still the one read. A value no key opens is left untouched and listed."""
    counts = Resealed()
    for model, name in SEALED:
        column = getattr(model, name)
        for row_id, token in session.exec(select(model.id, column).where(col(column).is_not(None))).all():
            try:
                fresh = crypto.reseal(token)
            except crypto.SecretUnreadable:
                counts.unreadable.append((model.__tablename__, row_id))
                continue
            if fresh is None:
                counts.current += 1
                continue
            changed = session.exec(update(model).where(col(model.id) == row_id, column == token).values({name: fresh}))
            counts.resealed += changed.rowcount
    return counts
