"""Limits and automations as code, applied idempotently to the Prefect server by `nexora setup`.

Global concurrency limits (shared by every run, runner and worker that talks to the same Prefect server):

- ``llm``: slots held during each call to the language model (``LLM_CONCURRENCY``), so parallel drafting runs
  together never exceed what the endpoint was sized for;
- ``pncp-consulta``: a rate limit (one slot, decaying at 1 / ``PNCP_CONSULTA_INTERVAL_SECONDS`` per second) that
  every consulta call waits on, whatever run or worker makes it;
- ``pncp-detalhe``: a slot held while one contratação's items and results are fetched from the PNCP detail API,
  ``PNCP_DETAIL_CONCURRENCY`` contratações at a time in all (a slot per HTTP call cost the SQLite Prefect server two
  writes per call, with stalls when it was busy).

Automations:

- ``nexora: heartbeat perdido → crashed``: a flow run that sent a heartbeat and then neither another heartbeat nor a
  final state within ``CRASH_AFTER_SECONDS`` is marked Crashed (its process or machine died). Runners and workers
  send heartbeats every ``FLOW_HEARTBEAT_SECONDS`` (PREFECT_FLOWS_HEARTBEAT_FREQUENCY, set by the stack);
- ``nexora: execução com falha → notificação``: every flow run entering Failed or Crashed starts a
  ``report-run-failure`` run, which writes the ``flow_run.failed`` event into our outbox (webhook and e-mail
  subscribers get it like any other event).

Applying compares what the server holds with what is wanted and creates, updates or leaves each one alone, so
running it twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from core.limits import CONSULTA_LIMIT, DETAIL_LIMIT, LLM_LIMIT
from core.settings import Settings

CRASH_AUTOMATION = "nexora: heartbeat perdido → crashed"
FAILURE_AUTOMATION = "nexora: execução com falha → notificação"
FINAL_EVENTS = (
    "prefect.flow-run.Completed",
    "prefect.flow-run.Failed",
    "prefect.flow-run.Cancelled",
    "prefect.flow-run.Crashed",
)


@dataclass(frozen=True)
class LimitSpec:
    name: str
    limit: int
    slot_decay_per_second: float | None = None
    description: str = ""


def limit_specs(settings: Settings) -> list[LimitSpec]:
    return [
        LimitSpec(LLM_LIMIT, settings.LLM_CONCURRENCY, None, "chamadas simultâneas ao modelo de linguagem"),
        LimitSpec(
            CONSULTA_LIMIT,
            1,
            1 / settings.PNCP_CONSULTA_INTERVAL_SECONDS,
            f"uma chamada à API de consulta do PNCP a cada {settings.PNCP_CONSULTA_INTERVAL_SECONDS:g} s",
        ),
        LimitSpec(
            DETAIL_LIMIT,
            settings.PNCP_DETAIL_CONCURRENCY,
            None,
            "chamadas simultâneas à API de itens e resultados do PNCP",
        ),
    ]


def automation_specs(settings: Settings, report_deployment_id: Any) -> list[Any]:
    """The automations, as Prefect's own objects (``prefect.automations.Automation``)."""
    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState, RunDeployment
    from prefect.events.schemas.automations import EventTrigger, Posture

    crashed = Automation(
        name=CRASH_AUTOMATION,
        description=(
            "Marca como Crashed a execução que parou de enviar heartbeats (processo ou máquina "
            f"encerrados): nenhum heartbeat nem estado final em {settings.CRASH_AFTER_SECONDS} s."
        ),
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *FINAL_EVENTS},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=settings.CRASH_AFTER_SECONDS),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                name="Crashed",
                message=f"Sem heartbeat há {settings.CRASH_AFTER_SECONDS} s: processo do runner/worker encerrado.",
            )
        ],
    )
    failed = Automation(
        name=FAILURE_AUTOMATION,
        description="Cada execução que termina Failed ou Crashed vira o evento flow_run.failed no outbox do NEXORA.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[
            RunDeployment(
                source="selected",
                deployment_id=report_deployment_id,
                parameters={"flow_run_id": {"__prefect_kind": "jinja", "template": "{{ flow_run.id }}"}},
            )
        ],
    )
    return [crashed, failed]


def _comparable(automation: Any) -> Any:
    """The automation as plain data, with its sets as sorted lists: a trigger's `expect` and `after` are Python
    sets, whose order in a JSON dump changes from one process to the next (a second `nexora setup` saw a change
    where there was none)."""
    return _sets_sorted(automation.model_dump(exclude={"id", "owner_resource"}))


def _sets_sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sets_sorted(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_sets_sorted(item) for item in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_sets_sorted(item) for item in value]
    return value


async def apply(settings: Settings) -> list[tuple[str, str, str]]:
    """Create or update every limit and automation; (kind, name, what happened) for each."""
    from prefect.automations import Automation
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
    from prefect.exceptions import ObjectNotFound

    from deployments.catalog import REPORT_RUN_FAILURE

    done: list[tuple[str, str, str]] = []
    async with get_client() as client:
        for spec in limit_specs(settings):
            try:
                current = await client.read_global_concurrency_limit_by_name(spec.name)
            except ObjectNotFound:
                current = None
            if current is None:
                await client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(
                        name=spec.name, limit=spec.limit, slot_decay_per_second=spec.slot_decay_per_second or 0.0
                    )
                )
                done.append(("limite", spec.name, "criado"))
            elif (
                current.limit != spec.limit
                or not current.active
                or abs((current.slot_decay_per_second or 0.0) - (spec.slot_decay_per_second or 0.0)) > 1e-9
            ):
                await client.update_global_concurrency_limit(
                    spec.name,
                    GlobalConcurrencyLimitUpdate(
                        limit=spec.limit, active=True, slot_decay_per_second=spec.slot_decay_per_second or 0.0
                    ),
                )
                done.append(("limite", spec.name, "atualizado"))
            else:
                done.append(("limite", spec.name, "sem mudança"))
        try:
            report = await client.read_deployment_by_name(REPORT_RUN_FAILURE.full_name)
        except ObjectNotFound as exc:
            raise RuntimeError(
                f"a implantação {REPORT_RUN_FAILURE.full_name} não está registrada no servidor "
                "Prefect: inicie o runner (`nexora up`) ou rode `prefect deploy --all` antes"
            ) from exc
        for wanted in automation_specs(settings, report.id):
            found = await client.read_automations_by_name(wanted.name)
            if not found:
                await wanted.acreate()
                done.append(("automação", wanted.name, "criada"))
                continue
            current, *extra = found
            for duplicate in extra:  # two set-ups raced once: keep one
                await client.delete_automation(duplicate.id)
            if _comparable(Automation(**current.model_dump(exclude={"id"}))) == _comparable(wanted):
                done.append(("automação", wanted.name, "sem mudança"))
                continue
            wanted.id = current.id
            await wanted.aupdate()
            done.append(("automação", wanted.name, "atualizada"))
    return done
