"""The price model against the IN 65/2021 baseline on real federal prices, one JSON line.

SIASG homologated items: train on 2016–2021, test on 2022 (time split by purchase); every test row may look back
on all prices dated before it (the model's history features and the baseline's comparables alike). Ours: the
model's MdAPE on the rows the baseline covers; anchor: the baseline's MdAPE on the same rows (the baseline is the
median of the same catalogue code and unit in the 365 days before); ratio = anchor / ours. The model's figures on
every test row, a naive global median and the CATMAT series (test = its last 6 months) come as extras, and
``years``: for test years 2020, 2021 and 2022, each trained on the earlier years, model (on the baseline's rows
and on all rows) against baseline, with the SIASG dates on 1 July (as in the file) and spread over the year by a
hash of the purchase (``dataset.from_siasg(spread=True)``, as in the real collection).
"""

from __future__ import annotations

import time
from datetime import date

import _harness as h
import polars as pl

from tasks.prices import dataset, metrics
from tasks.prices.model import baseline, evaluate, time_split, train


def figures(frame, test_months: int, seed: int = 0) -> dict:
    split = time_split(frame, test_months=test_months)
    started = time.perf_counter()
    model = train(split.train, seed=seed)
    seconds = time.perf_counter() - started
    report, in65 = evaluate(model, split.test, frame), baseline(split.test, frame)
    naive = metrics.mdape(split.test["preco_unitario"].to_list(),
                          [split.train["preco_unitario"].median()] * split.test.height)
    return {"cutoff": split.cutoff.isoformat(), "train_rows": split.train.height, "test_rows": split.test.height,
            "train_seconds": round(seconds, 1), "interval_margin": round(model.params["interval_margin"], 3),
            "model": report, "baseline": in65, "naive_global_median_mdape": naive}


def by_year(frame, years=(2020, 2021, 2022), seed: int = 0) -> dict:
    out = {}
    for year in years:
        split = time_split(frame, cutoff=date(year, 1, 1))
        test = split.test.filter(pl.col("data").dt.year() == year)
        model = train(split.train, seed=seed)
        report = evaluate(model, test, frame)
        out[year] = {"model_on_baseline_rows": report["on_baseline_rows"], "baseline": baseline(test, frame)["overall"],
                     "model_all_rows": report["overall"]}
    return out


def main() -> None:
    siasg = figures(dataset.from_siasg().collect(), test_months=12)
    series = figures(dataset.from_series().collect(), test_months=6)
    ours, anchor = siasg["model"]["on_baseline_rows"]["mdape"], siasg["baseline"]["overall"]["mdape"]
    h.emit({"bench": "price_model", "unit": "MdAPE on the rows the IN 65 baseline covers (SIASG, test 2022)",
            "ours": round(ours, 3), "anchor_name": "IN 65 baseline: median of same code+unit, 365 days before",
            "anchor": round(anchor, 3), "ratio": round(anchor / ours, 2), "siasg": siasg, "series": series,
            "years": {"1_july": by_year(dataset.from_siasg().collect()),
                      "spread": by_year(dataset.from_siasg(spread=True).collect())}})


if __name__ == "__main__":
    main()
