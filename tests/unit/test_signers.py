"""The signer backends refuse, before any run, what cannot sign (tasks/sign/signers.py)."""

import pytest

from core.settings import settings
from models.errors import ConflictError, InvalidError
from tasks.sign.signers import check_backend, load_certificates, p12_path


def test_pkcs12_needs_the_setting_and_a_certificate_per_person(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "SIGNING_PKCS12_FILE", None)
    with pytest.raises(ConflictError, match="SIGNING_PKCS12_FILE"):
        check_backend("pkcs12", "1234567", None)
    monkeypatch.setattr(settings, "SIGNING_PKCS12_FILE", tmp_path)
    with pytest.raises(ConflictError, match="esperado 1234567.p12"):
        check_backend("pkcs12", "1234567", None)
    (tmp_path / "1234567.p12").write_bytes(b"x")
    assert p12_path("1234567") == tmp_path / "1234567.p12"
    single = tmp_path / "orgao.p12"
    single.write_bytes(b"x")
    monkeypatch.setattr(settings, "SIGNING_PKCS12_FILE", single)
    assert p12_path("qualquer") == single


@pytest.mark.parametrize(
    ("backend", "pem", "words"),
    [
        ("external", None, "envie certificado_pem"),
        ("external", "não é um certificado", "PEM"),
        ("external", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "ilegível"),
        ("pkcs11", None, "desconhecido"),
    ],
)
def test_external_needs_a_readable_certificate(backend, pem, words):
    with pytest.raises(InvalidError, match=words):
        check_backend(backend, "1234567", pem)


def test_external_can_be_turned_off(monkeypatch):
    monkeypatch.setattr(settings, "SIGNING_EXTERNAL_ENABLED", False)
    with pytest.raises(ConflictError, match="desligada"):
        check_backend("external", "1234567", "x")


def test_a_certificate_and_its_chain_are_read_in_order(tmp_path):
    from tests.utils.pki import make_pki

    pki = make_pki(tmp_path, {"1234567": "Ana Planejadora"})
    chain = pki.people["1234567"].cert_pem + pki.ca.cert_pem
    certs = load_certificates(chain)
    assert [c.subject.native["common_name"] for c in certs] == ["Ana Planejadora:1234567", "AC Raiz de Teste NEXORA"]
