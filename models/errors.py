"""Domain errors; the API maps them to 404/409/422 with the message, the CLI prints them."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, **details: Any):
        super().__init__(message)
        self.message = message
        self.details = details


class ForbiddenError(DomainError):
    """Who acts may not do this (a rule of the law names who may): 403 with the rule."""

    status_code = 403


class NotFoundError(DomainError):
    status_code = 404


class ConflictError(DomainError):
    status_code = 409


class InvalidError(DomainError):
    status_code = 422
