"""Units of supply as typed by buyers ("UN", "Unidade", "CX C/ 100 UN", "UNIDADE 1.0 MILILITRO", "GALÃO 3,6L" …)
→ a base unit and a factor (how many base units one unit of supply holds), so that prices compare per base unit.

Rules, in order:

- the text is folded (lower case, no accents, "m²" → "m2", "un." → "un", spaces around "/" removed);
- a known name on its own is a base unit with factor 1, or a multiple of one ("KG" = 1000 G, "L" = 1000 ML,
  "CM" = 0,01 M): see ``ALIASES``;
- a container or unit followed by a count and a unit is a pack: "CX C/ 100 UN" = 100 UN, "CAIXA 50,00 UN",
  "PCT 10 UN", "FRASCO 500 ML", "GALÃO 5 L", "RESMA 500 FL", "UNIDADE 1.0 MILILITRO" (PNCP's style) = 1 ML,
  "CX 12 X 1 L" = 12000 ML; the inner unit is parsed by the same rules, so packs of packs multiply;
- numbers: a comma is the decimal mark ("3,6"; "1.000,50"); with dots only, "1.000" (groups of three) is a
  thousands separator and "1.0" a decimal point;
- a container without its content ("CX", "PCT", "GALÃO", "RESMA") is its own base with factor 1: its content
  is not guessed. A bare RESMA is thus RESMA, not 500 FL; "RESMA 500 FL" is 500 FL;
- units whose price does not scale with the quantity get their own base rather than a fraction of another:
  MEIA_DIARIA (a half-day rate is not half a day's rate), H_EXTRA, KM_EXTRA, M2_DIA (rental per m² per day);
- anything else (an object's name typed as a unit, "MATERIAL", "Software", a bare number, a typo) is unknown:
  ``parse_unit`` returns None and the caller keeps the price apart.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    base: str
    factor: float
    raw: str


def _names(base: str, factor: float, *names: str) -> dict[str, tuple[str, float]]:
    return dict.fromkeys(names, (base, float(factor)))


ALIASES: dict[str, tuple[str, float]] = {
    **_names(
        "UN",
        1,
        "un",
        "und",
        "unid",
        "uni",
        "ud",
        "u",
        "um",
        "unit",
        "unidade",
        "unidades",
        "pc",
        "pca",
        "peca",
        "pecas",
    ),
    **_names("PAR", 1, "par", "pares", "pr"),
    **_names("KIT", 1, "kit", "kits"),
    **_names("CJ", 1, "cj", "conj", "conjunto", "conjuntos"),
    **_names("JOGO", 1, "jogo", "jogos", "jg"),
    **_names("LOTE", 1, "lote", "lotes", "lote completo"),
    **_names("CX", 1, "cx", "caixa", "caixas"),
    **_names("PCT", 1, "pct", "pcte", "pacote", "pacotes"),
    **_names("FR", 1, "fr", "frasco", "frascos"),
    **_names("GALAO", 1, "galao", "galoes"),
    **_names("LATA", 1, "lata", "latas"),
    **_names("ROLO", 1, "rolo", "rolos", "rl", "ro"),
    **_names("TUBO", 1, "tubo", "tubos"),
    **_names("BISNAGA", 1, "bisnaga", "bisnagas"),
    **_names("POTE", 1, "pote", "potes"),
    **_names("SACO", 1, "saco", "sacos"),
    **_names("EMBALAGEM", 1, "embalagem", "embalagens", "emb"),
    **_names("CILINDRO", 1, "cilindro", "cilindros"),
    **_names("BARRA", 1, "barra", "barras"),
    **_names("RESMA", 1, "resma", "resmas"),
    **_names("AMPOLA", 1, "ampola", "ampolas", "amp"),
    **_names("GARRAFA", 1, "garrafa", "garrafas"),
    **_names("GARRAFAO", 1, "garrafao", "garrafoes"),
    **_names("FARDO", 1, "fardo", "fardos"),
    **_names("COPO", 1, "copo", "copos"),
    **_names("ML", 1, "ml", "mililitro", "mililitros"),
    **_names("ML", 1000, "l", "lt", "litro", "litros"),
    **_names("G", 1, "g", "gr", "grama", "gramas"),
    **_names("G", 0.001, "mg", "miligrama", "miligramas"),
    **_names("G", 1000, "kg", "quilo", "quilos", "quilograma", "quilogramas", "kilo", "kilograma"),
    **_names("G", 1_000_000, "t", "ton", "tonelada", "toneladas"),
    **_names("M", 1, "m", "metro", "metros", "metro linear", "metros lineares"),
    **_names("M", 0.01, "cm", "centimetro", "centimetros"),
    **_names("M", 0.001, "mm", "milimetro", "milimetros"),
    **_names("M", 1000, "km", "quilometro", "quilometros"),
    **_names("M2", 1, "m2", "metro quadrado", "metros quadrados", "valor do m2"),
    **_names("M3", 1, "m3", "metro cubico", "metros cubicos"),
    **_names("FL", 1, "fl", "fls", "folha", "folhas"),
    **_names("H", 1, "h", "hr", "hrs", "hs", "hora", "horas"),
    **_names("DIA", 1, "dia", "dias", "diaria", "diarias", "diaria (8h)"),
    **_names("MES", 1, "mes", "meses", "mensal", "mensalidade", "mes/meses"),
    **_names("ANO", 1, "ano", "anos", "anual"),
    **_names("SERVICO", 1, "servico", "servicos", "sv", "servico tecnico", "und servico tecnico", "unidade de servico"),
    **_names("PESSOA", 1, "pessoa", "pessoas", "por pessoa", "valor por pessoa"),
    **_names("LICENCA", 1, "licenca", "licencas"),
    **_names("PONTO", 1, "ponto", "pontos"),
    **_names("TRASLADO", 1, "traslado", "translado", "traslados", "translados"),
    **_names("MEIA_DIARIA", 1, "meia diaria", "meias diarias"),
    **_names("H_EXTRA", 1, "hora extra", "horas extras", "he"),
    **_names("KM_EXTRA", 1, "km extra", "quilometro extra"),
    **_names("M2_DIA", 1, "diaria do m2", "diaria m2", "m2/dia", "m2/diaria", "m quadrado/diaria"),
    **_names("M_DIA", 1, "diaria do metro linear", "diaria metro linear", "metro linear/dia"),
}
# Words that may open a pack ("CX C/ 100 UN", "UNIDADE 1.0 MILILITRO", "LOTE COM 6 LICENÇAS").
PACKS = frozenset(
    name
    for name, (base, _) in ALIASES.items()
    if " " not in name
    and base
    in {
        "UN",
        "KIT",
        "CJ",
        "JOGO",
        "LOTE",
        "CX",
        "PCT",
        "FR",
        "GALAO",
        "LATA",
        "ROLO",
        "TUBO",
        "BISNAGA",
        "POTE",
        "SACO",
        "EMBALAGEM",
        "CILINDRO",
        "RESMA",
        "AMPOLA",
        "GARRAFA",
        "GARRAFAO",
        "FARDO",
        "COPO",
    }
)
PACK = re.compile(
    r"^(?:(?P<pack>[a-z]+)\s*(?:c/|com|contendo|de|/)?\s*)?(?P<n>\d+(?:[.,]\d+)*)\s*(?:x\s*)?"
    r"(?P<rest>.+)$"
)
LABELS = {  # base → how it reads in a document
    "UN": "unidade",
    "PAR": "par",
    "KIT": "kit",
    "CJ": "conjunto",
    "JOGO": "jogo",
    "LOTE": "lote",
    "CX": "caixa",
    "PCT": "pacote",
    "FR": "frasco",
    "GALAO": "galão",
    "LATA": "lata",
    "ROLO": "rolo",
    "TUBO": "tubo",
    "BISNAGA": "bisnaga",
    "POTE": "pote",
    "SACO": "saco",
    "EMBALAGEM": "embalagem",
    "CILINDRO": "cilindro",
    "BARRA": "barra",
    "RESMA": "resma",
    "AMPOLA": "ampola",
    "GARRAFA": "garrafa",
    "GARRAFAO": "garrafão",
    "FARDO": "fardo",
    "COPO": "copo",
    "ML": "mililitro",
    "G": "grama",
    "M": "metro",
    "M2": "metro quadrado",
    "M3": "metro cúbico",
    "FL": "folha",
    "H": "hora",
    "DIA": "diária",
    "MES": "mês",
    "ANO": "ano",
    "SERVICO": "serviço",
    "PESSOA": "pessoa",
    "LICENCA": "licença",
    "PONTO": "ponto",
    "TRASLADO": "traslado",
    "MEIA_DIARIA": "meia diária",
    "H_EXTRA": "hora extra",
    "KM_EXTRA": "km extra",
    "M2_DIA": "m² por dia",
    "M_DIA": "metro linear por dia",
}


def fold(text: str) -> str:
    """Lower case, accents removed ("m²" → "m2"), spaces collapsed; as tasks.pncp.parse.fold, without its imports."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", plain).strip().lower()


def _clean(raw: str) -> str:
    text = re.sub(r"(?<=[a-z])\.", " ", fold(raw))  # "un." / "m. quadrado", not "1.0"
    text = re.sub(r"\s*/\s*", "/", text)
    return re.sub(r"\s+", " ", text).strip(" -:;")


def _number(text: str) -> float:
    if "," in text:
        return float(text.replace(".", "").replace(",", "."))
    if re.fullmatch(r"\d{1,3}(\.\d{3})+", text):
        return float(text.replace(".", ""))
    return float(text)


def _parse(text: str) -> tuple[str, float] | None:
    if text in ALIASES:
        return ALIASES[text]
    match = PACK.match(text)
    if not match or (match["pack"] and match["pack"] not in PACKS):
        return None
    try:
        count = _number(match["n"])
    except ValueError:
        return None
    inner = _parse(match["rest"].strip())
    if inner is None or count <= 0:
        return None
    return inner[0], count * inner[1]


def parse_unit(raw: str | None) -> Unit | None:
    """The unit's base and factor; None when it is not recognised (never guessed)."""
    if raw is None or not raw.strip():
        return None
    found = _parse(_clean(raw))
    return Unit(base=found[0], factor=found[1], raw=raw.strip()) if found else None


def per_base_unit(price: float, unit: Unit) -> float:
    """The price of one base unit: R$ 50,00 for "CX C/ 100 UN" → R$ 0,50 per UN."""
    return price / unit.factor


def convert(price: float, source: Unit, target: Unit) -> float:
    """A price per ``source`` as a price per ``target`` (same base): R$ 0,50/UN → R$ 5,00 per "PCT 10 UN"."""
    if source.base != target.base:
        raise ValueError(f"unidades incompatíveis: {source.raw!r} ({source.base}) e {target.raw!r} ({target.base})")
    return per_base_unit(price, source) * target.factor


def label(base: str) -> str:
    """The base unit as it reads in a document ("ML" → "mililitro")."""
    return LABELS.get(base, base.lower())
