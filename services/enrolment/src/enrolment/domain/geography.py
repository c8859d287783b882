"""Mali's regions and cercles (the reference list), a sample of their communes, and name normalisation.

The reference list is the administrative map before the 2023 reform: ten regions and the district of Bamako,
each with its cercles. Communes are free text when a household is validated (there are 700+ of them and
their spelling varies); the sample below is real communes, enough to generate plausible data.

Names compare accent- and case-insensitively ("SEGOU", "segou" and "Ségou" are the same region); a few
usual variants are aliases ("Timbuktu", "District de Bamako", "Nioro" for the cercle of Nioro du Sahel).

The 2023 reform put in place nine more regions carved out of the old ones (Kita and Nioro from Kayes, Dioïla
and Nara from Koulikoro, Bougouni and Koutiala from Sikasso, San from Ségou, Bandiagara and Douentza from
Mopti) and redrew cercles inside them. Until their cercle lists are confirmed, a region written with one of
these names is read as the region it was carved from, so its households keep validating.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from shared.errors import NotFound

#: region -> cercle -> a sample of real communes of that cercle.
_MALI: dict[str, dict[str, tuple[str, ...]]] = {
    "Kayes": {
        "Bafoulabé": ("Bafoulabé", "Mahina", "Oualia", "Koundian"),
        "Diéma": ("Diéma", "Béma", "Diangounté Camara", "Fatao"),
        "Kayes": ("Kayes", "Khouloum", "Liberté Dembaya", "Hawa Dembaya", "Logo", "Sadiola"),
        "Kéniéba": ("Kéniéba", "Sitakily", "Faléa", "Dombia", "Kassama"),
        "Kita": ("Kita", "Sébékoro", "Djidian", "Kokofata", "Sirakoro"),
        "Nioro du Sahel": ("Nioro", "Troungoumbé", "Sandaré", "Gogui", "Diabigué"),
        "Yélimané": ("Guidimé", "Kirané Kaniaga", "Tringa", "Konsiga", "Diafounou Gory"),
    },
    "Koulikoro": {
        "Banamba": ("Banamba", "Toukoroba", "Madina Sacko", "Boron", "Kiban", "Sébété"),
        "Dioïla": ("Dioïla", "Massigui", "Fana", "Béléko", "Kaladougou", "Banco"),
        "Kangaba": ("Minidian", "Narena", "Balan Bakama", "Benkadi", "Nouga"),
        "Kati": ("Kati", "Kalaban Coro", "Mandé", "Ouélessébougou", "Siby", "Baguinéda-Camp", "Sanankoroba"),
        "Kolokani": ("Kolokani", "Massantola", "Didiéni", "Nossombougou", "Sagabala"),
        "Koulikoro": ("Koulikoro", "Tienfala", "Méguétan", "Doumba", "Sirakorola", "Nyamina"),
        "Nara": ("Nara", "Dilly", "Ballé", "Guiré", "Mourdiah", "Fallou"),
    },
    "Sikasso": {
        "Bougouni": ("Bougouni", "Garalo", "Sanso", "Kéléya", "Zantiébougou", "Koumantou", "Dogo"),
        "Kadiolo": ("Kadiolo", "Loulouni", "Zégoua", "Fourou", "Misséni"),
        "Kolondiéba": ("Kolondiéba", "Fakola", "Kadiana", "Kébila"),
        "Koutiala": ("Koutiala", "M'Pessoba", "Zangasso", "Konséguéla", "Molobala"),
        "Sikasso": ("Sikasso", "Kignan", "Finkolo", "Kaboïla", "Danderesso", "Niéna", "Lobougoula"),
        "Yanfolila": ("Wassoulou-Ballé", "Baya", "Gouanan", "Gouandiaka", "Tagandougou", "Sankarani"),
        "Yorosso": ("Yorosso", "Koury", "Boura", "Mahou", "Karangana"),
    },
    "Ségou": {
        "Barouéli": ("Barouéli", "Tamani", "Konobougou", "Sanando", "Somo"),
        "Bla": ("Bla", "Yangasso", "Touna", "Falo", "Niala", "Fani"),
        "Macina": ("Macina", "Kolongo", "Monimpébougou", "Saloba", "Kokry Centre", "Matomo"),
        "Niono": ("Niono", "Siribala", "Pogo", "Sokolo", "Diabaly", "Dogofry", "Nampalari"),
        "San": ("San", "Tène", "Niasso", "Siadougou", "Sy", "Dah", "Kassorola", "Waki"),
        "Ségou": ("Ségou", "Pélengana", "Sébougou", "Dioro", "Markala", "Cinzana", "Katiéna", "Sakoïba"),
        "Tominian": ("Tominian", "Mandiakuy", "Mafouné", "Timissa", "Ouan", "Fangasso", "Benena"),
    },
    "Mopti": {
        "Bandiagara": ("Bandiagara", "Sangha", "Dourou", "Kendié", "Wadouba", "Doucoumbo", "Kani Bonzon"),
        "Bankass": ("Bankass", "Baye", "Diallassagou", "Ouonkoro", "Ségué", "Soubala", "Dimbal Habé"),
        "Djenné": ("Djenné", "Dérary", "Fakala", "Femaye", "Kewa", "Madiama", "Pondori", "Ouro Ali"),
        "Douentza": ("Douentza", "Haïré", "Hombori", "Mondoro", "Pétaka", "Dallah", "Djaptodji", "Gandamia"),
        "Koro": ("Koro", "Bondo", "Diankabou", "Dinangourou", "Dioungani", "Madougou", "Yoro", "Youdiou"),
        "Mopti": ("Mopti", "Socoura", "Fatoma", "Konna", "Sio", "Soye", "Dialloubé", "Kounari"),
        "Ténenkou": ("Ténenkou", "Diafarabé", "Diaka", "Diondori", "Karéri", "Togoro Kotia"),
        "Youwarou": ("Youwarou", "Bimbéré Tama", "Déboye", "Dirma", "Dongo", "Farimaké"),
    },
    "Tombouctou": {
        "Diré": ("Diré", "Arham", "Binga", "Dangha", "Garbakoïra", "Haïbongo", "Sareyamou", "Tindirma"),
        "Goundam": ("Goundam", "Tonka", "Bintagoungou", "Douékiré", "Essakane", "Gargando", "Raz-El-Ma"),
        "Gourma-Rharous": ("Gourma-Rharous", "Bambara Maoudé", "Banikane", "Gossi", "Hamzakoma", "Séréré"),
        "Niafunké": ("Soboundou", "Léré", "Soumpi", "Fittouga", "Dianké", "N'Gorkou", "Koumaïra"),
        "Tombouctou": ("Tombouctou", "Alafia", "Ber", "Bourem-Inaly", "Lafia", "Salam"),
    },
    "Gao": {
        "Ansongo": ("Ansongo", "Bara", "Bourra", "Ouattagouna", "Talataye", "Tessit", "Tin-Hama"),
        "Bourem": ("Bourem", "Bamba", "Taboye", "Téméra", "Tarkint"),
        "Gao": ("Gao", "Anchawadi", "Gabero", "Gounzoureye", "N'Tillit", "Soni Ali Ber", "Tilemsi"),
    },
    "Kidal": {
        "Abeïbara": ("Abeïbara", "Boghassa", "Tinzawatène"),
        "Kidal": ("Kidal", "Anéfif", "Essouk"),
        "Tessalit": ("Tessalit", "Aguelhok", "Timtaghène"),
        "Tin-Essako": ("Tin-Essako", "Intadjedite"),
    },
    "Ménaka": {
        "Andéramboukane": ("Andéramboukane",),
        "Inékar": ("Inékar",),
        "Ménaka": ("Ménaka", "Alata"),
        "Tidermène": ("Tidermène",),
    },
    # Taoudénit's cercles exist in law but most are not yet administered; the sample is their chief towns.
    "Taoudénit": {
        "Achouratt": ("Achouratt",),
        "Al-Ourche": ("Al-Ourche",),
        "Araouane": ("Araouane",),
        "Boû-Djébéha": ("Boû-Djébéha",),
        "Foum-Elba": ("Foum-Elba",),
        "Taoudénit": ("Taoudénit",),
    },
    # The district of Bamako has no cercle: its six communes sit under one pseudo-cercle named Bamako.
    "Bamako": {
        "Bamako": ("Commune I", "Commune II", "Commune III", "Commune IV", "Commune V", "Commune VI"),
    },
}

_REGION_ALIASES = {
    "Timbuktu": "Tombouctou",
    "Taoudéni": "Taoudénit",
    "Taoudenni": "Taoudénit",
    "District de Bamako": "Bamako",
    "Bamako district": "Bamako",
    # The 2023 regions, read as the region each was carved from (see the module docstring).
    "Kita": "Kayes",
    "Nioro": "Kayes",
    "Dioïla": "Koulikoro",
    "Nara": "Koulikoro",
    "Bougouni": "Sikasso",
    "Koutiala": "Sikasso",
    "San": "Ségou",
    "Bandiagara": "Mopti",
    "Douentza": "Mopti",
}

_CERCLE_ALIASES = {
    "Nioro": "Nioro du Sahel",
    "Rharous": "Gourma-Rharous",
    "Boujbeha": "Boû-Djébéha",
}

_ADMINISTRATIVE_PREFIX = re.compile(r"^(?:region|cercle) (?:de |du |d )?")


#: Letters of the Bambara alphabet that have no decomposition into a Latin letter and an accent.
_AFRICAN_LETTERS = str.maketrans({"ɛ": "e", "ɔ": "o", "ɲ": "ny", "ŋ": "ng"})
_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")


def name_key(name: str) -> str:
    """The accent-, case- and punctuation-insensitive form of a name: "Nioro-du-Sahel" -> "nioro du sahel"."""
    folded = unicodedata.normalize("NFKD", name.casefold().translate(_AFRICAN_LETTERS))
    return " ".join(_NOT_ALPHANUMERIC.sub(" ", folded.encode("ascii", "ignore").decode("ascii")).split())


@functools.lru_cache(maxsize=4096)
def _place_key(name: str) -> str:
    return _ADMINISTRATIVE_PREFIX.sub("", name_key(name))


_REGION_BY_KEY = {_place_key(region): region for region in _MALI} | {
    _place_key(alias): region for alias, region in _REGION_ALIASES.items()
}
_CERCLE_BY_KEY = {
    _place_key(cercle): (region, cercle)
    for region, region_cercles in _MALI.items()
    for cercle in region_cercles
}
_CERCLE_BY_KEY |= {_place_key(alias): _CERCLE_BY_KEY[_place_key(c)] for alias, c in _CERCLE_ALIASES.items()}


def regions() -> list[str]:
    """The regions (and the district of Bamako), in their official spelling."""
    return list(_MALI)


def normalise_region(name: str) -> str | None:
    """The official spelling of a region ("SEGOU" -> "Ségou", "Région de Mopti" -> "Mopti"), None if unknown."""
    return _REGION_BY_KEY.get(_place_key(name))


def region_of_cercle(name: str) -> str | None:
    """The region a cercle belongs to, whatever the spelling of the cercle; None if no region has it."""
    found = _CERCLE_BY_KEY.get(_place_key(name))
    return found[0] if found else None


def normalise_cercle(region: str, name: str) -> str | None:
    """The official spelling of a cercle of `region`; None if the cercle is unknown or in another region."""
    found = _CERCLE_BY_KEY.get(_place_key(name))
    if found is None or found[0] != normalise_region(region):
        return None
    return found[1]


def cercles(region: str) -> list[str]:
    """The cercles of a region, whatever its spelling; NotFound if the region is unknown."""
    official = normalise_region(region)
    if official is None:
        raise NotFound(f"unknown region {region!r}", details={"regions": regions()})
    return list(_MALI[official])


def communes(region: str, cercle: str) -> list[str]:
    """A sample of real communes of a cercle (not the full list); NotFound if the cercle is not in the region."""
    official = normalise_cercle(region, cercle)
    if official is None:
        raise NotFound(f"no cercle {cercle!r} in region {region!r}")
    region_cercles = _MALI[_CERCLE_BY_KEY[_place_key(official)][0]]
    return list(region_cercles[official])
