"""Legacy Comprasnet result pages: pages per second from HTML bytes to validated rows (contratação, items,
results, quarantine), selectolax (lexbor) against the same pipeline on BeautifulSoup's html.parser.

Ours: tasks.pncp.html.parse_page. Anchor, same run, same pages: tests/utils/comprasnet_soup.py, which reads the
same nodes and text with BeautifulSoup and hands them to the same validation (tasks.pncp.comprasnet), so the
figures differ only by the DOM library and how it is walked. Every page's output is checked equal first. Pages:
Termos de Homologação drawn by tests/utils/comprasnet_pages.realistic, latin-1, N150 of 150 items and N_MIX of
1 to 80 items. Timing is per page and interleaved: in each round every page goes through the anchor once and
ours three times, and each keeps a page's fastest time, as this process's CPU time (other sessions share the
machine and come and go; on an idle one CPU and wall time agree — the wall-time ratio is printed too). Measured
twice in one process: first with glibc's default allocator settings, then after
tasks.pncp.html.keep_parser_memory() (what a worker parsing many pages runs; process-wide, so the anchor runs
under it too) — the headline figures are the second. Also reported: the 150-item pages alone, and parsing alone
(HTML → DOM) on them. Target: ≥ 25× for the whole pipeline. Prints one JSON line.
"""

from __future__ import annotations

import os
import random
import shutil
import time

import _harness as h

N150 = int(os.environ.get("BENCH_N150", "5"))
N_MIX = int(os.environ.get("BENCH_N_MIX", "16"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
TARGET = 25


def pages() -> list[bytes]:
    from tests.utils.comprasnet_pages import realistic

    rng = random.Random(7)
    big = [realistic(150, seed) for seed in range(N150)]
    return big + [realistic(rng.choice((1, 3, 5, 10, 20, 40, 80)), 1000 + seed) for seed in range(N_MIX)]


def fastest(
    pipelines: dict[str, tuple[object, int]],
    inputs: list,
    rounds: int = ROUNDS,
) -> dict[str, list[tuple[float, float]]]:
    """Per pipeline and page, the fastest (CPU, wall) seconds over ``rounds`` rounds of ``repeat`` runs each."""
    best = {name: [(float("inf"), float("inf"))] * len(inputs) for name in pipelines}
    for _ in range(rounds):
        for number, content in enumerate(inputs):
            for name, (run, repeat) in pipelines.items():
                for _ in range(repeat):
                    cpu, wall = time.process_time(), time.perf_counter()
                    run(content, f"bench/{number}")
                    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                    kept = best[name][number]
                    best[name][number] = (min(kept[0], cpu), min(kept[1], wall))
    return best


def total(times: list[tuple[float, float]], clock: int = 0) -> float:
    return sum(page[clock] for page in times)


def measure(everything: list[bytes]) -> dict[str, float]:
    from bs4 import BeautifulSoup
    from selectolax.lexbor import LexborHTMLParser

    from tasks.pncp import html
    from tests.utils import comprasnet_soup

    times = fastest({"ours": (html.parse_page, 3), "anchor": (comprasnet_soup.parse_page, 1)}, everything)
    texts = [html.decode(content) for content in everything[:N150]]
    parsing = fastest(
        {
            "ours": (lambda text, _: LexborHTMLParser(text), 3),
            "anchor": (lambda text, _: BeautifulSoup(text, "html.parser"), 1),
        },
        texts,
    )
    ours, anchor = total(times["ours"]), total(times["anchor"])
    big_ours, big_anchor = total(times["ours"][:N150]), total(times["anchor"][:N150])
    return {
        "ours": len(everything) / ours,
        "anchor": len(everything) / anchor,
        "ratio": anchor / ours,
        "wall_ratio": total(times["anchor"], 1) / total(times["ours"], 1),
        "ms_150": big_ours / N150 * 1000,
        "anchor_ms_150": big_anchor / N150 * 1000,
        "ratio_150": big_anchor / big_ours,
        "parse_ratio_150": total(parsing["anchor"]) / total(parsing["ours"]),
    }


def main() -> None:
    import selectolax

    from tasks.pncp import html
    from tests.utils import comprasnet_soup

    try:
        everything = pages()
        rows = []
        for number, content in enumerate(everything):
            ours, anchor = html.parse_page(content, f"p{number}"), comprasnet_soup.parse_page(content, f"p{number}")
            if ours != anchor:
                raise SystemExit(f"page {number}: selectolax and BeautifulSoup give different rows")
            rows.append(ours)
        default = measure(everything)
        tuned = html.keep_parser_memory()
        kept = measure(everything)
        h.emit(
            {
                "bench": "html_parse",
                "unit": "pages/s (CPU time)",
                "ours": round(kept["ours"], 1),
                "anchor_name": "the same pipeline on BeautifulSoup(html.parser)",
                "anchor": round(kept["anchor"], 2),
                "ratio": round(kept["ratio"], 1),
                "target": TARGET,
                "met": kept["ratio"] >= TARGET,
                "wall_ratio": round(kept["wall_ratio"], 1),
                "outputs_equal": True,
                "keep_parser_memory": tuned,
                "pages": len(everything),
                "pages_150_items": N150,
                "items": sum(len(r.items) for r in rows),
                "results": sum(len(r.results) for r in rows),
                "quarantined": sum(len(r.bad) for r in rows),
                "kb_per_150_item_page": round(sum(map(len, everything[:N150])) / N150 / 1024),
                "ms_per_150_item_page": round(kept["ms_150"], 2),
                "anchor_ms_per_150_item_page": round(kept["anchor_ms_150"], 1),
                "ratio_150_items": round(kept["ratio_150"], 1),
                "parse_only_ratio_150_items": round(kept["parse_ratio_150"], 1),
                "default_allocator": {
                    "ours": round(default["ours"], 1),
                    "anchor": round(default["anchor"], 2),
                    "ratio": round(default["ratio"], 1),
                    "ms_per_150_item_page": round(default["ms_150"], 2),
                    "ratio_150_items": round(default["ratio_150"], 1),
                    "parse_only_ratio_150_items": round(default["parse_ratio_150"], 1),
                },
                "rounds": ROUNDS,
                "parser": f"selectolax {selectolax.__version__} lexbor",
            }
        )
    finally:
        shutil.rmtree(h.HOME, ignore_errors=True)


if __name__ == "__main__":
    main()
