"""The signer backends: `pkcs12` (a key held by the platform, one certificate per person) and `external` (the app
posts a CMS made by a token, a cloud signer or the gov.br service). PKCS#11 is documented for operators only
(docs/operations.md): it is not wired here."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from asn1crypto import pem, x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign import signers
from pyhanko.sign.general import get_pyca_cryptography_hash

from core.settings import settings
from models.errors import ConflictError, InvalidError

BACKENDS = ("pkcs12", "external")


class Signer(Protocol):
    """What a backend gives the signing step: the pyHanko signer and its certificate."""

    backend: str

    def pyhanko_signer(self) -> signers.Signer: ...

    @property
    def certificate(self) -> x509.Certificate: ...


def p12_path(person: str) -> Path:
    """The person's PKCS#12: ``{identifier}.p12`` in the folder SIGNING_PKCS12_FILE names, or that one file."""
    configured = settings.SIGNING_PKCS12_FILE
    if configured is None:
        raise ConflictError(
            "A assinatura com certificado da plataforma (pkcs12) não está configurada (SIGNING_PKCS12_FILE); "
            "use backend 'external' ou peça ao operador que configure os certificados."
        )
    path = configured / f"{person}.p12" if configured.is_dir() else configured
    if not path.is_file():
        raise ConflictError(
            f"Não há certificado para {person} em {configured} (esperado {person}.p12): cada pessoa assina com o "
            "seu próprio certificado. Peça ao operador que o instale, ou use backend 'external'."
        )
    return path


class KeyOnceSigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner with the private key parsed once: SimpleSigner.sign_raw parses it from DER on every
    signature, and cryptography's RSA consistency check made that ~50 ms, twice per signature (pyHanko signs a dry
    run to size the signature container). The key comes from the platform's own PKCS#12 file, already decrypted and
    checked by ``load_key_and_certificates``; RSA PKCS#1 v1.5 and ECDSA use the parsed key, anything else pyHanko's
    own path."""

    def __init__(self, loaded: signers.SimpleSigner):
        super().__init__(
            signing_key=loaded.signing_key,
            signing_cert=loaded.signing_cert,
            cert_registry=loaded.cert_registry,
            signature_mechanism=loaded.signature_mechanism,
        )
        self._key = serialization.load_der_private_key(
            loaded.signing_key.dump(), password=None, unsafe_skip_rsa_key_validation=True
        )

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        hash_algo = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), hash_algo)
        if mechanism == "ecdsa" and isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hash_algo))
        return super().sign_raw(data, digest_algorithm)


class Pkcs12Signer:
    backend = "pkcs12"

    def __init__(self, person: str):
        self.path = p12_path(person)
        password = settings.SIGNING_PKCS12_PASSWORD
        loaded = signers.SimpleSigner.load_pkcs12(
            str(self.path), passphrase=password.get_secret_value().encode() if password else None
        )
        if loaded is None:
            raise ConflictError(f"O certificado {self.path.name} não abriu: verifique SIGNING_PKCS12_PASSWORD.")
        self._signer = KeyOnceSigner(loaded)

    def pyhanko_signer(self) -> signers.Signer:
        return self._signer

    @property
    def certificate(self) -> x509.Certificate:
        cert = self._signer.signing_cert
        assert cert is not None
        return cert


def load_certificates(text: str) -> list[x509.Certificate]:
    """Certificates from PEM text (the signer's first, then its chain); 422 when there is none."""
    data = text.encode()
    try:
        certs = (
            [x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)] if pem.detect(data) else []
        )
        for cert in certs:
            cert.native  # noqa: B018 - parse now: a broken certificate is refused with the request
    except Exception as exc:
        raise InvalidError(f"certificado_pem ilegível: {exc}") from exc
    if not certs:
        raise InvalidError("certificado_pem: envie o certificado do signatário em PEM (-----BEGIN CERTIFICATE-----).")
    return certs


def check_backend(backend: str, person: str, certificate_pem: str | None) -> None:
    """Refuse, before a run is started, a backend that cannot sign for this person."""
    if backend == "pkcs12":
        p12_path(person)
        if certificate_pem:
            raise InvalidError("certificado_pem é só para backend 'external'; o pkcs12 usa o certificado instalado.")
    elif backend == "external":
        if not settings.SIGNING_EXTERNAL_ENABLED:
            raise ConflictError("A assinatura externa está desligada (SIGNING_EXTERNAL_ENABLED=false).")
        if not certificate_pem:
            raise InvalidError("Para backend 'external', envie certificado_pem (o certificado do signatário, PEM).")
        load_certificates(certificate_pem)
    else:
        raise InvalidError(f"backend '{backend}' desconhecido; use um de: {', '.join(BACKENDS)}.")


def trust_roots() -> list[x509.Certificate]:
    """The roots a signature must chain to (SIGNING_TRUST_ROOTS), to record it as trusted."""
    roots: list[x509.Certificate] = []
    for name in filter(None, (p.strip() for p in settings.SIGNING_TRUST_ROOTS.split(","))):
        data = Path(name).read_bytes()
        if pem.detect(data):
            roots += [x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)]
        else:
            roots.append(x509.Certificate.load(data))
    return roots


def timestamper():
    """The RFC 3161 client when SIGNING_TIMESTAMP_URL is set (PAdES B-T), else None (B-B)."""
    if not settings.SIGNING_TIMESTAMP_URL:
        return None
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

    return RequestsHTTPTimeStamper(settings.SIGNING_TIMESTAMP_URL, timeout=settings.HTTP_CLIENT_TIMEOUT)
