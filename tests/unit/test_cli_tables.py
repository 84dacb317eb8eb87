"""The CLI's tables read at 80 columns: nothing cut, the ids whole (they are what one copies into the next command)."""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.console import Console

from deployments.api.schedule_status import DeploymentStatus
from deployments.cli.model import versions_table
from deployments.cli.prefect_deployments import deployments_table
from deployments.cli.runs import runs_table

SP = ZoneInfo("America/Sao_Paulo")
RUN_IDS = ("01a23a56-d513-7701-a252-ccd3661ffc93", "01a23a56-d513-7701-a252-ccd3661ffc94")


def rendered(table) -> list[str]:
    out = io.StringIO()
    Console(width=80, file=out, color_system=None).print(table)
    return out.getvalue().splitlines()


def test_runs_at_80_columns_keep_ids_states_and_times_whole():
    rows = [
        {
            "flow_name": "deliver-notifications",
            "name": "formidable-corgi",
            "state": "COMPLETED",
            "state_name": "Completed",
            "start_time": "2026-12-03T05:31:00+00:00",
            "end_time": "2026-12-03T05:31:04.5+00:00",
            "flow_run_id": RUN_IDS[0],
        },
        {
            "flow_name": "collect-pncp",
            "name": "collect-pncp-2016-01-01-2022-12-31-amostra",
            "state": "FAILED",
            "state_name": "AwaitingRetry",
            "start_time": "2026-12-03T05:31:00+00:00",
            "end_time": None,
            "flow_run_id": RUN_IDS[1],
        },
    ]
    lines = rendered(runs_table(rows, "2 execuções"))
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert all(run_id in text for run_id in RUN_IDS)
    assert "COMPLETED" in text and "(AwaitingRetry)" in text and "4.5 s" in text
    assert "03/12 02:31" in text  # 05:31 UTC in São Paulo


def test_model_versions_at_80_columns():
    versions = [
        {
            "version": "3",
            "aliases": ["champion"],
            "mdape": 0.619,
            "baseline_mdape": 0.646,
            "run_id": "0123456789abcdef0123456789abcdef",
        },
        {"version": "2", "aliases": ["previous"], "mdape": 0.7, "baseline_mdape": None, "run_id": None},
    ]
    lines = rendered(versions_table(versions))
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "0123456789abcdef0123456789abcdef" in text and "champion" in text and "0.619" in text
    assert "nexora model train" in "\n".join(rendered(versions_table([])))


def test_deployments_status_at_80_columns():
    rows = [
        DeploymentStatus(
            "collect-pncp",
            ("0 3 * * * (America/Sao_Paulo)",),
            False,
            datetime(2026, 12, 4, 3, tzinfo=SP),
            "Completed",
            datetime(2026, 12, 3, 3, tzinfo=SP),
            None,
        ),
        DeploymentStatus(
            "train-price-model",
            ("0 4 * * 1 (America/Sao_Paulo)",),
            False,
            None,
            None,
            None,
            "agendamento ativo sem nenhuma execução agendada",
        ),
        DeploymentStatus("generate-field", (), False, None, None, None, None),
    ]
    lines = rendered(deployments_table(rows))
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "04/12/2026 03:00" in text and "sob demanda" in text and "0 3 * * *" in text
    assert "agendada" in text and "ativo" in text
