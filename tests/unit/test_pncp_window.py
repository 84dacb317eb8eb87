"""What a collection window may be (Lei 14.133/2021 art. 174; today in Brasília; 31 days a run; the sample's years),
and when a contratação whose details failed is tried again or given up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from models.crud.detail_gaps import judge
from tasks.pncp.window import MAX_RUN_DAYS, WindowError, check_backfill, check_window

TODAY = date(2026, 12, 3)
CLI = {"start": "--from", "end": "--to"}


@pytest.mark.parametrize(
    "start,end,source,expected",
    [
        (None, None, "pncp", (date(2026, 12, 2), TODAY)),  # the daily run: yesterday and today
        (date(2026, 11, 3), None, "pncp", (date(2026, 11, 3), TODAY)),  # 31 days
        (None, date(2026, 3, 6), "pncp", (date(2026, 3, 5), date(2026, 3, 6))),
        (date(2021, 4, 1), date(2021, 5, 1), "pncp", (date(2021, 4, 1), date(2021, 5, 1))),
        (None, None, "amostra", (date(2016, 1, 1), date(2022, 12, 31))),  # the whole sample, no span cap
        (date(2021, 1, 1), date(2022, 12, 31), "amostra", (date(2021, 1, 1), date(2022, 12, 31))),
    ],
)
def test_windows_the_operation_can_mean(start, end, source, expected):
    assert check_window(start, end, source, today=TODAY) == expected


@pytest.mark.parametrize(
    "start,end,source,field,needle",
    [
        (date(2026, 12, 2), date(7984, 1, 1), "pncp", "end", "end 7984-01-01 é posterior a hoje (2026-12-03"),
        (None, date(4962, 5, 1), "pncp", "end", "4962-05-01 é posterior a hoje"),
        (date(394, 1, 1), date(2021, 4, 30), "pncp", "start", "start 0394-01-01 é anterior a 2021-04-01"),
        (date(2020, 12, 1), date(2020, 12, 31), "pncp", "start", "art. 174"),
        (date(2026, 12, 4), None, "pncp", "start", "start 2026-12-04 é posterior a hoje"),
        (date(2026, 3, 6), date(2026, 3, 1), "pncp", "start", "start 2026-03-06 é posterior a end 2026-03-01"),
        (
            date(2026, 1, 1),
            date(2026, 2, 1),
            "pncp",
            "end",
            f"tem 32 dias; uma execução coleta no máximo {MAX_RUN_DAYS}",
        ),
        (date(2015, 12, 31), date(2016, 1, 31), "amostra", "start", "fora da amostra embutida"),
        (date(2022, 1, 1), date(2023, 1, 1), "amostra", "end", "2023-01-01 está fora da amostra embutida"),
        (None, date(1, 1, 1), "pncp", "end", "end 0001-01-01 é anterior a 2021-04-01"),  # no overflow: a 422, not a 500
    ],
)
def test_windows_it_cannot_mean_are_refused_with_the_rule(start, end, source, field, needle):
    with pytest.raises(WindowError) as refused:
        check_window(start, end, source, today=TODAY)
    assert refused.value.field == field and needle in refused.value.message


def test_the_message_names_the_dates_as_the_caller_spelled_them():
    with pytest.raises(WindowError, match=r"^--to 7984-01-01 .*AAAA-MM-DD"):
        check_window(None, date(7984, 1, 1), today=TODAY, names=CLI)
    with pytest.raises(WindowError, match="nexora pncp backfill --from 2026-01-01 --to 2026-03-31"):
        check_window(date(2026, 1, 1), date(2026, 3, 31), today=TODAY, names=CLI)


def test_a_backfill_is_bounded_like_a_run_and_spans_a_year_at_most():
    assert check_backfill(date(2025, 1, 1), date(2025, 12, 31), today=TODAY) == (date(2025, 1, 1), date(2025, 12, 31))
    with pytest.raises(WindowError, match="tem 2073 dias; um backfill cobre no máximo 366"):
        check_backfill(date(2021, 4, 1), TODAY, today=TODAY)
    with pytest.raises(WindowError, match="anterior a 2021-04-01"):
        check_backfill(date(394, 1, 1), date(2021, 12, 31), today=TODAY)
    with pytest.raises(WindowError, match="posterior a hoje"):
        check_backfill(date(2026, 6, 1), date(7984, 1, 1), today=TODAY)


T0 = datetime(2026, 3, 10, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    "attempts,hours,status,retry_in,gone",
    [
        (1, 0, 503, timedelta(hours=1), None),  # back-off from PNCP_DETAIL_RETRY_BASE_MINUTES (60)
        (3, 5, 503, timedelta(hours=4), None),  # doubling
        (7, 100, 503, timedelta(days=1), None),  # at most a day
        (8, 150, 503, None, "8 tentativas sem sucesso"),  # PNCP_DETAIL_MAX_ATTEMPTS
        (2, 60, 404, timedelta(hours=2), None),  # 404 twice: PNCP may still be consistent
        (3, 20, 404, timedelta(hours=4), None),  # 404 three times, but within PNCP_DETAIL_GONE_HOURS (48)
        (3, 49, 404, None, "404 em 3 tentativas ao longo de 49 h"),
    ],
)
def test_a_failed_detail_is_tried_again_later_until_judged_gone(attempts, hours, status, retry_in, gone):
    now = T0 + timedelta(hours=hours)
    when, why = judge(attempts, T0, now, status)
    assert when == (now + retry_in if retry_in else None)
    assert (gone in why) if gone else why == ""
