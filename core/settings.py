"""One settings object, read from the environment and `.env` (documented in `.env.example`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, computed_field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.validation import describe, summary

# the values of .env.example and the usual stand-ins: refused as a key outside development, whatever their length
PLACEHOLDER_SECRETS = {"changethis", "change-me", "changeme", "secret", "dev", "test", "password", ""}
MIN_SECRET_CHARS = 32  # secrets.token_urlsafe(32) gives 43
KEY_HOWTO = "gere uma com: python -c 'import secrets; print(secrets.token_urlsafe(32))'"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    # production unless development is asked for: outside development a weak SECRET_KEY is refused at start-up
    ENVIRONMENT: Literal["development", "test", "production"] = "production"
    LOG_FORMAT: Literal["text", "json"] = "text"
    DATA_DIR: Path = Path("var")
    DATABASE_URL: str | None = None
    SECRET_KEY: SecretStr = SecretStr("changethis")
    # keys SECRET_KEY replaced (comma-separated): stored secrets sealed with them still open, until
    # `nexora secrets rotate` re-seals them with SECRET_KEY (docs/operations.md, "Security")
    SECRET_KEY_PREVIOUS: SecretStr = SecretStr("")
    # the key of the CPF pseudonyms (tasks/pncp/parse.mask_person); unset: derived from SECRET_KEY, and a rotation of
    # SECRET_KEY then gives the same CPF a new pseudonym in the rows written afterwards
    PSEUDONYM_KEY: SecretStr | None = None

    OPENAI_API_KEY: SecretStr | None = None
    OPENAI_BASE_URL: str | None = None
    OPENAI_MODEL: str = "gpt-4o-mini"
    HTTP_CLIENT_TIMEOUT: float = Field(60.0, gt=0)
    LLM_RETRIES: int = Field(4, ge=0, le=10)
    LLM_RETRY_DELAY_SECONDS: float = Field(2.0, ge=0)
    LLM_MAX_TOKENS: int = Field(1500, gt=0)
    LLM_CONCURRENCY: int = Field(16, ge=1, le=64)
    # whether the OpenAI-compatible provider runs inside the body's network: only then is a sigiloso estimate
    # (Lei 14.133/2021, art. 24) sent to it; otherwise ETP VI / TR alínea i are assembled from the stored research
    LLM_PROVIDER_INTERNAL: bool = False
    # optional semantic ranking of searches (tasks/search/embeddings.py): the model of an OpenAI-compatible
    # /v1/embeddings endpoint (EMBEDDINGS_URL, or OPENAI_BASE_URL) with its key (EMBEDDINGS_API_KEY, or
    # OPENAI_API_KEY); unset: no embeddings call is ever made and search ranks by text alone
    EMBEDDINGS_MODEL: str | None = None
    EMBEDDINGS_URL: str | None = None
    EMBEDDINGS_API_KEY: SecretStr | None = None
    EMBEDDINGS_TIMEOUT_SECONDS: float = Field(5.0, gt=0, le=120)
    EMBEDDINGS_RETRIES: int = Field(1, ge=0, le=5)
    EMBEDDINGS_WEIGHT: float = Field(0.5, ge=0, le=1)  # the cosine's share of the combined score

    ARTIFACTS_DIR: Path | None = None
    S3_BUCKET: str | None = None
    S3_ENDPOINT_URL: str | None = None
    S3_REGION: str = "us-east-1"
    S3_SSE: Literal["AES256", "aws:kms"] | None = None
    S3_KMS_KEY_ID: str | None = None
    S3_PRESIGN_SECONDS: int = Field(900, ge=60, le=7 * 24 * 3600)
    AWS_ACCESS_KEY_ID: str | None = None
    AWS_SECRET_ACCESS_KEY: SecretStr | None = None

    API_HOST: str = "127.0.0.1"
    API_PORT: int = 8000
    PREFECT_PORT: int = 4200
    PUBLIC_BASE_URL: str | None = None
    PREFECT_UI_PUBLIC_URL: str | None = None  # the Prefect UI as operators reach it (links in alerts and run data)
    MAX_FIELD_CHARS: int = Field(60_000, gt=0)
    RUN_START_TIMEOUT: float = Field(30.0, gt=0)
    MAX_REQUEST_BYTES: int = Field(1_048_576, ge=1024)  # larger request bodies: 413
    # the evidence file of a price research (a supplier's scanned quote, a saved page): its upload route only
    MAX_UPLOAD_BYTES: int = Field(20 * 1_048_576, ge=1024)
    # per-key limits, one token bucket per key and class of route shared by every API process through the app
    # database (deployments/api/limits.py, docs/operations.md "Abuse limits"): 429 with Retry-After above them
    READ_RATE_PER_MINUTE: float = Field(600, gt=0)  # GET/HEAD requests
    READ_RATE_BURST: int = Field(300, ge=0)  # 0: this API process answers no read of a key (429)
    WRITE_RATE_PER_MINUTE: float = Field(120, gt=0)  # POST/PUT/PATCH/DELETE requests (those starting runs included)
    WRITE_RATE_BURST: int = Field(60, ge=0)
    RUN_RATE_PER_MINUTE: float = Field(120, gt=0)  # flow runs started
    RUN_RATE_BURST: int = Field(60, ge=0)  # 0: this API process starts no flow runs (429), e.g. a read replica
    # requests waiting for a run's end (`wait`) at once in one API process: per key and in all; 429 above
    WAIT_MAX_PER_KEY: int = Field(4, ge=0, le=1000)
    WAIT_MAX_TOTAL: int = Field(64, ge=0, le=100_000)
    WAIT_POLL_MAX_SECONDS: float = Field(2.0, ge=0.1, le=60)  # a waiter reads the run at 0.25 s, then less often
    # language-model calls the drafting runs a key starts may make in a day (Brasília): 429 once spent; 0: none
    LLM_DAILY_CALLS_PER_KEY: int = Field(1000, ge=0)
    RUNNER_POLL_SECONDS: float = Field(0.5, ge=0.1, le=60)
    SCHEDULES_PAUSED: str = ""  # deployments (comma-separated, or *) whose schedules `serve` registers inactive
    # flow runs at once per executor (the `serve` runner, each worker): each is a Python process (~150 MB, ~2 s of
    # CPU to start); Prefect's runner default, and no limit at all for a worker, which 200 queued runs would swamp
    FLOW_RUN_LIMIT: int = Field(5, ge=1, le=200)
    FLOW_HEARTBEAT_SECONDS: int = Field(30, ge=30, le=3600)  # PREFECT_FLOWS_HEARTBEAT_FREQUENCY of runners/workers
    # no heartbeat for this long: the run is marked Crashed; above Prefect's default heartbeat (180 s) so that a worker
    # started without PREFECT_FLOWS_HEARTBEAT_FREQUENCY is not taken for dead
    CRASH_AFTER_SECONDS: int = Field(600, ge=31, le=86400)

    EMAIL_BACKEND: Literal["file", "smtp", "ses"] = "file"
    EMAIL_FROM: str = "NEXORA ComprasGov.AI <nao-responda@nexora.local>"
    SMTP_HOST: str = "localhost"
    SMTP_PORT: int = Field(587, gt=0, lt=65536)
    SMTP_STARTTLS: bool = True
    SMTP_SSL: bool = False
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: SecretStr | None = None
    SMTP_CA_FILE: Path | None = None
    SES_SENDER_EMAIL: str | None = None
    SES_REGION: str | None = None
    SES_ENDPOINT_URL: str | None = None
    NOTIFY_CONCURRENCY: int = Field(32, ge=1, le=256)
    NOTIFY_BATCH_SIZE: int = Field(500, ge=1, le=5000)
    NOTIFY_TIMEOUT_SECONDS: float = Field(10.0, gt=0, le=120)
    NOTIFY_MAX_ATTEMPTS: int = Field(8, ge=1, le=50)
    NOTIFY_RETRY_BASE_SECONDS: float = Field(30.0, ge=0)
    NOTIFY_RETRY_MAX_SECONDS: float = Field(3600.0, ge=0)
    NOTIFY_LEASE_SECONDS: float = Field(300.0, gt=0)
    WEBHOOK_ALLOWED_NETWORKS: str = ""
    WEBHOOK_CA_FILE: Path | None = None

    PNCP_BASE_URL: str = "https://pncp.gov.br"
    PNCP_TIMEOUT_SECONDS: float = Field(30.0, gt=0)
    PNCP_PAGE_SIZE: int = Field(50, ge=10, le=50)
    PNCP_ITEMS_PAGE_SIZE: int = Field(50, ge=1, le=1000)
    PNCP_RETRIES: int = Field(5, ge=0, le=20)
    PNCP_RETRY_BASE_SECONDS: float = Field(2.0, ge=0)
    PNCP_CONSULTA_INTERVAL_SECONDS: float = Field(2.0, gt=0)
    PNCP_DETAIL_CONCURRENCY: int = Field(4, ge=1, le=32)
    PNCP_SLICE_CONCURRENCY: int = Field(3, ge=1, le=16)
    PNCP_DETAIL_MAX_ATTEMPTS: int = Field(8, ge=1, le=50)
    PNCP_DETAIL_RETRY_BASE_MINUTES: float = Field(60.0, ge=0)
    PNCP_DETAIL_GONE_HOURS: float = Field(48.0, ge=0)
    PNCP_DETAIL_GAP_BATCH: int = Field(500, ge=1, le=10000)
    # collect-pncp-documents: other bodies' ETPs/TRs (flows/collect_pncp_documents.py)
    PNCP_DOCUMENTS_BATCH: int = Field(200, ge=1, le=10000)  # contratações listed per run, newest first
    PNCP_DOCUMENT_MAX_BYTES: int = Field(30_000_000, ge=1000)  # a download larger than this is not kept
    PNCP_DOCUMENT_MAX_PAGES: int = Field(400, ge=1)
    PNCP_ZIP_MAX_MEMBERS: int = Field(200, ge=1)
    PNCP_ZIP_MAX_UNCOMPRESSED_BYTES: int = Field(100_000_000, ge=1000)
    # drafting with marked examples (tasks/llm/examples.py): 0 turns them off
    DRAFTING_EXAMPLES: int = Field(3, ge=0, le=10)
    DRAFTING_EXAMPLE_CHARS: int = Field(1200, ge=100, le=10000)
    # publication (publish-pncp): PNCP's integration API, the training environment unless told otherwise
    PNCP_INTEGRATION_URL: str = "https://treina.pncp.gov.br/api/pncp"
    PNCP_LOGIN: str | None = None
    PNCP_PASSWORD: SecretStr | None = None
    PNCP_PUBLISH_RETRIES: int = Field(4, ge=0, le=20)
    PNCP_PUBLISH_RETRY_SECONDS: float = Field(5.0, ge=0)

    MLFLOW_TRACKING_URI: str | None = None
    PRICE_MODEL_PROMOTION_MARGIN: float = Field(0.02, ge=0, lt=1)
    PRICE_MODEL_TEST_MONTHS: int = Field(12, ge=1, le=60)
    PRICE_MODEL_MIN_ROWS: int = Field(200, ge=10)
    PRICE_MODEL_REFRESH_SECONDS: float = Field(30.0, ge=0)
    PRICE_MODEL_THREADS: int = Field(0, ge=0, le=64)
    PRICE_RESEARCH_WINDOW_DAYS: int = Field(365, ge=1)  # at most 365: check_price_research_settings
    PRICE_RESEARCH_OUTLIERS: Literal["auto", "iqr", "mediana_demais", "dp", "mediana", "none"] = "auto"
    PRICE_RESEARCH_IQR_K: float = Field(1.5, gt=0)
    # "auto" and "mediana_demais": a price above RATIO_LIMIT × or below 1/RATIO_LIMIT of the median of the other
    # prices is set aside; "auto" uses IQR from IQR_FROM prices on; the justification is printed in every mapa
    PRICE_RESEARCH_RATIO_LIMIT: float = Field(3.0, gt=1)
    PRICE_RESEARCH_IQR_FROM: int = Field(8, ge=4)
    PRICE_RESEARCH_LIMITS_JUSTIFICATION: str = Field(
        "limites simétricos em escala multiplicativa (o triplo e um terço da mediana dos demais preços): preços de "
        "um mesmo item em contratações públicas variam com a quantidade, o local e a data, e diferenças menores "
        "que essas são variação de mercado, não erro; um preço fora delas é tratado como excessivamente elevado "
        "ou inexequível e fica listado com o motivo, para a análise crítica da equipe (art. 6º, §§ 3º e 4º)",
        min_length=20,
    )
    PRICE_RESEARCH_MIN_PRICES: int = Field(3, ge=1)  # at least 3: check_price_research_settings
    # above this coefficient of variation of the kept prices the mapa asks for the critical analysis (art. 6º §4º)
    PRICE_RESEARCH_CV_LIMIT: float = Field(0.25, gt=0)
    PRICE_INDEX_FILE: Path | None = None

    # signatures (sign-document): a .p12 file, or a folder with one `{identifier}.p12` per person; its password
    SIGNING_PKCS12_FILE: Path | None = None
    SIGNING_PKCS12_PASSWORD: SecretStr | None = None
    SIGNING_EXTERNAL_ENABLED: bool = True  # the `external` backend: the app posts the CMS (token, cloud, gov.br)
    SIGNING_TRUST_ROOTS: str = ""  # PEM file(s) of the roots a signature must chain to (comma-separated)
    SIGNING_TIMESTAMP_URL: str | None = None  # an RFC 3161 server: PAdES B-T; none: B-B
    SIGNING_EXTERNAL_TIMEOUT_SECONDS: int = Field(3600, ge=30, le=7 * 24 * 3600)  # how long a run waits for the CMS
    SIGNING_LOCATION: str = "Brasil"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def database_url(self) -> str:
        if self.DATABASE_URL:
            url = self.DATABASE_URL
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{(self.DATA_DIR / 'nexora.db').as_posix()}"

    @property
    def artifacts_dir(self) -> Path:
        return self.ARTIFACTS_DIR or self.DATA_DIR / "artifacts"

    def schedule_paused(self, flow_name: str) -> bool:
        names = {name.strip() for name in self.SCHEDULES_PAUSED.split(",") if name.strip()}
        return "*" in names or flow_name in names

    @property
    def llm_enabled(self) -> bool:
        return self.OPENAI_API_KEY is not None and self.OPENAI_API_KEY.get_secret_value() != ""

    @property
    def api_url(self) -> str:
        return self.PUBLIC_BASE_URL or f"http://{self.API_HOST}:{self.API_PORT}"

    @property
    def prefect_ui_url(self) -> str:
        """Base of the links to runs: PREFECT_UI_PUBLIC_URL, or the embedded server on loopback."""
        if self.PREFECT_UI_PUBLIC_URL:
            return self.PREFECT_UI_PUBLIC_URL.rstrip("/")
        return f"http://127.0.0.1:{self.PREFECT_PORT}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def mail_outbox_dir(self) -> Path:
        return self.DATA_DIR / "mail-outbox"

    @property
    def previous_secret_keys(self) -> list[str]:
        return [key.strip() for key in self.SECRET_KEY_PREVIOUS.get_secret_value().split(",") if key.strip()]

    @model_validator(mode="after")
    def _refuse_weak_secrets(self) -> Settings:
        if self.ENVIRONMENT == "development":
            return self
        problems = [
            problem
            for name, value in (("SECRET_KEY", self.SECRET_KEY), ("PSEUDONYM_KEY", self.PSEUDONYM_KEY))
            if value is not None and (problem := weak_secret(name, value.get_secret_value()))
        ]
        if problems:
            where = f"chave recusada com ENVIRONMENT={self.ENVIRONMENT}"
            development = "numa máquina de desenvolvimento: ENVIRONMENT=development"
            raise ValueError(f"{'; '.join(problems)} — {where}; {KEY_HOWTO} ({development})")
        return self

    @model_validator(mode="after")
    def _price_research_within_the_norm(self) -> Settings:
        problems = check_price_research_settings(self.PRICE_RESEARCH_MIN_PRICES, self.PRICE_RESEARCH_WINDOW_DAYS)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _crash_after_a_missed_heartbeat(self) -> Settings:
        if self.CRASH_AFTER_SECONDS <= self.FLOW_HEARTBEAT_SECONDS:
            raise ValueError(
                f"CRASH_AFTER_SECONDS ({self.CRASH_AFTER_SECONDS}) must exceed FLOW_HEARTBEAT_SECONDS "
                f"({self.FLOW_HEARTBEAT_SECONDS}): a live run would be marked Crashed"
            )
        return self


ART_6 = (
    'IN SEGES/ME nº 65/2021, art. 6º: "Serão utilizados, como métodos para obtenção do preço estimado, a média, a '
    "mediana ou o menor dos valores obtidos na pesquisa de preços, desde que o cálculo incida sobre um conjunto de "
    'três ou mais preços (…)"'
)
ART_23_II = (
    'Lei nº 14.133/2021, art. 23, § 1º, II: "contratações similares feitas pela Administração Pública, em execução '
    'ou concluídas no período de 1 (um) ano anterior à data da pesquisa de preços (…)"'
)


def check_price_research_settings(min_prices: int, window_days: int) -> list[str]:
    """Why the price research settings would make a research the norm does not accept (empty when they do not).

    - PRICE_RESEARCH_MIN_PRICES ≥ 3 (ART_6): fewer prices are a case-by-case exception (art. 6º, § 5º: the
      gestor's justification approved by the competent authority), never a default of the system.
    - PRICE_RESEARCH_WINDOW_DAYS ≤ 365 (ART_23_II, and IN 65/2021, art. 5º, II): the contratações similares are
      those of the year before; 365 days never reach past it, whatever the leap years.
    Refused when the settings are read, so a process does not start with them."""
    problems = []
    if min_prices < 3:
        problems.append(
            f"PRICE_RESEARCH_MIN_PRICES={min_prices} é menor que 3: o preço estimado se calcula sobre três ou mais "
            f"preços ({ART_6}); menos de três só no caso a caso do art. 6º, § 5º, com justificativa aprovada pela "
            "autoridade competente"
        )
    if window_days > 365:
        problems.append(
            f"PRICE_RESEARCH_WINDOW_DAYS={window_days} passa de 365 dias: {ART_23_II}; a mesma janela na IN SEGES/ME "
            "nº 65/2021, art. 5º, II"
        )
    return problems


def weak_secret(name: str, value: str) -> str | None:
    """Why a key may not be used outside development (None when it may)."""
    if value.strip().lower() in PLACEHOLDER_SECRETS:
        return f"{name} é um valor de exemplo (o de .env.example ou equivalente)"
    if len(value) < MIN_SECRET_CHARS:
        return f"{name} tem {len(value)} caracteres, menos que {MIN_SECRET_CHARS}"
    return None


class SettingsRefused(SystemExit):
    """The process does not start with these settings: one line saying why (no traceback, no value of a setting)."""


def _without_secret(error: Any) -> Any:
    """A settings error with its input only when it is one plain setting's value (a model validator's input is
    every setting read)."""
    field = Settings.model_fields.get(str(error["loc"][0])) if error.get("loc") else None
    if field is None or "SecretStr" in str(field.annotation):
        return {key: value for key, value in error.items() if key != "input"}
    return error


def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:  # its text would echo the settings read, secrets included
        errors = [_without_secret(error) for error in exc.errors(include_url=False)]
        raise SettingsRefused(f"configuração recusada: {summary(describe(errors, root=''), limit=10)}") from None


settings = get_settings()
