"""Prefect flows, one module per operation."""

from core.logging import install_logging

install_logging()
