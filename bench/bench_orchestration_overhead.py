"""Per-task orchestration overhead of the drafting flow against a plain function doing the same calls.

The loopback LLM answers at once, so what is measured is Prefect's cost: task runs, state changes,
result persistence and the cache lookup. Ours: generate-field flow runs (load context, draft, save:
3 tasks) with force=true (no cache hits); anchor: the same three steps as plain function calls
(`.fn`), same database, same LLM. Prints one JSON line with ms per task.
"""

from __future__ import annotations

import _harness as h  # noqa: I001

import statistics
import time

N = 30


def main() -> None:
    procs = h.Processes()
    try:
        from tests.servers.llm import FakeLLM

        llm = FakeLLM(port=h.LLM_PORT).start()
        procs.prefect_server()
        h.prepare_database()

        from core.settings import settings
        from flows.generate_field import generate_field
        from tasks.llm import draft_section, provider_config
        from tasks.records import load_drafting_contexts, save_field
        from tests.utils.builders import make_document

        doc = make_document(settings.database_url)
        slug = "descricao_necessidade"
        generate_field(doc, slug, force=True)  # warm-up: imports, client, first connection

        plain = []
        for _ in range(N):
            started = time.perf_counter()
            (ctx,) = load_drafting_contexts.fn(doc, [slug])
            draft = draft_section.fn(ctx, provider_config())
            save_field.fn(doc, slug, draft, None, None)
            plain.append(time.perf_counter() - started)
        flows = []
        for _ in range(N):
            started = time.perf_counter()
            generate_field(doc, slug, force=True)
            flows.append(time.perf_counter() - started)
        tasks_per_run = 3
        overhead_ms = (statistics.median(flows) - statistics.median(plain)) * 1000 / tasks_per_run
        h.emit({"bench": "orchestration_overhead", "unit": "ms per task", "ours": round(overhead_ms, 1),
                "anchor_name": "plain function calls", "anchor": 0.0,
                "ratio": round(statistics.median(plain) / statistics.median(flows), 3),
                "flow_run_ms_p50": round(statistics.median(flows) * 1000, 1),
                "plain_ms_p50": round(statistics.median(plain) * 1000, 1), "tasks_per_run": tasks_per_run,
                "n": N, "llm_calls": llm.calls})
        llm.stop()
    finally:
        procs.stop()


if __name__ == "__main__":
    main()
