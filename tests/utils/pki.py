"""A test CA and one certificate per person, made when a test runs (no private key is ever committed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PASSWORD = "senha-de-teste"


@dataclass
class Issued:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "AC de Teste NEXORA"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _issue(subject: str, issuer: Issued | None, *, ca: bool = False, tsa: bool = False) -> Issued:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.cert.subject if issuer else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca and not tsa,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if tsa:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    cert = builder.sign((issuer or Issued(key, None)).key, hashes.SHA256())  # type: ignore[arg-type]
    return Issued(key, cert)


@dataclass
class TestPki:
    ca: Issued
    people: dict[str, Issued]
    folder: Path

    @property
    def roots_file(self) -> Path:
        return self.folder / "ca.pem"

    def issue(self, identifier: str, name: str) -> Issued:
        issued = _issue(f"{name}:{identifier}", self.ca)
        self.people[identifier] = issued
        p12 = pkcs12.serialize_key_and_certificates(
            identifier.encode(),
            issued.key,
            issued.cert,
            [self.ca.cert],
            serialization.BestAvailableEncryption(PASSWORD.encode()),
        )
        (self.folder / f"{identifier}.p12").write_bytes(p12)
        return issued

    def tsa(self) -> Issued:
        return _issue("TSA de Teste NEXORA", self.ca, tsa=True)


def make_pki(folder: Path, people: dict[str, str]) -> TestPki:
    """A CA (``ca.pem`` in ``folder``) and ``{identifier}.p12`` (password PASSWORD) for each identifier → name."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = _issue("AC Raiz de Teste NEXORA", None, ca=True)
    (folder / "ca.pem").write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
    pki = TestPki(ca, {}, folder)
    for identifier, name in people.items():
        pki.issue(identifier, name)
    return pki


def asn1(cert: x509.Certificate):
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
