"""Possible duplicate households: same RSU id or NINA (exact), same phone (strong), similar head (fuzzy).

`DuplicateIndex` is incremental: load the households already stored, then `add` each new one (from an import
or the API) to learn which indexed households it may duplicate. A pair a reviewer dismissed is never proposed
again. The fuzzy rule compares the head's name only between households of the same village whose heads
were born within a year of each other: that blocking keeps each comparison set to a handful of households,
so 200,000 households are indexed in seconds.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, Literal, NamedTuple, TypeVar

from rapidfuzz import fuzz

from enrolment.domain.geography import name_key
from enrolment.domain.households import Household

HouseholdId = TypeVar("HouseholdId", bound=Hashable)
Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")

#: Strongest first: a pair matching for several reasons is reported once, with the first.
Reason = Literal["same_rsu_id", "same_nina", "same_msisdn", "similar_head"]
_STRENGTH: tuple[Reason, ...] = ("same_rsu_id", "same_nina", "same_msisdn", "similar_head")

#: Minimum similarity (0-100, rapidfuzz ratio of the spelling keys, i.e. a token-sort ratio) of two heads' names.
SIMILAR_HEAD_THRESHOLD = 88

#: Spellings of the same sound in French transcriptions of Malian names ("Kouloubali", "Coulibaly").
_SPELLINGS = (("ou", "u"), ("ph", "f"), ("dj", "j"), ("c", "k"), ("y", "i"))
_REPEATED_LETTER = re.compile(r"(?<=([a-z]))\1")


@functools.lru_cache(maxsize=65536)
def spelling_key(name: str) -> str:
    """A person's name folded for comparison (accents, case, doubled letters, variant spellings), words sorted.

    "Moussa COULIBALY" and "Kulibali Mousa" both give "kulibali musa".
    """
    key = name_key(name)
    for spelling, sound in _SPELLINGS:
        key = key.replace(spelling, sound)
    return " ".join(sorted(_REPEATED_LETTER.sub("", key).split()))


@dataclass(frozen=True, slots=True)
class PossibleDuplicate(Generic[HouseholdId]):
    """An indexed household that the new one may duplicate; `score` is 0-100 (100 for exact and strong)."""

    of: HouseholdId
    reason: Reason
    score: int


_Village = tuple[str, str, str]


class _Keys(NamedTuple):
    """What the fuzzy rule compares: the head's spelling key, and the village (cercle, commune, village)."""

    name: str
    village: _Village

    @classmethod
    def of(cls, household: Household) -> _Keys:
        return cls(
            spelling_key(household.head_name),
            _village(household.cercle, household.commune, household.village),
        )


class DuplicateIndex(Generic[HouseholdId]):
    """Households indexed by RSU id, NINA, phone number and (village, birth year) for the fuzzy rule."""

    def __init__(self, *, threshold: int = SIMILAR_HEAD_THRESHOLD) -> None:
        self._threshold = threshold
        # Tuples rather than lists: almost every key has one household, and the garbage collector stops
        # tracking tuples of ids and strings, which keeps its passes short over 200,000 households.
        self._by_rsu_id: dict[str, tuple[HouseholdId, ...]] = {}
        self._by_nina: dict[str, tuple[HouseholdId, ...]] = {}
        self._by_msisdn: dict[str, tuple[HouseholdId, ...]] = {}
        #: (cercle, commune, village) -> head's birth year -> (id, spelling key of the head's name)
        self._by_village: dict[_Village, dict[int, tuple[tuple[HouseholdId, str], ...]]] = defaultdict(dict)
        self._dismissed: set[frozenset[HouseholdId]] = set()

    def dismiss(self, first: HouseholdId, second: HouseholdId) -> None:
        """A reviewer decided these two are different households: never propose the pair again."""
        self._dismissed.add(frozenset((first, second)))

    def load(self, household_id: HouseholdId, household: Household) -> None:
        """Index a household without looking for its duplicates (e.g. one already stored and reviewed)."""
        self._insert(household_id, household, _Keys.of(household))

    def add(self, household_id: HouseholdId, household: Household) -> list[PossibleDuplicate[HouseholdId]]:
        """Index a new household and return the indexed households it may duplicate, strongest first."""
        keys = _Keys.of(household)
        found = self._matches(household_id, household, keys)
        self._insert(household_id, household, keys)
        return found

    def matches(
        self, household_id: HouseholdId, household: Household
    ) -> list[PossibleDuplicate[HouseholdId]]:
        """The indexed households this one may duplicate (one entry per household, its strongest reason)."""
        return self._matches(household_id, household, _Keys.of(household))

    def _insert(self, household_id: HouseholdId, household: Household, keys: _Keys) -> None:
        _append(self._by_rsu_id, household.rsu_id, household_id)
        if household.nina:
            _append(self._by_nina, household.nina, household_id)
        if household.msisdn:
            _append(self._by_msisdn, household.msisdn, household_id)
        _append(self._by_village[keys.village], household.head_birth_year, (household_id, keys.name))

    def _matches(
        self, household_id: HouseholdId, household: Household, keys: _Keys
    ) -> list[PossibleDuplicate[HouseholdId]]:
        found: list[PossibleDuplicate[HouseholdId]] = [
            PossibleDuplicate(other, "same_rsu_id", 100)
            for other in self._by_rsu_id.get(household.rsu_id, ())
        ]
        if household.nina:
            found += (
                PossibleDuplicate(other, "same_nina", 100) for other in self._by_nina.get(household.nina, ())
            )
        if household.msisdn:
            found += (
                PossibleDuplicate(other, "same_msisdn", 100)
                for other in self._by_msisdn.get(household.msisdn, ())
            )
        born = self._by_village.get(keys.village, {})
        for year in (household.head_birth_year - 1, household.head_birth_year, household.head_birth_year + 1):
            for other, other_name in born.get(year, ()):
                score = fuzz.ratio(keys.name, other_name, score_cutoff=self._threshold)
                if score:
                    found.append(PossibleDuplicate(other, "similar_head", round(score)))
        if not found:
            return []
        found.sort(key=lambda duplicate: (_STRENGTH.index(duplicate.reason), -duplicate.score))
        best: dict[HouseholdId, PossibleDuplicate[HouseholdId]] = {}
        for duplicate in found:
            pair = frozenset((household_id, duplicate.of))
            if duplicate.of != household_id and duplicate.of not in best and pair not in self._dismissed:
                best[duplicate.of] = duplicate
        return list(best.values())


def _append(index: dict[Key, tuple[Value, ...]], key: Key, value: Value) -> None:
    index[key] = (*index.get(key, ()), value)


@functools.lru_cache(maxsize=65536)
def _village(cercle: str, commune: str, village: str) -> _Village:
    """The fuzzy rule's notion of "same village": same cercle, same commune and village names."""
    return (cercle, name_key(commune), name_key(village))
