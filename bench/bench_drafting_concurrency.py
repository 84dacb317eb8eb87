"""Drafting concurrency: a 13-section ETP with the loopback LLM answering in 1 s per call.

Ours: the generate-document flow (tasks on a thread pool under LLM_CONCURRENCY) against a real
Prefect server. Anchor, same run and same prompts: the 13 calls made one after another with the
same OpenAI client (what a plain script or the replaced service did). Target: the whole document
in at most 2x one call (sequential is 13x). Prints one JSON line.
"""

from __future__ import annotations

import _harness as h  # noqa: I001  (sets the environment first)

import time


def main() -> None:
    procs = h.Processes()
    try:
        from tests.servers.llm import FakeLLM

        llm = FakeLLM(port=h.LLM_PORT).start()
        llm.set(mode="slow", delay=1.0)
        procs.prefect_server()
        h.prepare_database()

        from flows.generate_document import generate_document
        from tasks.llm import call_chat, provider_config
        from tasks.prompts import build_messages
        from tasks.records import load_drafting_contexts
        from tests.utils.builders import make_document
        from core.settings import settings

        doc = make_document(settings.database_url)
        contexts = load_drafting_contexts.fn(doc)
        config = provider_config()
        started = time.perf_counter()
        for ctx in contexts:
            call_chat(build_messages(ctx), config)
        anchor = time.perf_counter() - started

        llm.reset()
        llm.set(mode="slow", delay=1.0)
        started = time.perf_counter()
        result = generate_document(doc)
        ours = time.perf_counter() - started
        assert len(result["fields"]) == 13, result
        h.emit({"bench": "drafting_concurrency", "unit": "s per 13-section document", "ours": round(ours, 2),
                "anchor_name": "sequential openai calls", "anchor": round(anchor, 2),
                "ratio": round(anchor / ours, 2), "one_call_s": 1.0, "ours_over_one_call": round(ours / 1.0, 2),
                "max_in_flight": llm.recorder.max_in_flight, "n": len(contexts),
                "llm_concurrency": settings.LLM_CONCURRENCY})
        llm.stop()
    finally:
        procs.stop()


if __name__ == "__main__":
    main()
