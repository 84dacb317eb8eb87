"""`nexora`: the operators' command line (stack, demo, templates, API keys, secrets, database, deployments),
assembled from one module per sub-app."""

from __future__ import annotations

import typer

from core.settings import settings
from deployments.cli.apikey import apikey_app
from deployments.cli.db import db_app
from deployments.cli.documents import documents_app
from deployments.cli.keys import secrets_app
from deployments.cli.model import model_app
from deployments.cli.notifications import notifications_app, subscriptions_app
from deployments.cli.operations import backup_command, restore_command, setup
from deployments.cli.people import people_app
from deployments.cli.pncp import pncp_app
from deployments.cli.prefect_deployments import deployments_app
from deployments.cli.prices import prices_app
from deployments.cli.runs import runs_app
from deployments.cli.search import search_app
from deployments.cli.stack import demo, runner, up
from deployments.cli.templates import templates_app
from deployments.operations.stack import apply_prefect_env

app = typer.Typer(help="NEXORA ComprasGov.AI — back office de planejamento de contratações.", no_args_is_help=True)
for name, command in (
    ("backup", backup_command),
    ("restore", restore_command),
    ("runner", runner),
    ("up", up),
    ("demo", demo),
    ("setup", setup),
):
    app.command(name)(command)
for name, sub_app in (
    ("templates", templates_app),
    ("apikey", apikey_app),
    ("people", people_app),
    ("db", db_app),
    ("deployments", deployments_app),
    ("documents", documents_app),
    ("subscriptions", subscriptions_app),
    ("notifications", notifications_app),
    ("pncp", pncp_app),
    ("model", model_app),
    ("prices", prices_app),
    ("runs", runs_app),
    ("search", search_app),
    ("secrets", secrets_app),
):
    app.add_typer(sub_app, name=name)


@app.callback()
def _prefect_settings_first() -> None:
    # Prefect reads its settings once, when first imported: point it at this platform's server before any
    # command imports it (otherwise a command talks to a temporary server of its own, seconds later and empty)
    apply_prefect_env(settings)
