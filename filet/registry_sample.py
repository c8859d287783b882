"""Writes a seeded RSU-like household CSV with planted duplicates and bad rows, and its ground truth.

    python -m filet.registry_sample --households 200000 --out /tmp/rsu.csv

The CSV has French headers and ";" as delimiter; households live in real regions, cercles and communes
(about fifty per village, as in a rural commune). Planted among them, with the row they copy:
duplicates sharing a NINA, a phone number, or a head whose name is spelled differently (same village,
birth year within one); and bad rows (bad or foreign phone number, unknown region, a required field left
empty, an RSU id given twice). The ground truth goes to a sidecar `<out>.truth.json`:
`{"duplicates": [{"row", "of", "kind"}], "bad": [{"row", "field", "kind"}]}`, rows numbered as a
spreadsheet shows them (the header is row 1).
"""

# ruff: noqa: SIM905 (the name lists read better as lines of text)
from __future__ import annotations

import argparse
import csv
import json
import random
import string
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

from enrolment.domain.geography import cercles, communes, regions

HEADER = (
    "Identifiant RSU",
    "Nom du chef de ménage",
    "Sexe du chef de ménage",
    "Année de naissance du chef de ménage",
    "Taille du ménage",
    "Région",
    "Cercle",
    "Commune",
    "Village",
    "Téléphone",
    "NINA",
    "Modalité",
    "Score PMT",
    "Catégorie HEA",
)
NAME, SEX, BIRTH_YEAR, SIZE, REGION, VILLAGE, PHONE, NINA, MODALITY = 1, 2, 3, 4, 5, 8, 9, 10, 11

MEN = (
    "Moussa Mamadou Oumar Ibrahim Seydou Bakary Amadou Boubacar Souleymane Adama Modibo Sékou Drissa Lassina "
    "Yacouba Issa Aliou Bréhima Siaka Mahamadou Abdoulaye Daouda Sidiki Fousseyni Karim Dramane Tiémoko "
    "Bourama Moctar Hamidou Ousmane Salif Cheick Youssouf Zoumana Mamoutou Samba Demba Hamadoun Alassane "
    "Mohamed Kalifa Nouhoum Sory Madou Gaoussou Soumaïla Lamine Mody Arouna"
).split()
WOMEN = (
    "Fatoumata Aminata Mariam Awa Kadiatou Oumou Hawa Assétou Rokia Djénéba Salimata Kadidia Bintou Fanta "
    "Maïmouna Aïssata Korotoumou Ramata Sitan Nana Founè Safiatou Ténin Massaran Aïchata Coumba Sanata Kani "
    "Saran Alimatou Habibatou Mah Nènè Kourani Sira Tata"
).split()
SURNAMES = (
    "Traoré Coulibaly Diarra Keïta Koné Touré Sangaré Sidibé Diallo Cissé Maïga Dembélé Doumbia Konaté Kanté "
    "Camara Sissoko Diakité Bagayoko Sanogo Samaké Dao Ballo Guindo Togo Dicko Haïdara Tounkara Sacko Fofana "
    "Sylla Kouyaté Berthé Mariko Goïta Tangara Kassogué Ongoïba Bocoum Tamboura Niangaly Sow Diabaté Fomba "
    "Dagnon Kamissoko Daou Bengaly"
).split()
VILLAGES = (
    "Sirakoro Sanankoro Kalaban Dialakoro Niamana Banankoro Sikoro Dougouba Tienkoungoba Kolonina Bougoula "
    "Missira Zambougou Nafadji Fadabougou Sénou Dogodouman Mountougoula Kobala Tabakoro Badinko Massabougou "
    "Kongola Dioila-Koura Farakala Djinina Wéléssébougou Kassela Nièna-Koura Tiéfala Kénioroba Samaya Dégnékoro "
    "Diélibougou Marka-Coungo Sanambélé Koniobla Torokoro Falaba Mana"
).split()
HEA = ("Très pauvres", "Pauvres", "Moyens", "Nantis")
#: Mobile prefixes: Orange (7x, 90-94, 82-83), Moov Africa Malitel (6x, 95-99), Telecel (50-53).
PREFIXES = (*range(70, 80), *range(90, 95), 82, 83, *range(60, 70), *range(95, 100), *range(50, 54))


class Duplicate(TypedDict):
    row: int
    of: int
    kind: str


class Bad(TypedDict):
    row: int
    field: str
    kind: str


class Truth(TypedDict):
    households: int
    seed: int
    duplicates: list[Duplicate]
    bad: list[Bad]


Village = tuple[str, str, str, str]


def generate(households: int, out: Path, *, seed: int, duplicate_percent: int, bad_percent: int) -> Truth:
    """Write `households` rows to `out` and return the ground truth (also written next to it)."""
    rng = random.Random(seed)
    villages = _villages(rng, max(1, households // 50))
    phones = iter(rng.sample(range(len(PREFIXES) * 10**6), households))
    ninas = iter(rng.sample(range(10**10), households))
    originals: list[tuple[int, list[str]]] = []
    duplicates: list[Duplicate] = []
    bad: list[Bad] = []
    with out.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter=";")
        writer.writerow(HEADER)
        for row_number in range(2, households + 2):
            draw = rng.random() * 100
            if originals and draw < bad_percent:
                row, field, kind = _bad_row(
                    rng, _household(rng, row_number, villages, phones, ninas), originals
                )
                bad.append({"row": row_number, "field": field, "kind": kind})
            elif originals and draw < bad_percent + duplicate_percent:
                of, original = rng.choice(originals)
                row, kind = _duplicate(rng, row_number, original, villages, phones)
                duplicates.append({"row": row_number, "of": of, "kind": kind})
            else:
                row = _household(rng, row_number, villages, phones, ninas)
                originals.append((row_number, row))
            writer.writerow(row)
    truth: Truth = {"households": households, "seed": seed, "duplicates": duplicates, "bad": bad}
    out.with_suffix(".truth.json").write_text(json.dumps(truth), encoding="utf-8")
    return truth


def _villages(rng: random.Random, count: int) -> list[Village]:
    places = [(r, c, commune) for r in regions() for c in cercles(r) for commune in communes(r, c)]
    return [(*rng.choice(places), rng.choice(VILLAGES)) for _ in range(count)]


def _name(rng: random.Random, sex: str) -> str:
    first = rng.choice(MEN if sex == "M" else WOMEN)
    if rng.random() < 0.25:
        first += " " + rng.choice(MEN)  # a father's name as a second first name
    return f"{first} {rng.choice(SURNAMES)}"


def _phone(rng: random.Random, number: int) -> str:
    prefix, rest = divmod(number, 10**6)
    digits = f"{PREFIXES[prefix]}{rest:06d}"
    return rng.choice((digits, "+223" + digits, f"{digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:]}"))


def _household(
    rng: random.Random, row_number: int, villages: list[Village], phones: Iterator[int], ninas: Iterator[int]
) -> list[str]:
    region, cercle, commune, village = rng.choice(villages)
    sex = "M" if rng.random() < 0.7 else "F"
    year = 1940 + int(rng.random() * 66)
    has_phone = rng.random() < 0.92
    nina = ""
    if rng.random() < 0.6:
        nina = (
            f"1{1 if sex == 'M' else 2}{year % 100:02d}{next(ninas):010d}{rng.choice(string.ascii_uppercase)}"
        )
    score = 800 + int(rng.random() * 600)
    return [
        f"RSU-{row_number:07d}",
        _name(rng, sex),
        sex,
        str(year),
        str(1 + int(rng.random() * 20)),
        region,
        cercle,
        commune,
        village,
        _phone(rng, next(phones)) if has_phone else "",
        nina,
        "Mobile money" if has_phone and rng.random() < 0.95 else "Coupon",
        f"{score // 100},{score % 100:02d}" if rng.random() < 0.6 else "",
        rng.choice(HEA) if rng.random() < 0.4 else "",
    ]


def _duplicate(
    rng: random.Random, row_number: int, original: list[str], villages: list[Village], phones: Iterator[int]
) -> tuple[list[str], str]:
    row = list(original)
    row[0] = f"RSU-{row_number:07d}"
    kind = rng.choice(("same_nina", "same_msisdn", "similar_head", "similar_head"))
    if kind == "same_nina" and original[NINA]:
        # The same head registered again elsewhere (moved), with another phone.
        row[REGION : VILLAGE + 1] = rng.choice(villages)
        row[PHONE] = _phone(rng, next(phones))
        row[MODALITY] = "Mobile money"
        return row, kind
    if kind == "same_msisdn" and original[PHONE]:
        # Another member of the household registered as its head, with the household's phone.
        sex = "F" if original[SEX] == "M" else "M"
        row[NAME], row[SEX], row[NINA] = _name(rng, sex), sex, ""
        year = int(original[BIRTH_YEAR]) + rng.choice((-1, 1)) * rng.randrange(3, 25)
        row[BIRTH_YEAR] = str(min(max(year, 1930), 2008))
        return row, "same_msisdn"
    # The same head registered again in the village: name spelled differently, age guessed, no NINA.
    row[NAME] = _respelled(rng, original[NAME])
    row[BIRTH_YEAR] = str(int(original[BIRTH_YEAR]) + rng.choice((-1, 0, 0, 1)))
    row[SIZE] = str(max(1, int(original[SIZE]) + rng.choice((-1, 0, 1))))
    row[NINA] = ""
    has_phone = rng.randrange(2)
    row[PHONE] = _phone(rng, next(phones)) if has_phone else ""
    row[MODALITY] = "Mobile money" if has_phone else "Coupon"
    return row, "similar_head"


def _respelled(rng: random.Random, name: str) -> str:
    """The way another enumerator may write the same name."""
    words = name.split()
    kind = rng.randrange(4)
    if kind == 0:  # capitals, no accents
        return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").upper()
    if kind == 1:  # surname first
        return " ".join([words[-1], *words[:-1]])
    if kind == 2:  # French and Bambara spellings
        for french, bambara in (("ou", "u"), ("C", "K"), ("y", "i"), ("é", "e"), ("rr", "r"), ("ss", "s")):
            if french in name:
                return name.replace(french, bambara, 1)
    position = rng.randrange(len(words))  # one slip of the pen in one word
    word = words[position]
    at = rng.randrange(1, len(word)) if len(word) > 1 else 0
    words[position] = rng.choice((word[:at] + word[at + 1 :], word[:at] + word[at - 1 :] if at else word))
    return " ".join(words)


def _bad_row(
    rng: random.Random, row: list[str], originals: list[tuple[int, list[str]]]
) -> tuple[list[str], str, str]:
    kind = rng.choice(("bad_phone", "foreign_number", "unknown_region", "missing_field", "rsu_id_twice"))
    if kind == "bad_phone":
        row[PHONE], row[MODALITY] = (
            rng.choice(("7612340", "20212345", "12345678", "76-12-34")),
            "Mobile money",
        )
        return row, "msisdn", kind
    if kind == "foreign_number":
        row[PHONE] = rng.choice(
            ("+33 6 12 34 56 78", "+225 07 12 34 56 78", "00221771234567", "+22670123456")
        )
        row[MODALITY] = "Mobile money"
        return row, "msisdn", kind
    if kind == "unknown_region":
        row[REGION] = rng.choice(("Abidjan", "Ségoux", "Région 12", "Dakar"))
        return row, "region", kind
    if kind == "missing_field":
        column, field = rng.choice(
            ((NAME, "head_name"), (BIRTH_YEAR, "head_birth_year"), (SIZE, "size"), (VILLAGE, "village"))
        )
        row[column] = ""
        return row, field, kind
    return list(rng.choice(originals)[1]), "rsu_id", kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, required=True, help="number of rows")
    parser.add_argument(
        "--out", type=Path, required=True, help="CSV to write; the truth goes to <out>.truth.json"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--duplicate-percent", type=int, default=3)
    parser.add_argument("--bad-percent", type=int, default=1)
    args = parser.parse_args()
    truth = generate(
        args.households,
        args.out,
        seed=args.seed,
        duplicate_percent=args.duplicate_percent,
        bad_percent=args.bad_percent,
    )
    print(
        f"{args.households} rows -> {args.out} "
        f"({len(truth['duplicates'])} planted duplicates, {len(truth['bad'])} bad rows)"
    )


if __name__ == "__main__":
    main()
