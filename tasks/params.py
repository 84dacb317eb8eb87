"""What the flows' parameter models share: their field descriptions reach the Prefect UI's form (``described_by``)
and the CLI's help (``help_of``), so each parameter is described in one place, its model (``tasks/<domain>/
params.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

F = TypeVar("F", bound=Callable[..., object])


def described_by(model: type[BaseModel]) -> Callable[[F], F]:
    """Append to a flow's docstring an ``Args:`` section with ``model``'s field descriptions: Prefect reads a
    parameter's description (the UI's form) from the docstring only, so the model's stay the one place they are
    written."""

    def decorate(fn: F) -> F:
        lines = [f"    {name}: {field.description}" for name, field in model.model_fields.items() if field.description]
        fn.__doc__ = f"{(fn.__doc__ or '').rstrip()}\n\nArgs:\n" + "\n".join(lines) + "\n"
        return fn

    return decorate


def help_of(model: type[BaseModel], name: str) -> str:
    """The description of ``model``'s field ``name``: a CLI option's help."""
    description = model.model_fields[name].description
    if not description:
        raise LookupError(f"{model.__name__}.{name} has no description")
    return description
