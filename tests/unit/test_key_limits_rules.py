"""The pure parts of the per-key limits: a bucket's refill, the waiter's polling pauses (and how few reads a long
wait makes), and when the daily budget of language-model calls renews (midnight in Brasília)."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from deployments.api.llm_budget import renewal
from deployments.api.prefect_glue import poll_delays, wait_for_run
from models.crud.key_limits import refilled


@pytest.mark.parametrize(
    ("tokens", "elapsed", "expected"),
    [(0.0, 2.0, 1.0), (1.5, 100.0, 3.0), (0.5, -30.0, 0.5), (-0.5, 1.0, 0.0)],
    ids=["refills at the rate", "up to the burst", "a clock gone back refills nothing", "from a deficit"],
)
def test_a_bucket_refills_at_its_rate_up_to_its_burst(tokens, elapsed, expected):
    assert refilled(tokens, elapsed, rate_per_second=0.5, burst=3) == pytest.approx(expected)


def test_a_waiter_polls_quickly_first_then_less_often():
    delays = list(itertools.islice(poll_delays(longest=2.0), 8))
    assert delays[:3] == pytest.approx([0.25, 0.375, 0.5625])
    assert delays[-2:] == [2.0, 2.0] and delays == sorted(delays)
    # a wait of 300 s reads the run about 160 times, not 1,200 (four a second)
    reads, spent = 0, 0.0
    for delay in poll_delays(longest=2.0):
        reads, spent = reads + 1, spent + delay
        if spent >= 300:
            break
    assert 140 <= reads <= 170


def test_waiting_on_a_run_that_does_not_end_reads_it_less_and_less():
    # given a Prefect client whose run never ends
    reads = []

    class Client:
        async def read_flow_run(self, flow_run_id):
            reads.append(flow_run_id)
            return SimpleNamespace(state=None)

    # when a request waits 3 s with pauses of at most 1 s
    asyncio.run(wait_for_run(Client(), uuid.uuid4(), 3.0, longest_poll=1.0))  # type: ignore[arg-type]

    # then the run was read 6 or 7 times (at 0.25 s, 13)
    assert 5 <= len(reads) <= 7


@pytest.mark.parametrize(
    ("now", "renews"),
    [
        (datetime(2026, 12, 4, 8, 0, tzinfo=UTC), datetime(2026, 12, 5, 3, 0, tzinfo=UTC)),  # 05:00 in Brasília
        (datetime(2026, 12, 5, 2, 59, tzinfo=UTC), datetime(2026, 12, 5, 3, 0, tzinfo=UTC)),  # 23:59 in Brasília
        (datetime(2026, 12, 5, 3, 0, tzinfo=UTC), datetime(2026, 12, 6, 3, 0, tzinfo=UTC)),  # midnight: a new day
    ],
)
def test_the_llm_budget_renews_at_midnight_in_brasilia(now, renews):
    assert renewal(now) == renews
