"""Names of the Prefect global concurrency limits the tasks acquire (created by `nexora setup`,
deployments/operations/prefect_setup.py)."""

LLM_LIMIT = "llm"  # slots held during a call to the language model
CONSULTA_LIMIT = "pncp-consulta"  # rate limit (slot decay) of the PNCP consulta API
DETAIL_LIMIT = "pncp-detalhe"  # slots held while a contratação's items and results are fetched from the detail API
