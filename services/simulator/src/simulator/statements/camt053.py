"""ISO 20022 camt.053.001.08 statements of what the simulator really did, streamed in chunks of entries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from xml.sax.saxutils import escape

from simulator.ledger import Movement
from simulator.statements.period import StatementPeriod, fees_of

_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
_CHUNK = 1_000
_EPOCH = date(2020, 1, 1)
_CONTROL = {code: None for code in range(32) if code not in (9, 10, 13)}

_ISSUED = "<Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn>"
_RETURNED = "<Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly></Domn>"
_RECEIVED = "<Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn>"
_CHARGES = "<Domn><Cd>PMNT</Cd><Fmly><Cd>MDOP</Cd><SubFmlyCd>CHRG</SubFmlyCd></Fmly></Domn>"


def camt053(periods: list[StatementPeriod], created: datetime) -> Iterator[str]:
    """One Document with one Stmt per account; yields the XML in pieces so 200,000 entries stream quickly."""
    yield (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{_NAMESPACE}">\n<BkToCstmrStmt>\n'
        f"<GrpHdr><MsgId>SIM-C053-{created:%Y%m%d%H%M%S}</MsgId><CreDtTm>{created.isoformat()}</CreDtTm>"
        "<MsgPgntn><PgNb>1</PgNb><LastPgInd>true</LastPgInd></MsgPgntn></GrpHdr>\n"
    )
    for period in periods:
        yield from _statement(period, created)
    yield "</BkToCstmrStmt>\n</Document>\n"


def _statement(period: StatementPeriod, created: datetime) -> Iterator[str]:
    account, day = period.account, period.day
    booked = period.booked
    fees, charged = fees_of(booked)
    credits = [m.amount for m in booked if m.kind in ("funding", "reversal")]
    debits = [m.amount for m in booked if m.kind == "payment"] + ([fees] if fees else [])
    net = sum(credits) - sum(debits)
    sequence = (day - _EPOCH).days + 1
    yield (
        f"<Stmt><Id>{_text(f'SIM-{account.id}-{day:%Y%m%d}'[:35])}</Id>"
        f"<ElctrncSeqNb>{sequence}</ElctrncSeqNb><LglSeqNb>{sequence}</LglSeqNb>"
        f"<CreDtTm>{created.isoformat()}</CreDtTm>"
        f"<FrToDt><FrDtTm>{period.start.isoformat()}</FrDtTm><ToDtTm>{period.end.isoformat()}</ToDtTm></FrToDt>\n"
        f"<Acct><Id><Othr><Id>{_text(account.id)}</Id></Othr></Id><Ccy>XOF</Ccy><Nm>{_text(account.name)}</Nm>"
        f"<Ownr><Nm>{_text(account.owner)}</Nm></Ownr>"
        f"<Svcr><FinInstnId><Nm>{_text(account.servicer)}</Nm></FinInstnId></Svcr></Acct>\n"
        f"{_balance('OPBD', period.opening, day)}{_balance('CLBD', period.closing, day)}"
        f"{_balance('CLAV', period.closing, day)}"
        "<TxsSummry>"
        f"<TtlNtries><NbOfNtries>{len(credits) + len(debits)}</NbOfNtries><Sum>{sum(credits) + sum(debits)}</Sum>"
        f"<TtlNetNtry><Amt>{abs(net)}</Amt><CdtDbtInd>{'CRDT' if net >= 0 else 'DBIT'}</CdtDbtInd></TtlNetNtry>"
        "</TtlNtries>"
        f"<TtlCdtNtries><NbOfNtries>{len(credits)}</NbOfNtries><Sum>{sum(credits)}</Sum></TtlCdtNtries>"
        f"<TtlDbtNtries><NbOfNtries>{len(debits)}</NbOfNtries><Sum>{sum(debits)}</Sum></TtlDbtNtries>"
        "</TxsSummry>\n"
    )
    owner, account_id = _text(account.owner), _text(account.id)
    chunk: list[str] = []
    for number, movement in enumerate(booked, start=1):
        chunk.append(_entry(number, movement, day, owner, account_id))
        if len(chunk) == _CHUNK:
            yield "".join(chunk)
            chunk = []
    if fees:
        chunk.append(_fee_entry(len(booked) + 1, fees, charged, day))
    chunk.append("</Stmt>\n")
    yield "".join(chunk)


def _balance(code: str, amount: int, day: date) -> str:
    side = "CRDT" if amount >= 0 else "DBIT"
    return (
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="XOF">{abs(amount)}</Amt>'
        f"<CdtDbtInd>{side}</CdtDbtInd><Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>\n"
    )


def _entry(number: int, movement: Movement, day: date, owner: str, account_id: str) -> str:
    if movement.kind == "payment":
        return _payment_entry(number, movement, day, owner, account_id)
    if movement.kind == "funding":
        return _funding_entry(number, movement, day, owner, account_id)
    return _undoing_entry(number, movement, day, owner, account_id)


def _head(number: int, amount: int, side: str, day: date, service_ref: str, code: str, reversal: bool) -> str:
    indicator = "<RvslInd>true</RvslInd>" if reversal else ""
    return (
        f'<Ntry><NtryRef>{number:06d}</NtryRef><Amt Ccy="XOF">{amount}</Amt><CdtDbtInd>{side}</CdtDbtInd>'
        f"{indicator}<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
        f"<AcctSvcrRef>{service_ref}</AcctSvcrRef><BkTxCd>{code}</BkTxCd>"
    )


def _payment_entry(number: int, movement: Movement, day: date, owner: str, account_id: str) -> str:
    service_ref, reference = _text(movement.service_ref[:35]), _text(movement.reference[:35])
    payment = movement.payment
    msisdn = _text(payment.msisdn) if payment else ""
    name = _text(movement.counterparty) or msisdn
    return (
        f"{_head(number, movement.amount, 'DBIT', day, service_ref, _ISSUED, False)}"
        f"<NtryDtls><TxDtls><Refs><AcctSvcrRef>{service_ref}</AcctSvcrRef><InstrId>{reference}</InstrId>"
        f"<EndToEndId>{reference}</EndToEndId></Refs>"
        f'<Amt Ccy="XOF">{movement.amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
        f"<RltdPties><Dbtr><Pty><Nm>{owner}</Nm></Pty></Dbtr>"
        f"<DbtrAcct><Id><Othr><Id>{account_id}</Id></Othr></Id></DbtrAcct>"
        f"<Cdtr><Pty><Nm>{name}</Nm></Pty></Cdtr><CdtrAcct><Id><Othr><Id>{msisdn}</Id></Othr></Id></CdtrAcct>"
        f"</RltdPties><RmtInf><Ustrd>DECAISSEMENT {reference}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n"
    )


def _funding_entry(number: int, movement: Movement, day: date, owner: str, account_id: str) -> str:
    service_ref, reference = _text(movement.service_ref[:35]), _text(movement.reference[:35])
    return (
        f"{_head(number, movement.amount, 'CRDT', day, service_ref, _RECEIVED, False)}"
        f"<NtryDtls><TxDtls><Refs><AcctSvcrRef>{service_ref}</AcctSvcrRef><EndToEndId>{reference}</EndToEndId>"
        f'</Refs><Amt Ccy="XOF">{movement.amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        f"<RltdPties><Dbtr><Pty><Nm>{_text(movement.counterparty)}</Nm></Pty></Dbtr>"
        f"<Cdtr><Pty><Nm>{owner}</Nm></Pty></Cdtr><CdtrAcct><Id><Othr><Id>{account_id}</Id></Othr></Id></CdtrAcct>"
        f"</RltdPties><RmtInf><Ustrd>APPROVISIONNEMENT {reference}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n"
    )


def _undoing_entry(number: int, movement: Movement, day: date, owner: str, account_id: str) -> str:
    """A return is a credit with RtrInf (PMNT/ICDT/RRTN); a reversal is a credit with RvslInd."""
    service_ref, reference = _text(movement.service_ref[:35]), _text(movement.reference[:35])
    payment = movement.payment
    returned = payment is not None and payment.undoing == "return"
    original = _text(payment.provider_ref) if payment else ""
    msisdn = _text(payment.msisdn) if payment else ""
    name = _text(movement.counterparty) or msisdn
    code = _RETURNED if returned else _ISSUED
    return_info = (
        f"<RtrInf><OrgnlBkTxCd>{_ISSUED}</OrgnlBkTxCd><Rsn><Cd>AC04</Cd></Rsn>"
        "<AddtlInf>COMPTE DU BENEFICIAIRE CLOTURE</AddtlInf></RtrInf>"
        if returned
        else ""
    )
    label = "RETOUR" if returned else "ANNULATION"
    return (
        f"{_head(number, movement.amount, 'CRDT', day, service_ref, code, not returned)}"
        f"<NtryDtls><TxDtls><Refs><AcctSvcrRef>{service_ref}</AcctSvcrRef><EndToEndId>{reference}</EndToEndId>"
        f'</Refs><Amt Ccy="XOF">{movement.amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        f"<RltdPties><Dbtr><Pty><Nm>{name}</Nm></Pty></Dbtr><DbtrAcct><Id><Othr><Id>{msisdn}</Id></Othr></Id>"
        f"</DbtrAcct><Cdtr><Pty><Nm>{owner}</Nm></Pty></Cdtr>"
        f"<CdtrAcct><Id><Othr><Id>{account_id}</Id></Othr></Id></CdtrAcct></RltdPties>{return_info}"
        f"</TxDtls></NtryDtls><AddtlNtryInf>{label} PAIEMENT {reference} REF {original}</AddtlNtryInf></Ntry>\n"
    )


def _fee_entry(number: int, fees: int, charged: int, day: date) -> str:
    return (
        f"{_head(number, fees, 'DBIT', day, f'FEES-{day:%Y%m%d}', _CHARGES, False)}"
        f"<AddtlNtryInf>FRAIS SUR PAIEMENTS DU {day:%d/%m/%Y} ({charged} OPERATIONS)</AddtlNtryInf></Ntry>\n"
    )


def _text(value: str) -> str:
    """XML character data: escaped, and without the control characters XML 1.0 forbids."""
    return escape(value.translate(_CONTROL))
