"""Drafting concurrency: a 13-section ETP with the loopback LLM answering in 1 s per call.

Ours: the generate-document flow (tasks on a thread pool under LLM_CONCURRENCY) against a real
Prefect server, timed from the run's start to its Completed state (what an API client polling the
run sees; the in-process call returns up to 1 s later, when Prefect joins its heartbeat thread, and
that wall time is printed too). Anchor, same run and same prompts: the 13 calls made one after another with the
same OpenAI client (what a plain script or the replaced service did). Target: the whole document
in at most 2x one call (sequential is 13x). Prints one JSON line.
"""

from __future__ import annotations

import statistics
import time

import _harness as h

REPEATS = 5


def main() -> None:
    procs = h.Processes()
    try:
        from tests.servers.llm import FakeLLM

        llm = FakeLLM(port=h.LLM_PORT).start()
        llm.set(mode="slow", delay=1.0)
        procs.prefect_server()
        h.prepare_database()

        from core.settings import settings
        from flows.generate_document import generate_document
        from tasks.llm.client import call_chat, provider_config
        from tasks.llm.prompts import build_messages
        from tasks.records.tasks import load_drafting_contexts
        from tests.utils.builders import PLANNER, make_document

        doc = make_document(settings.database_url)
        contexts = load_drafting_contexts.fn(doc, requested_by=PLANNER)
        config = provider_config()
        started = time.perf_counter()
        for ctx in contexts:
            call_chat(build_messages(ctx), config)
        anchor = time.perf_counter() - started

        walls, server = [], []
        for _ in range(REPEATS + 1):  # the first run warms imports and connections, not counted
            llm.reset()
            llm.set(mode="slow", delay=1.0)
            doc = make_document(settings.database_url)
            started = time.perf_counter()
            state = generate_document(doc, PLANNER, return_state=True)
            walls.append(time.perf_counter() - started)
            assert state.is_completed() and len(state.result()["fields"]) == 13, state
            server.append(h.run_seconds(state))
        ours, wall = statistics.median(server[1:]), statistics.median(walls[1:])
        h.emit(
            {
                "bench": "drafting_concurrency",
                "unit": "s per 13-section document (run start to Completed)",
                "ours": round(ours, 2),
                "anchor_name": "sequential openai calls",
                "anchor": round(anchor, 2),
                "ratio": round(anchor / ours, 2),
                "one_call_s": 1.0,
                "ours_over_one_call": round(ours / 1.0, 2),
                "wall_s": round(wall, 2),
                "max_in_flight": llm.recorder.max_in_flight,
                "n": len(contexts),
                "repeats": REPEATS,
                "llm_concurrency": settings.LLM_CONCURRENCY,
            }
        )
        llm.stop()
    finally:
        procs.stop()


if __name__ == "__main__":
    main()
