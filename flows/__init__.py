"""Prefect flows, one module per operation."""

from core.logging import install_trace_filter

install_trace_filter()
