"""`nexora documents search` and `nexora documents clone`: the same search and clone as the API, in Portuguese."""

from __future__ import annotations

import re
import uuid

from typer.testing import CliRunner

from deployments.cli.app import app
from models.crud import documents as crud
from models.db import session_scope
from tests.integration.test_document_search import new_document, token, write
from tests.utils.builders import PLANNER

runner = CliRunner()


def test_search_and_clone_from_the_command_line(sqlite_url):
    word = token()
    with session_scope(sqlite_url) as session:
        source = new_document(session, titulo=f"Aquisição de notebooks {word}")
        write(session, source.id, "descricao_necessidade", f"Substituir computadores antigos ({word}).")
    found = runner.invoke(app, ["documents", "search", word, "--kind", "etp"], terminal_width=250)
    assert found.exit_code == 0, found.output
    assert str(source.id) in found.output and f"«{word}»" in found.output and "1–1 de 1" in found.output
    bad = runner.invoke(app, ["documents", "search", "de o a"])
    assert bad.exit_code == 1 and "palavras pesquisáveis" in bad.output
    wrong = runner.invoke(app, ["documents", "search", word, "--kind", "edital"])
    assert wrong.exit_code == 1 and "--kind" in wrong.output

    cloned = runner.invoke(
        app,
        ["documents", "clone", str(source.id), "--titulo", "Notebooks 2027", "--processo", "23000.1/2027-01",
         "--actor", PLANNER],
        terminal_width=250,
    )  # fmt: skip
    assert cloned.exit_code == 0, cloned.output
    assert "1 seção(ões) copiada(s)" in cloned.output
    clone_id = re.search(r"documento ([0-9a-f-]{36})", cloned.output).group(1)
    with session_scope(sqlite_url) as session:
        clone = crud.get_document(session, uuid.UUID(clone_id))
        assert clone.cloned_from == source.id and clone.orgao == source.orgao
    nobody = runner.invoke(app, ["documents", "clone", str(source.id), "--titulo", "X y z", "--processo", "1"])
    assert nobody.exit_code == 1 and "--actor" in nobody.output
