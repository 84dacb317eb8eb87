"""Phrases of pydantic's, Starlette's, FastAPI's and Python's English messages: none may reach a public servant."""

from __future__ import annotations

ENGLISH = (
    "field required",
    "input should",
    "invalid character",
    "value is not",
    "not found",
    "method not allowed",
    "string should",
    "extra inputs",
    "value error",
    "should have",
    "list should",
    "unable to parse",
    "at least",
    "at most",
    "greater than",
    "less than",
    "json decode error",
    "expecting",
    "assertion failed",
    "datetimes provided",
    "unsupported media type",
    "there was an error",
    "not authenticated",
    "does not match",
    "invalid value",
    "port out of range",
    "name or service",
    "is not a valid",
    "should be",
    "must be",
)


def english(text: str) -> list[str]:
    """The English phrases found in ``text`` (case-insensitive)."""
    lowered = text.lower()
    return [phrase for phrase in ENGLISH if phrase in lowered]
