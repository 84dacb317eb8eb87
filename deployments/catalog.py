"""The one list of deployments: the `serve` runner and prefect.yaml are both made from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
from typing import Any
from zoneinfo import ZoneInfo

DEPLOYMENT_NAME = "nexora"
WORK_POOL = "nexora-process"
TIMEZONE = "America/Sao_Paulo"
# Interval schedules count from a fixed instant: Prefect's default anchor is "now", which made every redeploy
# rewrite the schedule.
INTERVAL_ANCHOR = datetime(2026, 1, 1, tzinfo=ZoneInfo(TIMEZONE))


@dataclass(frozen=True)
class DeploymentSpec:
    flow_name: str
    entrypoint: str  # "flows/generate_field.py:generate_field"
    description: str
    tags: tuple[str, ...] = ()
    concurrency_limit: int | None = None
    cron: str | None = None
    interval_seconds: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{DEPLOYMENT_NAME}"

    def schedule_slug(self, kind: str) -> str:
        """A schedule's stable name: redeploying updates it in place instead of adding a second one."""
        return f"{self.flow_name}-{kind}"

    def load_flow(self):
        path, attribute = self.entrypoint.split(":")
        module = import_module(path.removesuffix(".py").replace("/", "."))
        return getattr(module, attribute)


GENERATE_FIELD = DeploymentSpec(
    flow_name="generate-field",
    entrypoint="flows/generate_field.py:generate_field",
    description="Redige uma seção de um ETP ou TR com o modelo de linguagem (ou o rascunho offline).",
    tags=("drafting", "llm"),
)
GENERATE_DOCUMENT = DeploymentSpec(
    flow_name="generate-document",
    entrypoint="flows/generate_document.py:generate_document",
    description="Redige todas as seções vazias de um documento, em paralelo, sob um limite de concorrência.",
    tags=("drafting", "llm"),
)

CONSOLIDATE_DOCUMENT = DeploymentSpec(
    flow_name="consolidate-document",
    entrypoint="flows/consolidate_document.py:consolidate_document",
    description="Consolida um documento aprovado em DOCX e PDF, grava no armazenamento e registra os artefatos.",
    tags=("consolidation", "storage"),
    concurrency_limit=4,
)

SIGN_DOCUMENT = DeploymentSpec(
    flow_name="sign-document",
    entrypoint="flows/sign_document.py:sign_document",
    description="Assina o documento consolidado (PAdES) por uma das pessoas que ele nomeia, na ordem do documento; "
    "com assinatura externa, a execução fica pausada até o aplicativo enviar o CMS.",
    tags=("signature", "storage"),
    # no concurrency limit: a paused run (waiting for an external CMS) would hold a slot for up to an hour
)

PUBLISH_PNCP = DeploymentSpec(
    flow_name="publish-pncp",
    entrypoint="flows/publish_pncp.py:publish_pncp",
    description="Publica no PNCP (API de integração) o PDF do ETP/TR consolidado ou assinado e o Relatório de "
    "Pesquisa de Preços numa contratação, uma única vez, e marca o documento publicado.",
    tags=("pncp", "publication"),
    concurrency_limit=1,  # one publication at a time: two runs never both find a file missing and both send it
)

DELIVER_NOTIFICATIONS = DeploymentSpec(
    flow_name="deliver-notifications",
    entrypoint="flows/deliver_notifications.py:deliver_notifications",
    description="Entrega as notificações pendentes (e-mail e webhooks), registrando cada tentativa; "
    "iniciada logo após cada evento e a cada minuto como garantia.",
    tags=("notifications",),
    concurrency_limit=2,
    interval_seconds=60,
)

COLLECT_PNCP = DeploymentSpec(
    flow_name="collect-pncp",
    entrypoint="flows/collect_pncp.py:collect_pncp",
    description="Coleta contratações, itens e resultados do PNCP (ontem e hoje, por padrão), retomando de onde "
    "parou; registros inválidos vão para a quarentena.",
    tags=("pncp", "market-data"),
    concurrency_limit=1,
    cron="0 3 * * *",
)

COLLECT_PNCP_DOCUMENTS = DeploymentSpec(
    flow_name="collect-pncp-documents",
    entrypoint="flows/collect_pncp_documents.py:collect_pncp_documents",
    description="Baixa do PNCP os ETPs e TRs das contratações coletadas (as mais recentes primeiro), extrai o texto, "
    "oculta CPFs e indexa por seção a biblioteca de exemplos; retoma de onde parou.",
    tags=("pncp", "library"),
    concurrency_limit=1,
    cron="0 5 * * *",  # after collect-pncp (03:00) has stored the day's contratações
)

TRAIN_PRICE_MODEL = DeploymentSpec(
    flow_name="train-price-model",
    entrypoint="flows/train_price_model.py:train_price_model",
    description="Treina o modelo de preços de referência com os preços coletados, compara com a pesquisa IN 65 nos "
    "mesmos itens, registra no MLflow e promove a champion só quando for melhor.",
    tags=("prices", "mlflow"),
    concurrency_limit=1,
    cron="0 4 * * 1",
)

REPORT_RUN_FAILURE = DeploymentSpec(
    flow_name="report-run-failure",
    entrypoint="flows/report_run_failure.py:report_run_failure",
    description="Transforma uma execução com falha ou interrompida (crashed) no evento flow_run.failed, entregue aos "
    "assinantes; iniciada pela automação que `nexora setup` aplica.",
    tags=("ops", "notifications"),
    concurrency_limit=4,
)

DEPLOYMENTS: tuple[DeploymentSpec, ...] = (
    GENERATE_FIELD,
    GENERATE_DOCUMENT,
    CONSOLIDATE_DOCUMENT,
    SIGN_DOCUMENT,
    PUBLISH_PNCP,
    DELIVER_NOTIFICATIONS,
    COLLECT_PNCP,
    COLLECT_PNCP_DOCUMENTS,
    TRAIN_PRICE_MODEL,
    REPORT_RUN_FAILURE,
)


def prefect_yaml() -> dict[str, Any]:
    """prefect.yaml for a Prefect server with the `nexora-process` work pool."""
    from prefect import __version__ as prefect_version

    deployments = []
    for spec in DEPLOYMENTS:
        entry: dict[str, Any] = {
            "name": DEPLOYMENT_NAME,
            "entrypoint": spec.entrypoint,
            "description": spec.description,
            "tags": ["nexora", *spec.tags],
            "parameters": dict(spec.parameters),
            "work_pool": {"name": WORK_POOL, "work_queue_name": "default", "job_variables": {}},
        }
        if spec.concurrency_limit:
            entry["concurrency_limit"] = spec.concurrency_limit
        schedules = []
        if spec.cron:
            schedules.append(
                {"cron": spec.cron, "timezone": TIMEZONE, "active": True, "slug": spec.schedule_slug("cron")}
            )
        if spec.interval_seconds:
            schedules.append(
                {
                    "interval": spec.interval_seconds,
                    "anchor_date": INTERVAL_ANCHOR.isoformat(),
                    "timezone": TIMEZONE,
                    "active": True,
                    "slug": spec.schedule_slug("intervalo"),
                }
            )
        entry["schedules"] = schedules
        deployments.append(entry)
    return {
        "name": "nexora-comprasgov",
        "prefect-version": prefect_version,
        "build": None,
        "push": None,
        "pull": [{"prefect.deployments.steps.set_working_directory": {"directory": "{{ $NEXORA_HOME }}"}}],
        "deployments": deployments,
    }


def render_prefect_yaml() -> str:
    import yaml

    header = (
        "# Generated from deployments/catalog.py by `nexora deployments yaml`; do not edit by hand.\n"
        "# Workers on this host: export NEXORA_HOME=<repo root>, then `prefect --no-prompt deploy --all`.\n"
    )
    return header + yaml.safe_dump(prefect_yaml(), sort_keys=False, allow_unicode=True, width=110)
