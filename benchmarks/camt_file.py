"""A seeded generator of a large camt.053.001.08 statement, its expectations and the ground truth to check against."""

from __future__ import annotations

import argparse
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import orjson

DAY = "2025-03-14"
ACCOUNT = "ML06ML0990100100000077000145"
OPENING = 50_000_000_000
FUNDING = 40_000_000_000
AMOUNTS = (30_000, 30_000, 30_000, 45_000, 60_000)
REGIONS = {
    "Kayes": ("Kayes", "Kita", "Nioro"),
    "Koulikoro": ("Kati", "Koulikoro", "Banamba"),
    "Sikasso": ("Sikasso", "Koutiala", "Bougouni"),
    "Ségou": ("Ségou", "San", "Niono"),
    "Mopti": ("Mopti", "Djenné", "Bandiagara"),
}
PROGRAMMES = ("PFS", "CADRE-COMMUN", "CSA-PNR")
#: Share of instructions planted with each anomaly; the rest settle cleanly.
PLANTED = (
    ("returned", 0.01),
    ("duplicate", 0.005),
    ("mismatch", 0.005),
    ("missing", 0.005),
    ("unknown", 0.005),
)
FEE_EVERY = 500


class Entry(NamedTuple):
    reference: str
    amount: int
    credit: bool
    sub_family: str
    name: str
    iban: str
    return_reason: str | None = None


@dataclass
class Truth:
    """What reconciliation must find, counted while planting."""

    instructions: Counter[str] = field(default_factory=Counter)
    lines: Counter[str] = field(default_factory=Counter)
    planted: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Plan:
    """The deterministic sequence of instructions and entries for one seed and size."""

    entries: int
    seed: int

    def walk(self) -> Iterator[tuple[dict[str, object] | None, list[Entry]]]:
        """Yield (expectation or None, the entries it produces) until `entries` entries are planned."""
        rng = random.Random(self.seed)
        yield None, [Entry("TRS25-0314-001", FUNDING, True, "DMCT", "TRESOR PUBLIC DU MALI", "ML00TRESOR")]
        written, number = 1, 0
        while written < self.entries:
            number += 1
            if number % FEE_EVERY == 0:
                written += 1
                yield None, [Entry(f"FEE-{number}", 500, False, "CHRG", "", "")]
                continue
            expectation, entries = _instruction(number, _kind(rng.random()), rng)
            if len(entries) > self.entries - written and expectation is not None:
                expectation["kind"], entries = "clean", entries[:1]
            written += len(entries)
            yield expectation, entries


def _kind(draw: float) -> str:
    for kind, share in PLANTED:
        if draw < share:
            return kind
        draw -= share
    return "clean"


def _instruction(number: int, kind: str, rng: random.Random) -> tuple[dict[str, object] | None, list[Entry]]:
    reference = f"PMT25Q1-{number:07d}"
    amount = rng.choice(AMOUNTS)
    iban = f"ML{number % 97:02d}ML099010010000{number:010d}"
    name = f"BENEFICIAIRE {number}"
    payment = Entry(reference, amount, False, "DMCT", name, iban)
    region = rng.choice(list(REGIONS))
    expectation: dict[str, object] = {
        "instruction_id": reference,
        "provider": "bank",
        "payee": iban,
        "amount": amount,
        "state": "submitted" if number % 3 else "succeeded",
        "instructed_on": DAY,
        "programme": rng.choice(PROGRAMMES),
        "region": region,
        "commune": rng.choice(REGIONS[region]),
        "modality": "bank_transfer",
        "kind": kind,
    }
    if kind == "unknown":
        return None, [Entry(f"UNK-{number:07d}", amount, False, "DMCT", name, iban)]
    if kind == "missing":
        return expectation, []
    if kind == "returned":
        return expectation, [payment, Entry(reference, amount, True, "RRTN", name, iban, "AC04")]
    if kind == "duplicate":
        return expectation, [payment, payment]
    if kind == "mismatch":
        return expectation, [Entry(reference, amount - 5_000, False, "DMCT", name, iban)]
    return expectation, [payment]


INSTRUCTION_OUTCOME = {
    "clean": "MATCHED",
    "returned": "RETURNED",
    "duplicate": "DUPLICATE_SETTLEMENT",
    "mismatch": "AMOUNT_MISMATCH",
    "missing": "MISSING_FROM_SETTLEMENT",
}


def _line_outcome(entry: Entry) -> str:
    if entry.sub_family == "CHRG":
        return "FEE"
    if entry.reference.startswith("UNK-"):
        return "UNKNOWN_REFERENCE"
    if entry.reference.startswith("TRS"):
        return "UNMATCHED_CREDIT"
    return "RETURN" if entry.return_reason else "MATCHED"


def _totals(plan: Plan) -> tuple[int, int, int, int]:
    credits = debits = credit_count = debit_count = 0
    for _, entries in plan.walk():
        for entry in entries:
            if entry.credit:
                credits += entry.amount
                credit_count += 1
            else:
                debits += entry.amount
                debit_count += 1
    return credit_count, credits, debit_count, debits


def _entry_xml(number: int, entry: Entry) -> str:
    indicator = "CRDT" if entry.credit else "DBIT"
    head = (
        f'<Ntry><NtryRef>{number}</NtryRef><Amt Ccy="XOF">{entry.amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{DAY}</Dt></BookgDt><ValDt><Dt>{DAY}</Dt></ValDt>"
        f"<AcctSvcrRef>BK{number:09d}</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd>"
        f"<SubFmlyCd>{entry.sub_family}</SubFmlyCd></Fmly></Domn></BkTxCd>"
    )
    if entry.sub_family == "CHRG":
        return f"{head}<AddtlNtryInf>FRAIS</AddtlNtryInf></Ntry>\n"
    side = "Dbtr" if entry.credit else "Cdtr"
    returned = f"<RtrInf><Rsn><Cd>{entry.return_reason}</Cd></Rsn></RtrInf>" if entry.return_reason else ""
    return (
        f"{head}<NtryDtls><TxDtls><Refs><EndToEndId>{entry.reference}</EndToEndId></Refs>"
        f'<Amt Ccy="XOF">{entry.amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd><RltdPties>'
        f"<{side}><Pty><Nm>{entry.name}</Nm></Pty></{side}><{side}Acct><Id><IBAN>{entry.iban}</IBAN></Id>"
        f"</{side}Acct></RltdPties>{returned}</TxDtls></NtryDtls></Ntry>\n"
    )


def _header(entries: int, totals: tuple[int, int, int, int]) -> str:
    credit_count, credits, debit_count, debits = totals
    closing = OPENING + credits - debits

    def balance(code: str, amount: int) -> str:
        return (
            f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="XOF">{amount}</Amt>'
            f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{DAY}</Dt></Dt></Bal>\n"
        )

    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>\n'
        "<GrpHdr><MsgId>BENCH-0001</MsgId><CreDtTm>2025-03-14T20:00:00+00:00</CreDtTm></GrpHdr>\n"
        f"<Stmt><Id>BENCH-{entries}</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>2025-03-14T20:00:00+00:00</CreDtTm>\n"
        f"<Acct><Id><IBAN>{ACCOUNT}</IBAN></Id><Ccy>XOF</Ccy></Acct>\n"
        f"{balance('OPBD', OPENING)}{balance('CLBD', closing)}"
        f"<TxsSummry><TtlNtries><NbOfNtries>{credit_count + debit_count}</NbOfNtries></TtlNtries>"
        f"<TtlCdtNtries><NbOfNtries>{credit_count}</NbOfNtries><Sum>{credits}</Sum></TtlCdtNtries>"
        f"<TtlDbtNtries><NbOfNtries>{debit_count}</NbOfNtries><Sum>{debits}</Sum></TtlDbtNtries></TxsSummry>\n"
    )


def write_camt(statement: Path, expectations: Path, *, entries: int = 200_000, seed: int = 20250314) -> Truth:
    """Write the statement and the expectations (JSON lines); return what matching must find."""
    plan = Plan(entries, seed)
    truth = Truth(planted={kind: [] for kind, _ in PLANTED})
    number = 0
    with statement.open("w", encoding="utf-8") as xml, expectations.open("wb") as jsonl:
        xml.write(_header(entries, _totals(plan)))
        chunk: list[str] = []
        for expectation, planned in plan.walk():
            if expectation is not None:
                kind = str(expectation.pop("kind"))
                jsonl.write(orjson.dumps(expectation) + b"\n")
                truth.instructions[INSTRUCTION_OUTCOME[kind]] += 1
                if kind != "clean":
                    truth.planted[kind].append(str(expectation["instruction_id"]))
            for entry in planned:
                number += 1
                chunk.append(_entry_xml(number, entry))
                truth.lines[_line_outcome(entry)] += 1
                if entry.reference.startswith("UNK-"):
                    truth.planted["unknown"].append(entry.reference)
            if len(chunk) >= 10_000:
                xml.write("".join(chunk))
                chunk.clear()
        xml.write("".join(chunk))
        xml.write("</Stmt></BkToCstmrStmt></Document>\n")
    return truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=20250314)
    parser.add_argument("--out", type=Path, default=Path("camt053_bench.xml"))
    arguments = parser.parse_args()
    truth = write_camt(
        arguments.out,
        arguments.out.with_suffix(".expectations.jsonl"),
        entries=arguments.entries,
        seed=arguments.seed,
    )
    arguments.out.with_suffix(".truth.json").write_bytes(
        orjson.dumps({"instructions": truth.instructions, "lines": truth.lines, "planted": truth.planted})
    )
    print(
        f"wrote {arguments.out}: {sum(truth.lines.values())} entries, {sum(truth.instructions.values())} expectations"
    )


if __name__ == "__main__":
    main()
