"""The search index over the collected PNCP data (models/search_index.py, tasks/prices/market_search.py), on SQLite
and PostgreSQL: kept by the upsert, built by the migration and by `nexora search reindex`, and the price research by
description through it finding exactly what the full scan found."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest
from sqlalchemy import text

from models.db import session_scope
from tasks.prices import market_data
from tasks.prices.research import SIMILARITY, jaccard, words
from tests.utils.market_sample import empty, load_sample

pytestmark = pytest.mark.integration
REFERENCE, WINDOW = date(2022, 12, 31), 7 * 365  # the whole sample (2016–2022) in one window


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sample(request):
    """The embedded sample stored once per database for the module (emptied after)."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    empty(url)
    load_sample(url)
    with session_scope(url) as s:
        if s.get_bind().dialect.name == "postgresql":
            s.exec(text("ANALYZE pncp_itens"))  # the rarest words come from pg_stats
    yield url
    empty(url)


def _key(o) -> tuple:
    return (o.numero_controle_pncp, o.numero_item, round(float(o.price), 4))


def test_research_by_description_finds_exactly_what_the_full_scan_accepts(sample):
    # given every collected price of the window, read the old way, grouped by description
    with session_scope(sample) as s:
        everything = market_data.scan_observations(s, reference_date=REFERENCE, window_days=WINDOW)
        by_description = defaultdict(list)
        for o in everything:
            by_description[o.description].append(o)
        vocabulary = {d: words(d) for d in by_description}
        assert len(everything) > 6000 and len(by_description) > 1000
        # every 8th distinct description keeps the test short (all 2,4xx passed on both databases when it was written)
        queries = sorted(by_description)[::8]
        # when each distinct sample description is researched through the index
        for query in queries:
            target = vocabulary[query]
            expected = {
                _key(o)
                for d, group in by_description.items()
                if jaccard(target, vocabulary[d]) >= SIMILARITY
                for o in group
            }
            found = market_data.observations(s, reference_date=REFERENCE, window_days=WINDOW, description=query)
            # then it returns exactly the prices the full scan's rule accepts, no more, no less
            assert {_key(o) for o in found} == expected, query
            assert found.other_items >= 0
