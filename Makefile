# Two commands do all the set-up: `make demo` and `make test` (each installs on first use).
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
# Byte-code: some machines set PYTHONDONTWRITEBYTECODE=1, and then every process (each flow run, each `nexora`
# command) compiled every module it imported from source again: `nexora model list` spent 9 of its 12 s there.
# uv compiles the installed packages once; our own modules are cached on first import.
export UV_COMPILE_BYTECODE := 1
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install browser office demo test test-fast test-scale fuzz up bench lint audit clean

# Installing is quiet: its output goes to var/install.log, shown only when it fails.
INSTALL_LOG := var/install.log
quietly = mkdir -p var && ($(1)) >>$(INSTALL_LOG) 2>&1 || { cat $(INSTALL_LOG); echo "falhou: veja $(INSTALL_LOG)"; exit 1; }

$(UV):
	@echo "instalando uv $(UV_VERSION) em .tools/…"
	@$(call quietly,$(PYTHON) -m venv .tools && .tools/bin/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION))

.venv/.installed: pyproject.toml uv.lock | $(UV)
	@echo "instalando as dependências travadas em uv.lock (.venv/; primeira vez: 1 a 3 min)…"
	@$(call quietly,$(UV) sync --frozen)
	@touch $@

install: .venv/.installed

# The browser test drives Debian's chromium (Playwright downloads no browser here); installed once, as root.
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# The DOCX as LibreOffice reads it (tests/integration/test_office_render.py): LibreOffice Writer and its Python bridge
# (UNO, for the system Python), installed once, as root.
office:
	@(test -x /usr/bin/soffice && /usr/bin/python3 -c "import uno" 2>/dev/null) || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-writer-nogui python3-uno >/dev/null)

# The embedded mode on this machine: settings default to production (a placeholder SECRET_KEY is refused), so
# `make demo` and `make up` ask for development, and say so, unless ENVIRONMENT is set (environment or .env).
EMBEDDED = $(if $(or $(ENVIRONMENT),$(shell grep -s '^ *ENVIRONMENT *= *[a-z]' .env)),,ENVIRONMENT=development)
define embedded_notice
	@$(if $(EMBEDDED),echo "ENVIRONMENT=development (modo embutido nesta máquina: a SECRET_KEY de exemplo é aceita; \
	em produção defina ENVIRONMENT e SECRET_KEY, veja docs/operations.md)")
endef

demo: install
	$(embedded_notice)
	@$(EMBEDDED) .venv/bin/nexora demo

# Two pytest processes (pytest-xdist), a file's tests together in one: each process is a test session with its own
# Prefect server, runner, MLflow and loopback servers, on its own ports and databases. The tests wait on flow runs
# and servers far more than they compute: on 2 cores, 10.5 min instead of 21. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: install browser office
	.venv/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The fast loop while you build: the unit tier (tests/unit: no server, no network), well under a minute.
test-fast: install
	.venv/bin/python -m pytest -m unit -q tests/unit

# The production shape scaled out (tests/e2e/test_scale_out.py): apart from `make test`, which it would double.
test-scale: install
	.venv/bin/python -m pytest -m scale tests/e2e/test_scale_out.py

# The longer fuzz run (make test tries 20 examples per operation): 500, explored at random (FUZZ_SEED).
fuzz: install
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} FUZZ_SEED=$${FUZZ_SEED:-1} .venv/bin/python -m pytest tests/e2e/test_fuzz_api.py

up: install
	$(embedded_notice)
	$(EMBEDDED) .venv/bin/nexora up

bench: install
	for b in bench/bench_*.py; do .venv/bin/python $$b || exit 1; done

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/deptry .
	.venv/bin/mypy

# Known vulnerabilities in every locked package (OSV). Needs api.osv.dev: not reachable from the development machine.
audit: $(UV)
	$(UV) audit --frozen --preview-features audit-command

clean:
	rm -rf var .pytest_cache
