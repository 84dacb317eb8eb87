"""Speed and memory of the price model's features and training on 1,000,000 synthetic rows, one JSON line.

Rows from ``tasks.prices.synthetic.generate`` (seed 0, 500 codes, 2019–2022). Ours: seconds of
``build_features(rows, encodings=…).collect()`` (polars; the rows are their own history). Anchor: the same feature
pipeline written with pandas in this file (same columns, same order, same values: the first 1,000 rows and 1,000
random rows are compared within 1e-9); ratio = anchor / ours. Also: seconds of ``tasks.prices.model.train`` on the
same rows with the default parameters (calibration fit included) and LightGBM on all cores unless the machine is
busy (1-minute load ≥ cores: then half of them, noted), and each phase's peak RSS. Each phase runs in its own
process, so the peaks are apart; ``input_rss_mb`` is the process's RSS once the input is ready, before the phase.
If the pandas features on 1M rows pass ``ANCHOR_TIMEOUT_S``, they are measured on ``FALLBACK_ROWS`` rows against
ours on the same rows (said in the JSON); the ratio is never taken across sizes.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import _harness as h
import numpy as np
import polars as pl

from tasks.prices import features as F
from tasks.prices import text
from tasks.prices.dataset import PRICE
from tasks.prices.synthetic import generate

ROWS, SAMPLE, ANCHOR_TIMEOUT_S, FALLBACK_ROWS = 1_000_000, 1_000, 300, 200_000
CONFIG = F.FeatureConfig()


# --- the anchor: build_features in pandas ------------------------------------------------------------------------


def _fold(values):
    return (
        values.fillna("")
        .str.normalize("NFKD")
        .str.replace(r"[^\x00-\x7f]", "", regex=True)
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
        .str.lower()
    )


def _parse_number(values):
    import pandas as pd

    thousands = values.str.contains(r"^\d{1,3}(?:\.\d{3})+(?:,\d+)?$", regex=True)
    plain = values.where(~thousands, values.str.replace(".", "", regex=False))
    return pd.to_numeric(plain.str.replace(",", ".", n=1, regex=False), errors="coerce")


def _largest(folded, suffix: str, factor: float):
    found = folded.str.extractall(rf"({text.NUMBER})\s?{suffix}")[0]
    return (_parse_number(found) * factor).groupby(level=0).max().reindex(folded.index)


def _dimensions(folded) -> dict:
    import pandas as pd

    out = {}
    for name, units in text.DIMENSIONS.items():
        parts = [_largest(folded, rf"(?:{pattern})\b", factor) for pattern, factor in units]
        if name == "pol":
            parts.append(_largest(folded, '"', 1.0))
        out[f"num_{name}"] = np.log1p(pd.concat(parts, axis=1).max(axis=1, skipna=True))
    return out


def _hashes(tokens, index, buckets: int):
    vocabulary = tokens.drop_duplicates()
    bucket = tokens.map(dict(zip(vocabulary, (zlib.crc32(t.encode()) % buckets for t in vocabulary), strict=True)))
    counts = bucket.groupby([bucket.index, bucket.values]).size().unstack(fill_value=0)
    counts = counts.reindex(index=index, columns=range(buckets), fill_value=0).astype(float)
    counts.columns = text.hash_columns(buckets)
    return counts


def _past(frame, keys: list[str], days: int, prefix: str):
    import pandas as pd

    queries = frame[["data", *keys]].assign(_row=frame.index, _value=np.nan)
    past = frame[["data", *keys]].assign(_row=-1, _value=np.log(frame[PRICE]))
    stacked = pd.concat([queries, past], ignore_index=True)
    stacked = stacked[stacked[keys[0]].notna()].sort_values("data", kind="stable")
    groups = stacked.groupby(keys, dropna=False, sort=False)
    window = groups.rolling(f"{days}D", on="data", closed="left")["_value"]
    stats = pd.DataFrame({f"{prefix}_median": window.median().to_numpy(), f"{prefix}_n": window.count().to_numpy()})
    # the result comes group by group (groups in order of appearance), each group's rows in their order
    stats["_row"] = stacked["_row"].to_numpy()[np.argsort(groups.ngroup().to_numpy(), kind="stable")]
    out = stats[stats["_row"] >= 0].set_index("_row").reindex(frame.index)
    out[f"{prefix}_n"] = out[f"{prefix}_n"].fillna(0.0)
    return out


def pandas_features(frame, codes: dict[str, dict[str, int]]):
    """``tasks.prices.features.build_features`` (rows as their own history) with pandas."""
    import pandas as pd

    frame = frame.reset_index(drop=True)
    folded = _fold(frame["descricao"])
    frame["_description_key"] = (
        folded.str.split(",")
        .str[0]
        .str.findall(r"[a-z]{3,}")
        .map(lambda words: " ".join([w for w in words if w not in text.STOPWORDS][:2]))
        .replace("", None)
    )
    raw = {
        "cat_catalogo": frame["codigo_catalogo"],
        "cat_unidade": frame["unidade"],
        "cat_uf": frame["uf"],
        "cat_regiao": frame["uf"].str.upper().map(F.REGION_OF),
        "cat_modalidade": frame["modalidade_id"].astype("Int64").astype("string"),
        "cat_tipo": frame["material_ou_servico"],
    }
    out = {name: frame[name] for name in (PRICE, "data", "codigo_catalogo", "material_ou_servico")}
    out |= {
        name: values.map(codes.get(name, {})).fillna(F.UNKNOWN).where(values.notna()).astype(float)
        for name, values in raw.items()
    }
    out["mes"] = frame["data"].dt.month.astype(float)
    out["log_quantidade"] = np.log1p(frame["quantidade"].clip(lower=0))
    tokens = folded.str.findall(r"[a-z0-9]{3,}").explode().dropna()
    tokens = tokens[~tokens.isin(text.STOPWORDS)]
    out["txt_chars"] = folded.str.len().astype(float)
    out["txt_tokens"] = tokens.groupby(level=0).size().reindex(frame.index, fill_value=0).astype(float)
    out["txt_numbers"] = folded.str.count(text.NUMBER).astype(float)
    result = pd.concat(
        [pd.DataFrame(out | _dimensions(folded)), _hashes(tokens, frame.index, CONFIG.hash_buckets)], axis=1
    )
    windows = {
        **{prefix: (keys, CONFIG.history_days) for prefix, keys in F.HISTORY.items()},
        F.IN65: (F.HISTORY["hist_code_unit"], CONFIG.reference_days),
    }
    result = pd.concat(
        [result, *[_past(frame, keys, days, prefix) for prefix, (keys, days) in windows.items()]], axis=1
    )
    if CONFIG.count_cap:
        counts = [f"{prefix}_n" for prefix in windows]
        result[counts] = result[counts].clip(upper=CONFIG.count_cap)
    medians = F.REFERENCES[CONFIG.reference_levels]
    result["ref_median"] = result[medians].bfill(axis=1).iloc[:, 0]
    level = result[medians].notna().to_numpy()
    result["ref_level"] = np.where(level.any(axis=1), level.argmax(axis=1) + 1, 0).astype(float)
    return result[[PRICE, "data", "codigo_catalogo", "material_ou_servico", *F.feature_names(CONFIG)]]


# --- phases, each in its own process -----------------------------------------------------------------------------


def _rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _sample(height: int) -> np.ndarray:
    return np.unique(np.r_[np.arange(min(SAMPLE, height)), np.random.default_rng(0).integers(0, height, SAMPLE)])


def phase(name: str, rows: int, out: Path, threads: int) -> dict:
    started = time.perf_counter()
    frame = generate(rows, seed=0)
    generated = time.perf_counter() - started
    encodings = F.Encodings.fit(frame)
    record: dict = {"phase": name, "rows": rows, "generate_s": round(generated, 2)}
    if name == "pandas":
        table = frame.to_pandas()
        del frame
        gc.collect()
        record["input_rss_mb"] = round(_rss_mb(), 1)
        started = time.perf_counter()
        result = pandas_features(table, encodings.codes)
        record["seconds"] = time.perf_counter() - started
        sampled = pl.from_pandas(result.iloc[_sample(len(result))].drop(columns=["data"]))
    elif name == "polars":
        record["input_rss_mb"] = round(_rss_mb(), 1)
        started = time.perf_counter()
        result = F.build_features(frame, encodings=encodings, config=CONFIG).collect()
        record["seconds"] = time.perf_counter() - started
        sampled = result[_sample(result.height)].drop("data")
    else:
        from tasks.prices.model import train

        record["input_rss_mb"] = round(_rss_mb(), 1)
        started = time.perf_counter()
        model = train(frame, params={"num_threads": threads}, seed=0)
        record["seconds"] = time.perf_counter() - started
        record |= {"num_threads": threads, "num_boost_round": model.params["num_boost_round"]}
        sampled = None
    if sampled is not None:
        sampled.write_parquet(out / f"{name}-{rows}.parquet")
    record["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    record["seconds"] = round(record["seconds"], 2)
    return record


def run(name: str, rows: int, out: Path, threads: int, timeout: float | None = None) -> dict | None:
    argv = [
        sys.executable,
        __file__,
        "--phase",
        name,
        "--rows",
        str(rows),
        "--out",
        str(out),
        "--threads",
        str(threads),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        stdout, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None
    if proc.returncode:
        raise RuntimeError(f"phase {name} on {rows} rows failed ({proc.returncode})")
    return json.loads(stdout.strip().splitlines()[-1])


def same_values(out: Path, rows: int) -> tuple[bool, float]:
    ours, anchor = (pl.read_parquet(out / f"{name}-{rows}.parquet") for name in ("polars", "pandas"))
    if ours.columns != anchor.columns or ours.height != anchor.height:
        return False, math.inf
    if not ours.select(pl.col(pl.String)).equals(anchor.select(pl.col(pl.String))):
        return False, math.inf
    a, b = (frame.select(pl.exclude(pl.String)).cast(pl.Float64).to_numpy() for frame in (ours, anchor))
    gap = float(np.nanmax(np.abs(a - b) / np.maximum(1.0, np.abs(b)), initial=0.0))
    return bool(np.array_equal(np.isnan(a), np.isnan(b)) and gap <= 1e-9), gap


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    shutil.rmtree(h.HOME, ignore_errors=True)  # the harness's home: not used here
    cores, load = os.cpu_count() or 1, os.getloadavg()[0]
    threads = args.threads or (cores if load < cores else max(1, cores // 2))
    if args.phase:
        print(json.dumps(phase(args.phase, args.rows, args.out, threads)))
        return
    out = Path(tempfile.mkdtemp(prefix="nexora-bench-speed-"))
    try:
        ours, train = run("polars", args.rows, out, threads), run("train", args.rows, out, threads)
        anchor, compared = run("pandas", args.rows, out, threads, timeout=ANCHOR_TIMEOUT_S), args.rows
        if anchor is None:
            compared = min(FALLBACK_ROWS, args.rows // 5)
            anchor, ours_small = run("pandas", compared, out, threads), run("polars", compared, out, threads)
        equal, gap = same_values(out, compared)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    same_size = ours if compared == args.rows else ours_small
    h.emit(
        {
            "bench": "price_speed",
            "unit": f"seconds of the price features on {compared:,} synthetic rows",
            "rows": args.rows,
            "ours": same_size["seconds"],
            "anchor_name": "the same features in pandas (bench_price_speed.pandas_features)",
            "anchor": anchor["seconds"],
            "ratio": round(anchor["seconds"] / same_size["seconds"], 1),
            "target": 5,
            "met": anchor["seconds"] / same_size["seconds"] >= 5,
            "values_equal": equal,
            "max_relative_gap": gap,
            "anchor_rows": compared,
            "anchor_timed_out_on_rows": None if compared == args.rows else args.rows,
            "features_s": ours["seconds"],
            "features_peak_rss_mb": ours["peak_rss_mb"],
            "features_input_rss_mb": ours["input_rss_mb"],
            "anchor_peak_rss_mb": anchor["peak_rss_mb"],
            "anchor_input_rss_mb": anchor["input_rss_mb"],
            "train_s": train["seconds"],
            "train_peak_rss_mb": train["peak_rss_mb"],
            "train_input_rss_mb": train["input_rss_mb"],
            "num_threads": threads,
            "num_boost_round": train["num_boost_round"],
            "generate_s": ours["generate_s"],
            "load_1min": round(load, 2),
            "polars": pl.__version__,
            "pandas": __import__("pandas").__version__,
        }
    )


if __name__ == "__main__":
    main()
