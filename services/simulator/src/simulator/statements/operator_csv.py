"""Operator (Orange-Money-style) bulk report CSV: French headers, `;`, a preamble and total lines."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from simulator.behaviour import FailureCode
from simulator.config import Account
from simulator.ledger import Movement

HEADER = (
    "N°;Date;Heure;Référence;Type d'opération;Service;N° de Compte;Nom du bénéficiaire;"
    "Débit;Crédit;Frais;Solde;Statut;Référence partenaire;Motif"
)
_CHUNK = 2_000
_SPECIAL = frozenset(';"\r\n')

_MOTIFS: dict[FailureCode, str] = {
    FailureCode.RECIPIENT_NOT_FOUND: "Compte destinataire inexistant",
    FailureCode.RECIPIENT_BLOCKED: "Compte destinataire bloqué",
    FailureCode.RECIPIENT_LIMIT: "Plafond du compte destinataire atteint",
    FailureCode.NAME_MISMATCH: "Nom du bénéficiaire non conforme",
    FailureCode.INSUFFICIENT_FUNDS: "Solde insuffisant",
    FailureCode.AMOUNT_OUT_OF_RANGE: "Montant hors limites",
    FailureCode.PROVIDER_ERROR: "Erreur technique",
    FailureCode.EXPIRED: "Délai de traitement dépassé",
}


def operator_report(
    account: Account, start: datetime, end: datetime, opening: int, movements: Sequence[Movement]
) -> Iterator[str]:
    """The report over `movements`; the Solde column runs from `opening`, so the file adds up on its own."""
    yield (
        "Rapport des transactions - Compte Bulk Payment\n"
        f"Titulaire;{_field(account.owner)}\nCompte;{_field(account.id)}\n"
        f"Période;{start:%d/%m/%Y %H:%M:%S};{end:%d/%m/%Y %H:%M:%S}\nDevise;XOF\nSolde initial;{opening}\n\n"
        f"{HEADER}\n"
    )
    balance, debits, credits, fees = opening, 0, 0, 0
    clock = _Clock()
    chunk: list[str] = []
    for number, movement in enumerate(movements, start=1):
        balance += movement.effect
        if movement.kind == "payment":
            debits += movement.amount
            fees += movement.fee
        elif movement.kind in ("funding", "reversal"):
            credits += movement.amount
        chunk.append(_row(number, movement, balance, clock.spelt(movement.booked_at)))
        if len(chunk) == _CHUNK:
            yield "".join(chunk)
            chunk = []
    chunk.append(
        f"\nTotal débits (succès);{debits}\nTotal crédits (succès);{credits}\n"
        f"Total frais;{fees}\nSolde final;{balance}\n"
    )
    yield "".join(chunk)


class _Clock:
    """`dd/mm/yyyy;hh:mm:ss`, spelt once per second: rows of one batch share their seconds."""

    def __init__(self) -> None:
        self._second: datetime | None = None
        self._spelt = ""

    def spelt(self, at: datetime) -> str:
        second = at.replace(microsecond=0)
        if second != self._second:
            self._second, self._spelt = second, f"{at:%d/%m/%Y;%H:%M:%S}"
        return self._spelt


def _row(number: int, movement: Movement, balance: int, when_spelt: str) -> str:
    payment = movement.payment
    msisdn = _national(payment.msisdn) if payment else ""
    name = _field(movement.counterparty.upper()) if payment else ""
    reference = _field(movement.reference)
    service_ref = _field(movement.service_ref)
    when = f"{number};{when_spelt};{service_ref}"
    if movement.kind == "funding":
        return (
            f"{when};Approvisionnement;Bulk Payment;;;;{movement.amount};0;{balance};Succès;{reference};"
            + ("Approvisionnement compte bulk\n")
        )
    if movement.kind == "payment":
        return (
            f"{when};Transfert;Bulk Payment;{msisdn};{name};{movement.amount};;{movement.fee};{balance};"
            f"Succès;{reference};\n"
        )
    if movement.kind == "failure":
        failure = payment.failure if payment else None
        motif = _MOTIFS[failure] if failure else "Echec"
        shown = "" if failure is FailureCode.RECIPIENT_NOT_FOUND else name
        return f"{when};Transfert;Bulk Payment;{msisdn};{shown};{movement.amount};;0;{balance};Echec;{reference};{motif}\n"
    original = _field(payment.provider_ref) if payment else ""
    returned = payment is not None and payment.undoing == "return"
    motif = (
        f"Retour de {original} - compte du bénéficiaire clôturé"
        if returned
        else f"Annulation de {original} - annulée par l'opérateur"
    )
    return f"{when};Annulation;Bulk Payment;{msisdn};{name};;{movement.amount};0;{balance};Succès;{reference};{motif}\n"


def _national(msisdn: str) -> str:
    """The 8-digit national number operator files use (`+22376550041` → `76550041`)."""
    digits = msisdn.removeprefix("+")
    return digits[3:] if digits.startswith("223") and len(digits) == 11 else _field(digits)


def _field(value: str) -> str:
    if _SPECIAL.isdisjoint(value):
        return value
    return '"' + value.replace('"', '""') + '"'
