"""Prefect tasks: a folder per domain or outside system, each with tasks.py (every @task of the domain) and plain
modules beside it (docs/architecture.md, "Tasks"). Nothing heavy is imported here."""

import logging

from core.logging import get_logger


def run_logger() -> logging.Logger | logging.LoggerAdapter:
    """The run's logger (to the Prefect UI) inside a run; the module logger when called as a plain function."""
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return get_logger("tasks")
