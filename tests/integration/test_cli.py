"""The `nexora` command line: templates and API keys, with clear error lines."""

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from deployments.cli.app import app
from models.crud.apikeys import authenticate
from models.db import session_scope

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
runner = CliRunner()


def test_templates_add_list_show_and_errors(sqlite_url, tmp_path):
    raw = json.loads((SEEDS / "tr.json").read_text(encoding="utf-8"))
    raw.pop("version")
    raw["name"] = "TR de serviços contínuos (CLI)"
    good = tmp_path / "tr.json"
    good.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    first = runner.invoke(app, ["templates", "add", str(good)])
    assert first.exit_code == 0 and "publicado" in first.output
    again = runner.invoke(app, ["templates", "add", str(good)])
    assert again.exit_code == 0 and "já existia" in again.output
    template_id = re.search(r"\(([0-9a-f-]{36})\)", first.output).group(1)
    listed = runner.invoke(app, ["templates", "list"])
    assert listed.exit_code == 0 and template_id in listed.output
    shown = runner.invoke(app, ["templates", "show", template_id], terminal_width=200)
    assert shown.exit_code == 0 and "definicao_objeto" in shown.output

    raw["sections"][5]["title"] = ""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    failed = runner.invoke(app, ["templates", "add", str(bad)], terminal_width=200)
    assert failed.exit_code == 1 and "seção 6 ('modelo_gestao'): title" in failed.output
    missing = runner.invoke(app, ["templates", "add", str(tmp_path / "nope.json")])
    assert missing.exit_code == 1 and "não encontrado" in missing.output


def test_apikey_create_and_revoke(sqlite_url):
    created = runner.invoke(app, ["apikey", "create", "app-compras", "--scope", "read", "--scope", "run"])
    assert created.exit_code == 0
    raw = created.output.strip().splitlines()[-1]
    with session_scope(sqlite_url) as session:
        key = authenticate(session, raw)
        assert key is not None and key.scopes == ["read", "run"]
        prefix = key.prefix
    assert runner.invoke(app, ["apikey", "revoke", prefix]).exit_code == 0
    with session_scope(sqlite_url) as session:
        assert authenticate(session, raw) is None
    bad = runner.invoke(app, ["apikey", "create", "x", "--scope", "superuser"])
    assert bad.exit_code == 1 and "Escopos inválidos" in bad.output


def test_subscriptions_and_notifications_commands(sqlite_url, prefect_server, receiver):
    from flows.deliver_notifications import deliver_notifications
    from models.crud.notifications import record_event
    from tests.servers.webhook import Behaviour

    added = runner.invoke(
        app,
        ["subscriptions", "add", "--events", "document.approved", "--webhook", f"{receiver.url}/cli"],
        terminal_width=200,
    )
    assert added.exit_code == 0, added.output
    subscription_id = re.search(r"assinatura ([0-9a-f-]{36})", added.output).group(1)
    secret = added.output.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    receiver.secrets["/cli"], receiver.behaviours["/cli"] = secret, Behaviour(status=410)
    for argv, needle in (
        (["--events", "*", "--email", "sem-arroba"], "E-mail inválido"),
        (["--events", "document.sumiu", "--email", "a@b.gov.br"], "desconhecido"),
        (["--events", "*"], "--email ou --webhook"),
    ):
        refused = runner.invoke(app, ["subscriptions", "add", *argv], terminal_width=200)
        assert refused.exit_code == 1 and needle in refused.output, refused.output
    assert subscription_id in runner.invoke(app, ["subscriptions", "list"]).output

    with session_scope(sqlite_url) as session:
        record_event(session, "document.approved", data={"numero_processo": "23000.000777/2026-01"})
    deliver_notifications(max_seconds=10)
    dead = runner.invoke(app, ["notifications", "list", "--status", "dead", "--target", "/cli"], terminal_width=250)
    assert dead.exit_code == 0 and "1 de 1" in dead.output
    notification_id = re.search(r"([0-9a-f]{8}-[0-9a-f-]{27})", dead.output).group(1)
    shown = runner.invoke(app, ["notifications", "show", notification_id], terminal_width=250)
    assert shown.exit_code == 0 and "410" in shown.output and "dead" in shown.output
    assert runner.invoke(app, ["notifications", "list", "--status", "perdida"]).exit_code == 1
    receiver.behaviours["/cli"] = Behaviour()
    again = runner.invoke(app, ["notifications", "retry", "--dead"], terminal_width=250)
    assert again.exit_code == 0 and "de volta à fila" in again.output
    deliver_notifications(max_seconds=10)
    assert len(receiver.unique_events("/cli")) == 1
    assert "delivered" in runner.invoke(app, ["notifications", "show", notification_id], terminal_width=250).output
    assert runner.invoke(app, ["notifications", "retry"]).exit_code == 1
    removed = runner.invoke(app, ["subscriptions", "remove", subscription_id])
    assert removed.exit_code == 0 and "desativada" in removed.output


def test_pncp_import_html_stores_result_pages_and_refuses_others(sqlite_url):
    from sqlmodel import select

    from models.market import PncpContratacao, PncpItem, PncpQuarantine

    pages = sorted((Path(__file__).resolve().parents[1] / "data" / "comprasnet").glob("*.html"))
    done = runner.invoke(app, ["pncp", "import-html", *map(str, pages)], terminal_width=200)
    output = " ".join(done.output.split())
    assert done.exit_code == 1 and "edital_itens_160478_pe00003_2018.html" in output
    assert "não é uma página de resultado" in output
    with session_scope(sqlite_url) as s:
        keys = {c.numero_controle_pncp for c in s.exec(select(PncpContratacao))}
        items = s.exec(select(PncpItem).where(PncpItem.numero_controle_pncp.like("CNET-1604780500003%"))).all()
        quarantined = s.exec(select(PncpQuarantine).where(PncpQuarantine.source.like("arquivo:%"))).all()
    assert {"CNET-16047805000032018", "00394452000103-1-000321/2023"} <= keys
    assert len(items) == 4 and quarantined
    # the operator finds what went to the quarantine, why, and from which file
    listed = runner.invoke(app, ["pncp", "quarantine", "--json", "--limit", "1000"])
    assert listed.exit_code == 0, listed.output
    records = [json.loads(line) for line in listed.output.splitlines()]
    from_files = [r for r in records if r["source"].startswith("arquivo:")]
    assert len(from_files) == len(quarantined) and all(r["reason"] and r["raw"] for r in from_files)
    assert {r["source"] for r in from_files} == {q.source for q in quarantined}
    table = runner.invoke(app, ["pncp", "quarantine", "--kind", "page"], terminal_width=250)
    assert table.exit_code == 0 and "em quarentena" in table.output
    assert runner.invoke(app, ["pncp", "quarantine", "--kind", "nada"]).exit_code == 1
    again = runner.invoke(app, ["pncp", "import-html", str(pages[1])], terminal_width=200)
    assert again.exit_code == 0  # the same page twice: upserts, no duplicates
    with session_scope(sqlite_url) as s:
        assert len(s.exec(select(PncpItem).where(PncpItem.numero_controle_pncp.like("CNET-1604780500003%"))).all()) == 4


def test_pncp_quarantine_says_how_many_contratacoes_wait_for_their_details(sqlite_url):
    from sqlalchemy import text

    from models.crud import detail_gaps

    key = "00394000000100-1-000777/2026"
    with session_scope(sqlite_url) as session:
        before = detail_gaps.counts(session)
        detail_gaps.record_failures(
            session,
            "pncp",
            [{"key": key, "reason": "itens não obtidos: 503 em orgaos/…", "status": 503, "with_results": True}],
        )
    try:
        shown = runner.invoke(app, ["pncp", "quarantine"], terminal_width=250)
        assert shown.exit_code == 0, shown.output
        assert f"{before['pending'] + 1} contratação(ões) aguardando nova tentativa" in shown.output
        listed = runner.invoke(app, ["pncp", "quarantine", "--gaps", "--json"])
        mine = [json.loads(line) for line in listed.output.splitlines() if key in line]
        assert listed.exit_code == 0 and mine[0]["status"] == "pending" and mine[0]["attempts"] == 1
        assert "503" in mine[0]["reason"] and mine[0]["next_attempt_at"] > mine[0]["last_failed_at"]
    finally:
        with session_scope(sqlite_url) as session:
            session.exec(text("DELETE FROM pncp_detail_gaps WHERE numero_controle_pncp = :key").bindparams(key=key))


def test_people_add_list_deactivate_and_errors(sqlite_url):
    import uuid

    tag = uuid.uuid4().hex[:6]
    ident = f"siape.{tag}"
    added = runner.invoke(
        app,
        [
            "people",
            "add",
            ident,
            "--name",
            "Iara Nunes",
            "--orgao",
            "Órgão CLI",
            "-r",
            "equipe_planejamento",
            "-r",
            "autoridade_competente",
        ],
        terminal_width=200,
    )
    assert added.exit_code == 0 and "Iara Nunes" in added.output and "autoridade_competente" in added.output
    again = runner.invoke(
        app, ["people", "add", ident, "--name", "Iara", "--orgao", "Órgão X", "-r", "equipe_planejamento"]
    )
    assert again.exit_code == 1 and "Já existe uma pessoa" in again.output  # other data under the identifier
    same = runner.invoke(
        app,
        [
            "people",
            "add",
            ident,
            "--name",
            "Iara Nunes",
            "--orgao",
            "Órgão CLI",
            "-r",
            "autoridade_competente",
            "-r",
            "equipe_planejamento",
        ],
        terminal_width=200,
    )
    assert same.exit_code == 0 and "já estava cadastrada" in same.output
    cpf = runner.invoke(
        app,
        ["people", "add", "529.982.247-25", "--name", "Fulano", "--orgao", "X", "-r", "equipe_planejamento"],
        terminal_width=200,
    )
    assert cpf.exit_code == 1 and "parece um CPF" in cpf.output
    role = runner.invoke(app, ["people", "add", f"x.{tag}", "--name", "Fulano", "--orgao", "Órgão X", "-r", "prefeito"])
    assert role.exit_code == 2  # typer refuses a role that does not exist
    listed = runner.invoke(app, ["people", "list", "--orgao", "Órgão CLI"], terminal_width=200)
    assert listed.exit_code == 0 and ident in listed.output and "ativa" in listed.output
    gone = runner.invoke(app, ["people", "deactivate", ident])
    assert gone.exit_code == 0 and "desativada" in gone.output
    assert ident not in runner.invoke(app, ["people", "list"], terminal_width=200).output
    assert ident in runner.invoke(app, ["people", "list", "--all"], terminal_width=200).output
    unknown = runner.invoke(app, ["people", "deactivate", "ninguem"])
    assert unknown.exit_code == 1 and "não cadastrada" in unknown.output
