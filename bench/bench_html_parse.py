"""Legacy Comprasnet result pages: pages per second from HTML bytes to validated rows (contratação, items,
results, quarantine), selectolax (lexbor) against the same pipeline on BeautifulSoup's html.parser.

Ours: tasks.pncp.html.parse_page. Anchor, same run, same pages: tests/utils/comprasnet_soup.py, which reads the
same nodes and text with BeautifulSoup and hands them to the same validation (tasks.pncp.comprasnet), so the
figures differ only by the DOM library and how it is walked. Every page's output is checked equal first. Pages:
Termos de Homologação drawn by tests/utils/comprasnet_pages.realistic, latin-1, N150 of 150 items and N_MIX of
1 to 80 items. The two pipelines run in alternating rounds and each keeps its fastest round, timed as this
process's CPU time (other sessions share the machine; on an idle one CPU time and wall time agree — both are
printed). Also reported: the 150-item pages alone, and parsing alone (HTML → DOM) on them. Target: ≥ 25× for the
whole pipeline. Prints one JSON line.
"""

from __future__ import annotations

import os
import random
import shutil
import time

import _harness as h  # noqa: I001

N150 = int(os.environ.get("BENCH_N150", "6"))
N_MIX = int(os.environ.get("BENCH_N_MIX", "24"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
TARGET = 25


def pages() -> tuple[list[bytes], list[bytes]]:
    from tests.utils.comprasnet_pages import realistic

    rng = random.Random(7)
    big = [realistic(150, seed) for seed in range(N150)]
    mix = [realistic(rng.choice((1, 3, 5, 10, 20, 40, 80)), 1000 + seed) for seed in range(N_MIX)]
    return big, mix


def seconds(run, batch: list) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one pass over the batch."""
    cpu, wall = time.process_time(), time.perf_counter()
    for number, content in enumerate(batch):
        run(content, f"bench/{number}")
    return time.process_time() - cpu, time.perf_counter() - wall


def fastest(pipelines: dict[str, object], batch: list, rounds: int) -> dict[str, tuple[float, float]]:
    """Each pipeline's fastest pass (CPU, wall); ours is cheap, so it gets four passes per round to the anchor's one."""
    best = dict.fromkeys(pipelines, (float("inf"), float("inf")))
    for _ in range(rounds):
        for name, run in pipelines.items():
            for _ in range(4 if name == "ours" else 1):
                cpu, wall = seconds(run, batch)
                best[name] = (min(best[name][0], cpu), min(best[name][1], wall))
    return best


def main() -> None:
    import selectolax
    from bs4 import BeautifulSoup
    from selectolax.lexbor import LexborHTMLParser

    from tasks.pncp import html
    from tests.utils import comprasnet_soup

    try:
        big, mix = pages()
        everything = big + mix
        for number, content in enumerate(everything):
            ours, anchor = html.parse_page(content, f"p{number}"), comprasnet_soup.parse_page(content, f"p{number}")
            if ours != anchor:
                raise SystemExit(f"page {number}: selectolax and BeautifulSoup give different rows")
        rows = [html.parse_page(content, "count") for content in everything]
        pipelines = {"ours": html.parse_page, "anchor": comprasnet_soup.parse_page}
        whole = fastest(pipelines, everything, ROUNDS)
        large = fastest(pipelines, big, ROUNDS)
        texts = [html.decode(content) for content in big]
        parsing = fastest({"ours": lambda text, _: LexborHTMLParser(text),
                           "anchor": lambda text, _: BeautifulSoup(text, "html.parser")}, texts, ROUNDS)
        n = len(everything)
        ratio = round(whole["anchor"][0] / whole["ours"][0], 1)
        h.emit({"bench": "html_parse", "unit": "pages/s (CPU time)", "ours": round(n / whole["ours"][0], 1),
                "anchor_name": "the same pipeline on BeautifulSoup(html.parser)",
                "anchor": round(n / whole["anchor"][0], 2), "ratio": ratio, "target": TARGET, "met": ratio >= TARGET,
                "wall_ours": round(n / whole["ours"][1], 1), "wall_anchor": round(n / whole["anchor"][1], 2),
                "wall_ratio": round(whole["anchor"][1] / whole["ours"][1], 1), "outputs_equal": True,
                "pages": len(everything), "pages_150_items": len(big),
                "items": sum(len(r.items) for r in rows), "results": sum(len(r.results) for r in rows),
                "quarantined": sum(len(r.bad) for r in rows),
                "kb_per_150_item_page": round(sum(map(len, big)) / len(big) / 1024),
                "ms_per_150_item_page": round(large["ours"][0] / len(big) * 1000, 2),
                "anchor_ms_per_150_item_page": round(large["anchor"][0] / len(big) * 1000, 1),
                "ratio_150_items": round(large["anchor"][0] / large["ours"][0], 1),
                "parse_only_ratio_150_items": round(parsing["anchor"][0] / parsing["ours"][0], 1),
                "rounds": ROUNDS, "parser": f"selectolax {selectolax.__version__} lexbor"})
    finally:
        shutil.rmtree(h.HOME, ignore_errors=True)


if __name__ == "__main__":
    main()
