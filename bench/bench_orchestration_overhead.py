"""Per-task orchestration overhead of the drafting flows against plain functions doing the same calls.

The loopback LLM answers at once, so what is measured is Prefect's cost: task runs, state changes,
result persistence, cache lookups. Two flows on the same document: generate-field (3 tasks: load,
draft, save) and generate-document (15 tasks: load, 13 drafts, save), both with force=true (no cache
hits), the document's drafts on one thread so both sides run the same calls one after another; flow
times are the server's run start → Completed (Prefect's heartbeat-thread join after the final state,
up to 1 s, is left out and the in-process wall times are printed beside). Anchor, same run: the
same steps as plain function calls (`.fn`), same database, same LLM. Per-task overhead is the slope
between the two flows, (overhead_doc - overhead_field) / 12; the fixed cost of one flow run, in-process
wall time, is `per_run_fixed_wall_ms`; `ratio` is plain ÷ flow time for the whole document.
Prints one JSON line.
"""

from __future__ import annotations

import statistics
import time

import _harness as h

N = 15


def timed(fn, n: int = N) -> float:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def run_ms(flow, *args, n: int = N, **kwargs) -> tuple[float, float]:
    """Median (server-side run start → Completed, in-process wall) of n runs, in ms."""
    server, wall = [], []
    for _ in range(n):
        started = time.perf_counter()
        state = flow(*args, return_state=True, **kwargs)
        wall.append(time.perf_counter() - started)
        assert state.is_completed(), state.message
        server.append(h.run_seconds(state))
    return statistics.median(server) * 1000, statistics.median(wall) * 1000


def main() -> None:
    procs = h.Processes()
    try:
        from tests.servers.llm import FakeLLM

        llm = FakeLLM(port=h.LLM_PORT).start()
        procs.prefect_server()
        h.prepare_database()

        from prefect.task_runners import ThreadPoolTaskRunner

        from core.settings import settings
        from flows.generate_document import generate_document
        from flows.generate_field import generate_field
        from tasks.llm.client import provider_config
        from tasks.llm.tasks import draft_section
        from tasks.records.tasks import load_drafting_contexts, save_fields
        from tests.utils.builders import PLANNER, make_document

        doc = make_document(settings.database_url)
        slug = "descricao_necessidade"
        generate_field(doc, slug, PLANNER, force=True)  # warm-up: imports, clients, first connections
        generate_document(doc, PLANNER, force=True, only_empty=False)

        def plain(slugs):
            contexts = load_drafting_contexts.fn(doc, slugs, requested_by=PLANNER)
            drafts = {c.section["slug"]: draft_section.fn(c, provider_config()) for c in contexts}
            save_fields.fn(doc, drafts, None, None, PLANNER)

        plain_field = timed(lambda: plain([slug]))
        plain_doc = timed(lambda: plain(None))
        sequential = generate_document.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))
        flow_field, wall_field = run_ms(generate_field, doc, slug, force=True)
        flow_doc, wall_doc = run_ms(sequential, doc, force=True, only_empty=False)
        over_field, over_doc = flow_field - plain_field, flow_doc - plain_doc
        per_task = (over_doc - over_field) / (15 - 3)
        h.emit(
            {
                "bench": "orchestration_overhead",
                "unit": "ms per task",
                "ours": round(per_task, 1),
                "anchor_name": "plain function calls",
                "anchor": 0.0,
                "ratio": round(plain_doc / flow_doc, 3),
                "per_run_fixed_wall_ms": round(wall_field - plain_field - 3 * per_task, 1),
                "generate_field_ms": round(flow_field, 1),
                "plain_field_ms": round(plain_field, 1),
                "generate_document_ms": round(flow_doc, 1),
                "plain_document_ms": round(plain_doc, 1),
                "wall_field_ms": round(wall_field, 1),
                "wall_document_ms": round(wall_doc, 1),
                "n": N,
                "llm_calls": llm.calls,
            }
        )
        llm.stop()
    finally:
        procs.stop()


if __name__ == "__main__":
    main()
