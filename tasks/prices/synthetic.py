"""SYNTHETIC price data in the dataset's schema (``tasks.prices.dataset.SCHEMA``), for tests and benchmarks.

Nothing here is real: the catalogue, the prices and the purchases are drawn from fixed distributions with a seed.
What it imitates of the collected data:

- a catalogue of ``codes`` codes (CATMAT-like 6 digits for materials, CATSER-like 5 for services) whose
  descriptions are written as the real ones ("NOTEBOOK, TELA 14 POL, 16 GB RAM, SSD 512 GB"); a code's base
  price comes from its item and specification; popular codes are bought far more often than the rest;
- purchases (``numero_controle_pncp`` as PNCP writes it) of 1 to ~15 items of one category, by an órgão with a
  fixed UF, with a modalidade (pregão eletrônico, dispensa, inexigibilidade…) and a date over ``years`` years
  (more purchases at the end of the budget year);
- log-normal prices around each code's base price (dispersion by category), with effects of the region and the
  UF, the month (seasonal, by category), a yearly drift (inflation, by category), the modalidade and the quantity;
- units as buyers type them ("UN", "CX C/ 50 UN", "PCT", "RESMA 500 FL", "GALÃO 5 L"…). The rows come as
  ``tasks.prices.market_data.training_frame`` gives them: ``unidade`` is the base code of
  ``tasks.prices.units.parse_unit`` and ``preco_unitario`` / ``quantidade`` are per base unit ("CX C/ 50 UN" at
  R$ 55,00 → UN at R$ 1,10). The confusion that normalisation cannot undo stays: a bare container ("CX", "PCT",
  "RESMA", "FARDO") is its own base unit at the container's price, so one code shows several units and levels;
- outliers: ``outlier_share`` of the prices (2%) ×10 or ÷10 (a misplaced decimal mark, a box priced as a unit);
- a few items without a catalogue code (2%), found only by their description.

``generate(..., extras=True)`` adds the typed unit (``unidade_fornecimento``) and the outlier flag (``outlier``).
One call builds every column with numpy and polars at once (about a second per million rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from tasks.prices.dataset import PRICE, SCHEMA
from tasks.prices.features import REGION_OF
from tasks.prices.units import parse_unit

Units = tuple[tuple[str, float, float], ...]  # (unit as typed, natural units it holds, weight)
EACH: Units = (("UN", 1, 0.75), ("UNIDADE", 1, 0.2), ("PÇ", 1, 0.05))
SMALL: Units = (
    ("UN", 1, 0.5),
    ("CX C/ 50 UN", 50, 0.2),
    ("CX", 50, 0.1),
    ("PCT C/ 10 UN", 10, 0.15),
    ("PCT", 10, 0.05),
)
BOXED: Units = (("UN", 1, 0.45), ("CX C/ 100 UN", 100, 0.3), ("CX", 100, 0.15), ("PCT C/ 10 UN", 10, 0.1))
PAPER: Units = (
    ("RESMA", 1, 0.45),
    ("RESMA 500 FL", 1, 0.2),
    ("PCT 500 FL", 1, 0.1),
    ("CX C/ 10 RESMAS", 10, 0.15),
    ("CX", 10, 0.1),
)
BOTTLE: Units = (("UN", 1, 0.4), ("FRASCO 500 ML", 1, 0.3), ("CX C/ 24 UN", 24, 0.2), ("CX", 24, 0.1))
LITRE: Units = (("L", 1, 0.45), ("LITRO", 1, 0.25), ("FRASCO 1 L", 1, 0.15), ("GALÃO 5 L", 5, 0.15))
PACK: Units = (("PCT", 1, 0.5), ("PACOTE", 1, 0.2), ("FARDO C/ 10 PCT", 10, 0.2), ("FARDO", 10, 0.1))
ROLL: Units = (
    ("ROLO", 1, 0.35),
    ("PCT C/ 4 ROLOS", 4, 0.25),
    ("FARDO C/ 64 ROLOS", 64, 0.2),
    ("FARDO", 64, 0.1),
    ("UN", 1, 0.1),
)


@dataclass(frozen=True)
class Item:
    text: str
    price: float  # R$ per natural unit (the units' content counts in it)
    slots: tuple[tuple[tuple[str, float], ...], ...] = ()  # per "{}": (value as written, price multiplier)
    units: Units | None = None


@dataclass(frozen=True)
class Category:
    kind: str  # M or S
    weight: float  # share of purchases
    sigma: float  # log-normal dispersion around a code's price
    drift: float  # log price per year
    season: float  # amplitude of the monthly effect (log), peaking in ``peak``
    peak: int
    quantity: tuple[float, float]  # log-normal of the quantity per purchase, in units as typed
    units: Units
    items: tuple[Item, ...]


CATALOGUE: dict[str, Category] = {
    "informatica": Category(
        "M",
        0.12,
        0.22,
        0.03,
        0.02,
        12,
        (1.5, 1.0),
        EACH,
        (
            Item(
                "NOTEBOOK, TELA {} POL, {} GB RAM, SSD {} GB",
                4200,
                ((("14", 1), ("15,6", 1.06)), (("8", 1), ("16", 1.25), ("32", 1.6)), (("256", 1), ("512", 1.12))),
            ),
            Item(
                "MICROCOMPUTADOR, PROCESSADOR {} NÚCLEOS, {} GB RAM, SSD 512 GB",
                5200,
                ((("6", 1), ("8", 1.15)), (("16", 1), ("32", 1.3))),
            ),
            Item("MONITOR LED, TELA {} POL, RESOLUÇÃO FULL HD", 850, ((("21,5", 1), ("23,8", 1.18), ("27", 1.5)),)),
            Item("MOUSE ÓPTICO, CONEXÃO {}, 1600 DPI", 32, ((("USB", 1), ("SEM FIO", 1.7)),)),
            Item("TECLADO, CONEXÃO USB, PADRÃO ABNT2", 48),
            Item("PEN DRIVE, CAPACIDADE {} GB, USB 3.0", 38, ((("32", 1), ("64", 1.4), ("128", 2.1)),)),
            Item("NOBREAK, POTÊNCIA {} VA, TENSÃO 220 V", 900, ((("1200", 1), ("2200", 1.9)),)),
        ),
    ),
    "expediente": Category(
        "M",
        0.2,
        0.28,
        0.07,
        0.05,
        2,
        (3.5, 1.2),
        SMALL,
        (
            Item("PAPEL A4, {} G/M2, 210 X 297 MM, BRANCO", 24, ((("75", 1), ("90", 1.3)),), PAPER),
            Item(
                "CANETA ESFEROGRÁFICA, TINTA {}, PONTA MÉDIA 1,0 MM",
                1.1,
                ((("AZUL", 1), ("PRETA", 1), ("VERMELHA", 1.05)),),
            ),
            Item("LÁPIS PRETO, GRAFITE Nº 2, SEXTAVADO", 0.6),
            Item("GRAMPEADOR DE MESA, CAPACIDADE {} FOLHAS", 35, ((("25", 1), ("100", 2.8)),), EACH),
            Item(
                "CLIPS NIQUELADO, TAMANHO {}, CAIXA 100 UN",
                6,
                ((("2/0", 1), ("4/0", 1.2), ("8/0", 1.6)),),
                (("CX", 1, 0.7), ("CAIXA", 1, 0.2), ("PCT", 1, 0.1)),
            ),
            Item("PASTA SUSPENSA, KRAFT, COM GRAMPO PLÁSTICO", 2.4),
            Item("ENVELOPE, {} MM, BRANCO", 0.35, ((("114 X 229", 1), ("240 X 340", 1.8)),), BOXED),
        ),
    ),
    "mobiliario": Category(
        "M",
        0.08,
        0.25,
        0.06,
        0.03,
        11,
        (1.8, 1.0),
        EACH,
        (
            Item(
                "CADEIRA GIRATÓRIA, ESPALDAR {}, COM BRAÇOS, REGULAGEM DE ALTURA", 780, ((("MÉDIO", 1), ("ALTO", 1.3)),)
            ),
            Item(
                "MESA DE ESCRITÓRIO, {} X 600 MM, TAMPO MDP 25 MM", 650, ((("1200", 1), ("1400", 1.15), ("1600", 1.3)),)
            ),
            Item("ARMÁRIO DE AÇO, 2 PORTAS, ALTURA 1980 MM", 1350),
            Item("ESTANTE DE AÇO, 6 PRATELEIRAS, CARGA 50 KG POR PRATELEIRA", 420),
            Item("LONGARINA, {} LUGARES, ASSENTO ESTOFADO", 1100, ((("3", 1), ("4", 1.3)),)),
        ),
    ),
    "limpeza": Category(
        "M",
        0.15,
        0.3,
        0.07,
        0.03,
        1,
        (3.0, 1.2),
        SMALL,
        (
            Item("DETERGENTE LÍQUIDO NEUTRO, FRASCO 500 ML", 2.5, (), BOTTLE),
            Item("ÁLCOOL ETÍLICO {}, LÍQUIDO", 9, ((("70%", 1), ("46%", 0.8)),), LITRE),
            Item("ÁGUA SANITÁRIA, TEOR DE CLORO ATIVO 2,5%", 4.5, (), LITRE),
            Item("PAPEL HIGIÊNICO, FOLHA {}, ROLO 30 M", 2.2, ((("SIMPLES", 1), ("DUPLA", 1.4)),), ROLL),
            Item("SACO PARA LIXO, CAPACIDADE {} L, PRETO", 0.5, ((("50", 1), ("100", 1.7), ("200", 3.0)),), BOXED),
        ),
    ),
    "alimentos": Category(
        "M",
        0.15,
        0.3,
        0.09,
        0.08,
        5,
        (4.0, 1.3),
        PACK,
        (
            Item(
                "CAFÉ TORRADO E MOÍDO, EMBALAGEM A VÁCUO 500 G",
                18,
                (),
                (("PCT", 1, 0.4), ("KG", 2, 0.3), ("PACOTE 500 G", 1, 0.2), ("FARDO C/ 10 PCT", 10, 0.1)),
            ),
            Item("AÇÚCAR CRISTAL, PACOTE 5 KG", 24),
            Item("ARROZ BRANCO, TIPO 1, PACOTE 5 KG", 28),
            Item(
                "LEITE UHT INTEGRAL, CAIXA 1 L",
                5.2,
                (),
                (("L", 1, 0.4), ("UN", 1, 0.3), ("CX C/ 12 UN", 12, 0.2), ("CX", 12, 0.1)),
            ),
            Item("ÁGUA MINERAL SEM GÁS, GARRAFÃO 20 L", 12, (), (("UN", 1, 0.6), ("GARRAFÃO", 1, 0.4))),
        ),
    ),
    "saude": Category(
        "M",
        0.12,
        0.35,
        0.06,
        0.04,
        6,
        (5.0, 1.3),
        BOXED,
        (
            Item("LUVA DE PROCEDIMENTO, LÁTEX, TAMANHO {}", 0.25, ((("P", 1), ("M", 1), ("G", 1.02)),)),
            Item("SERINGA DESCARTÁVEL, {} ML, SEM AGULHA", 0.3, ((("3", 1), ("5", 1.2), ("10", 1.5), ("20", 2.2)),)),
            Item("MÁSCARA CIRÚRGICA, TRIPLA CAMADA, COM ELÁSTICO", 0.35),
            Item("DIPIRONA SÓDICA {} MG, COMPRIMIDO", 0.12, ((("500", 1), ("1000", 1.7)),)),
        ),
    ),
    "combustivel": Category(
        "M",
        0.06,
        0.12,
        0.10,
        0.04,
        10,
        (7.0, 1.3),
        (("L", 1, 0.6), ("LITRO", 1, 0.4)),
        (
            Item("GASOLINA COMUM", 5.6),
            Item("ÓLEO DIESEL S10", 5.9),
            Item("ETANOL HIDRATADO COMBUSTÍVEL", 4.0),
        ),
    ),
    "servicos": Category(
        "S",
        0.12,
        0.35,
        0.08,
        0.02,
        12,
        (2.5, 1.3),
        (("SERVIÇO", 1, 0.6), ("UN", 1, 0.4)),
        (
            Item("SERVIÇO DE LIMPEZA E CONSERVAÇÃO, ÁREA INTERNA", 9.5, (), (("M2", 1, 0.7), ("M²", 1, 0.3))),
            Item(
                "SERVIÇO DE VIGILÂNCIA ARMADA, POSTO 12 H {}",
                14000,
                ((("DIURNO", 1), ("NOTURNO", 1.2)),),
                (("MÊS", 1, 0.6), ("MES", 1, 0.4)),
            ),
            Item("MANUTENÇÃO DE AR CONDICIONADO, ATÉ {} BTUS", 180, ((("9000", 1), ("18000", 1.3), ("30000", 1.7)),)),
            Item(
                "LOCAÇÃO DE VEÍCULO, TIPO {}, COM MOTORISTA",
                650,
                ((("SEDAN", 1), ("PICAPE 4X4", 1.4), ("VAN 15 LUGARES", 1.8)),),
                (("DIÁRIA", 1, 0.7), ("DIA", 1, 0.3)),
            ),
            Item(
                "SUPORTE TÉCNICO EM TECNOLOGIA DA INFORMAÇÃO, HORA TÉCNICA", 140, (), (("HORA", 1, 0.6), ("H", 1, 0.4))
            ),
            Item("SERVIÇO DE BUFFET, COFFEE BREAK", 38, (), (("PESSOA", 1, 0.7), ("POR PESSOA", 1, 0.3))),
            Item("LICENÇA DE SOFTWARE DE ESCRITÓRIO, ASSINATURA ANUAL", 420, (), (("LICENÇA", 1, 0.7), ("UN", 1, 0.3))),
        ),
    ),
}
REGION_EFFECT = {"Norte": 0.12, "Nordeste": 0.04, "Centro-Oeste": 0.02, "Sudeste": -0.04, "Sul": 0.0}
UF_WEIGHT = {
    "SP": 14,
    "MG": 10,
    "RJ": 9,
    "DF": 12,
    "BA": 6,
    "RS": 6,
    "PR": 5,
    "PE": 4,
    "CE": 4,
    "PA": 3,
    "SC": 3,
    "GO": 3,
    "AM": 2,
    "MA": 2,
    "ES": 2,
    "PB": 2,
    "RN": 2,
    "MT": 2,
    "MS": 2,
    "AL": 1,
    "PI": 1,
    "SE": 1,
    "RO": 1,
    "TO": 1,
    "AC": 1,
    "AP": 1,
    "RR": 1,
}
MODALIDADES = {6: (0.6, 0.0), 8: (0.24, 0.08), 9: (0.04, 0.15), 4: (0.04, -0.02), 7: (0.04, 0.03), 12: (0.04, 0.05)}
MONTH_WEIGHT = np.array([0.5, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.4, 1.6])  # fim de exercício


@dataclass(frozen=True)
class Catalogue:
    codes: pl.DataFrame  # codigo_catalogo, descricao, categoria, item, preco_base; sorted by category
    units: pl.DataFrame  # per unit option: item, unidade_fornecimento, unidade, conteudo, fator, peso


def _weights(values: list[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array / array.sum()


def catalogue(codes: int = 500, seed: int = 0) -> Catalogue:
    """The synthetic catalogue: ``codes`` codes over ``CATALOGUE``'s items, with descriptions and base prices."""
    rng = np.random.default_rng([seed, 1])
    items = [(name, category, item) for name, category in CATALOGUE.items() for item in category.items]
    chosen = np.sort(rng.choice(len(items), size=codes, p=_weights([c.weight / len(c.items) for _, c, _ in items])))
    numbers = {
        "M": iter(200000 + rng.choice(300000, codes, replace=False)),
        "S": iter(10000 + rng.choice(20000, codes, replace=False)),
    }
    records = []
    for index in chosen:
        name, category, item = items[index]
        picks = [slot[rng.integers(len(slot))] for slot in item.slots]
        price = item.price * float(np.prod([factor for _, factor in picks])) * float(np.exp(rng.normal(0, 0.15)))
        records.append(
            {
                "codigo_catalogo": str(next(numbers[category.kind])),
                "categoria": name,
                "item": int(index),
                "descricao": item.text.format(*[written for written, _ in picks]),
                "preco_base": price,
            }
        )
    options = []
    for index, (_, category, item) in enumerate(items):
        for typed, content, weight in item.units or category.units:
            unit = parse_unit(typed)
            options.append(
                {
                    "item": index,
                    "unidade_fornecimento": typed,
                    "unidade": unit.base,
                    "conteudo": float(content),
                    "fator": unit.factor,
                    "peso": weight,
                }
            )
    return Catalogue(pl.DataFrame(records), pl.DataFrame(options))


def _dates(rng: np.random.Generator, n: int, start: date, years: int) -> np.ndarray:
    first = np.datetime64(start, "M")
    months = np.arange(years * 12)
    calendar = (start.month - 1 + months) % 12
    offset = rng.choice(months, size=n, p=_weights(MONTH_WEIGHT[calendar]))
    begins = (first + offset).astype("datetime64[D]")
    length = ((first + offset + 1).astype("datetime64[D]") - begins).astype(int)
    return begins + (rng.random(n) * length).astype(int)


def generate(
    rows: int,
    seed: int = 0,
    start: date = date(2019, 1, 1),
    years: int = 4,
    *,
    codes: int = 500,
    outlier_share: float = 0.02,
    extras: bool = False,
) -> pl.DataFrame:
    """``rows`` synthetic awarded prices in ``SCHEMA`` (see the module's docstring); the same seed, the same rows.

    Dates from ``start`` over ``years`` years; ``codes`` catalogue codes; ``outlier_share`` of prices ×10 or ÷10;
    ``extras`` adds ``unidade_fornecimento`` (the unit as typed) and ``outlier`` after the schema's columns.
    """
    rng = np.random.default_rng(seed)
    book = catalogue(codes, seed)
    names = list(CATALOGUE)
    kind = {name: index for index, name in enumerate(names)}
    code_category = book.codes["categoria"].replace_strict(kind, return_dtype=pl.Int64).to_numpy()
    sizes = np.bincount(code_category, minlength=len(names))
    present = sizes > 0
    first_code = np.concatenate([[0], np.cumsum(sizes)[:-1]])

    items_per_purchase = rng.geometric(0.3, size=rows)
    purchase = np.repeat(np.arange(rows), np.minimum(items_per_purchase, 15))[:rows]
    purchases = int(purchase[-1]) + 1 if rows else 0
    p_category = rng.choice(
        len(names), size=purchases, p=_weights([c.weight * p for c, p in zip(CATALOGUE.values(), present, strict=True)])
    )
    p_date = _dates(rng, purchases, start, years)
    ufs = list(UF_WEIGHT)
    agencies = int(np.clip(rows // 200, 20, 5000))
    agency_uf = rng.choice(len(ufs), size=agencies, p=_weights(list(UF_WEIGHT.values())))
    agency_cnpj = rng.choice(10**8, size=agencies, replace=False) * 10**6 + 100 + rng.integers(0, 100, agencies)
    p_agency = rng.integers(0, agencies, size=purchases)
    modalidades = list(MODALIDADES)
    p_modalidade = rng.choice(len(modalidades), size=purchases, p=_weights([w for w, _ in MODALIDADES.values()]))

    category = p_category[purchase]
    code = first_code[category] + (sizes[category] * rng.random(rows) ** 2.5).astype(int)
    item = book.codes["item"].to_numpy()[code]
    units = book.units
    unit_item = units["item"].to_numpy()
    last = np.r_[unit_item[1:] != unit_item[:-1], True]
    share = units.select(pl.col("peso").cum_sum().over("item") / pl.col("peso").sum().over("item")).to_series()
    steps = unit_item + share.to_numpy()
    steps[last] = unit_item[last] + 1.0  # each item's options end exactly where the next item's begin
    option = np.minimum(np.searchsorted(steps, item + rng.random(rows), side="right"), len(steps) - 1)
    content, factor = units["conteudo"].to_numpy()[option], units["fator"].to_numpy()[option]

    day = p_date[purchase]
    elapsed = (day - np.datetime64(start, "D")).astype(float) / 365.25
    month = (day.astype("datetime64[M]").astype(int) % 12) + 1
    uf = agency_uf[p_agency[purchase]]
    region = np.array([REGION_EFFECT[REGION_OF[name]] for name in ufs])[uf]
    uf_effect = np.random.default_rng([seed, 2]).normal(0, 0.03, len(ufs))[uf]
    table = list(CATALOGUE.values())
    sigma, drift, season, peak = (
        np.array([getattr(c, field) for c in table]) for field in ("sigma", "drift", "season", "peak")
    )
    q_mu, q_sd = (np.array([c.quantity[index] for c in table]) for index in (0, 1))
    typed_quantity = np.maximum(1, np.round(np.exp(rng.normal(q_mu[category], q_sd[category]))))
    log_price = (
        np.log(book.codes["preco_base"].to_numpy()[code])
        + region
        + uf_effect
        + season[category] * np.cos(2 * np.pi * (month - peak[category]) / 12)
        + drift[category] * elapsed
        + np.array([e for _, e in MODALIDADES.values()])[p_modalidade[purchase]]
        - 0.02 * np.log(typed_quantity * content)
        + rng.normal(0, 1, rows) * sigma[category]
    )
    typed_price = np.maximum(0.01, np.round(np.exp(log_price) * content, 2))
    outlier = rng.random(rows) < outlier_share
    typed_price = np.where(outlier, typed_price * np.where(rng.random(rows) < 0.5, 10.0, 0.1), typed_price)

    p_number = pl.format(
        "{}-1-{}/{}",
        pl.Series(agency_cnpj[p_agency]).cast(pl.String).str.zfill(14),
        pl.Series(np.arange(1, purchases + 1)).cast(pl.String).str.zfill(6),
        pl.Series(p_date.astype("datetime64[Y]").astype(int) + 1970).cast(pl.String),
    )
    frame = pl.DataFrame(
        {
            "data": day,
            "codigo_catalogo": book.codes["codigo_catalogo"].gather(code),
            "descricao": book.codes["descricao"].gather(code),
            "unidade": units["unidade"].gather(option),
            "quantidade": typed_quantity * factor,
            PRICE: typed_price / factor,
            "uf": pl.Series(ufs).gather(uf),
            "modalidade_id": np.array(modalidades, dtype=np.int64)[p_modalidade[purchase]],
            "material_ou_servico": pl.Series([c.kind for c in table]).gather(category),
            "numero_controle_pncp": pl.select(p_number).to_series().gather(purchase),
            "unidade_fornecimento": units["unidade_fornecimento"].gather(option),
            "outlier": outlier,
        }
    ).with_columns(
        pl.when(pl.Series(rng.random(rows) < 0.02))
        .then(None)
        .otherwise(pl.col("codigo_catalogo"))
        .alias("codigo_catalogo")
    )
    return frame.select(
        [pl.col(name).cast(dtype) for name, dtype in SCHEMA.items()]
        + (["unidade_fornecimento", "outlier"] if extras else [])
    )
