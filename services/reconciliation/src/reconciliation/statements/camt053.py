"""ISO 20022 camt.053 (versions .02 to .08) read as a stream into canonical statements, safely."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import BinaryIO, NamedTuple, cast

from lxml import etree

from reconciliation.statements.lines import (
    DEFAULT_MAX_BYTES,
    XOF,
    BoundedStream,
    Direction,
    LineKind,
    LineStatus,
    Statement,
    StatementCollector,
    StatementFormat,
    StatementHeader,
    StatementLine,
    StatementSink,
    TransactionSummary,
    UnreadableStatement,
    e164,
    whole_francs,
    wrong_currency,
)

_NAMESPACE_STEM = "urn:iso:std:iso:20022:tech:xsd:camt.053.001."
SUPPORTED_VERSIONS = frozenset(f"{number:02d}" for number in range(2, 9))
_FEE_CODES = frozenset({"CHRG", "COMM"})
_RETURN_CODES = frozenset({"RRTN"})
_OPENING_CODES = ("OPBD", "PRCD")
_CLOSING_CODE = "CLBD"
#: The parser never expands entities, never loads a DTD, never touches the network, keeps libxml2's limits.
_SAFE_PARSING = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False}


def parse_camt053(source: BinaryIO, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Statement]:
    """Every `<Stmt>` of a camt.053 document, whole (see `stream_camt053` for large files)."""
    collector = StatementCollector()
    sha256 = stream_camt053(source, collector, max_bytes=max_bytes)
    return [
        dataclasses.replace(statement, header=dataclasses.replace(statement.header, file_sha256=sha256))
        for statement in collector.statements
    ]


def stream_camt053(source: BinaryIO, sink: StatementSink, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Read every `<Stmt>` of a camt.053 document entry by entry in flat memory, handing each statement's
    header, lines and counted totals to `sink` as they are read; returns the file's sha256.

    Raises UnreadableStatement (malformed or truncated XML, a DOCTYPE, not camt.053 .02–.08),
    WrongCurrency (anything but XOF) and StatementTooLarge (more than `max_bytes`), possibly after the
    sink has been given part of the file: the sink's work must be undone then (one transaction).
    """
    stream = BoundedStream(source, max_bytes)
    reader = _CamtReader(sink)
    events = etree.iterparse(
        stream, events=("start", "end"), tag=("{*}Document", "{*}Stmt", "{*}Ntry"), **_SAFE_PARSING
    )
    try:
        for event, element in events:
            if event == "start":
                reader.start(element)
            else:
                reader.end(element)
    except etree.XMLSyntaxError as error:
        raise UnreadableStatement(
            f"camt.053 line {error.lineno}: not well-formed XML ({error.msg})", details={"line": error.lineno}
        ) from None
    if not reader.seen_document:
        _refuse_doctype(events.root)
        raise UnreadableStatement("not a camt.053 statement: the root element is not <Document>")
    return stream.sha256


def _refuse_doctype(root: etree._Element | None) -> None:
    if root is not None and root.getroottree().docinfo.internalDTD is not None:
        raise UnreadableStatement("camt.053 with a DOCTYPE is refused (no DTD, no entities)")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


_DETAILS = "NtryDtls/TxDtls"
_CURRENCY_OF = {"Amt": "Amt@Ccy", "AmtDtls/TxAmt/Amt": "AmtDtls/TxAmt/Amt@Ccy"}
_DATE_PATHS = {"BookgDt": ("BookgDt/Dt", "BookgDt/DtTm"), "ValDt": ("ValDt/Dt", "ValDt/DtTm")}


class _Party(NamedTuple):
    """Where a counterparty's name and account sit: `<Cdtr><Pty><Nm>` from .08, `<Cdtr><Nm>` before."""

    name_v08: str
    name_v02: str
    iban: str
    other_id: str
    proxy: str

    @classmethod
    def at(cls, side: str) -> _Party:
        return cls(
            f"RltdPties/{side}/Pty/Nm",
            f"RltdPties/{side}/Nm",
            f"RltdPties/{side}Acct/Id/IBAN",
            f"RltdPties/{side}Acct/Id/Othr/Id",
            f"RltdPties/{side}Acct/Prxy/Id",
        )


#: The counterparty of a debit is its creditor; of a credit, its debtor.
_PARTIES = {Direction.DEBIT: _Party.at("Cdtr"), Direction.CREDIT: _Party.at("Dbtr")}


@dataclass(slots=True)
class _Flat:
    """An element's descendants as texts keyed by local path (`RltdPties/Cdtr/Pty/Nm`).

    Keys ignore namespaces, so every camt version reads alike; the first occurrence of a path wins,
    an empty element is present with the text "", and `Amt` also records its `Ccy` as `…Amt@Ccy`.
    An entry's transactions (`NtryDtls/TxDtls`) are flattened apart, one `_Flat` each, in `details`.
    """

    line: int | None
    texts: dict[str, str] = field(default_factory=dict)
    details: list[_Flat] = field(default_factory=list)

    def get(self, *paths: str) -> str | None:
        """The text of the first of `paths` that has one."""
        for path in paths:
            text = self.texts.get(path)
            if text:
                return text
        return None

    def has(self, path: str) -> bool:
        return path in self.texts


def _flatten(element: etree._Element, names: dict[str, str]) -> _Flat:
    """One pass over the subtree, iterated by lxml in C; `names` caches the local name of each tag."""
    flat = _Flat(_line_of(element))
    contexts: dict[etree._Element, tuple[str, _Flat]] = {element: ("", flat)}
    descendants = element.iter(etree.Element)
    next(descendants)
    for child in descendants:
        parent = child.getparent()
        if parent is None:
            continue
        prefix, owner = contexts[parent]
        tag = child.tag
        name = names.get(tag) or names.setdefault(tag, _local(tag))
        path = prefix + name
        if path == _DETAILS and owner is flat:
            detail = _Flat(_line_of(child))
            flat.details.append(detail)
            contexts[child] = ("", detail)
            continue
        contexts[child] = (path + "/", owner)
        texts = owner.texts
        if path not in texts:
            text = child.text
            texts[path] = text.strip() if text else ""
            if name == "Amt":
                texts[path + "@Ccy"] = child.get("Ccy", "")
    return flat


#: Every path an entry or a transaction is read at (an entry without details is read as its own transaction).
_READ_PATHS = (
    "Amt",
    "AmtDtls/TxAmt/Amt",
    "CdtDbtInd",
    "Sts/Cd",
    "NtryRef",
    "AcctSvcrRef",
    "BookgDt/Dt",
    "BookgDt/DtTm",
    "ValDt/Dt",
    "ValDt/DtTm",
    "RvslInd",
    "AddtlNtryInf",
    "AddtlTxInf",
    "BkTxCd/Domn/Fmly/SubFmlyCd",
    "Refs/EndToEndId",
    "Refs/InstrId",
    "Refs/AcctSvcrRef",
    "RtrInf/Rsn/Cd",
    "RtrInf/Rsn/Prtry",
    "RtrInf/AddtlInf",
    "RmtInf/Ustrd",
    *(path for party in _PARTIES.values() for path in party),
)

_Schema = dict[str, tuple[str, "_Schema"]]
"""Qualified tag → (its local path, the schema of its children to read)."""


def _schema(prefix: str) -> _Schema:
    root: _Schema = {}
    for path in _READ_PATHS:
        names = path.split("/")
        level = root
        for depth, name in enumerate(names):
            spec = level.setdefault(prefix + name, ("/".join(names[: depth + 1]), {}))
            level = spec[1]
    return root


def _collect(element: etree._Element, schema: _Schema, found: dict[str, etree._Element]) -> None:
    """One pass over the children on `schema`'s paths; the first element at a path in document order wins."""
    for child in element:
        spec = schema.get(child.tag)  # a comment's tag is a function: never in the schema
        if spec is not None:
            path, below = spec
            if path not in found:
                found[path] = child
            if below:
                _collect(child, below, found)


class _Node:
    """An entry or a transaction: the elements at the paths it is read at, by local path.

    Reads like a `_Flat` (texts stripped, an empty element present with the text "", the first occurrence
    of a path wins) but visits only the elements on those paths, each once.
    """

    __slots__ = ("_reader", "element", "found", "line")

    def __init__(self, element: etree._Element, reader: _NodeReader) -> None:
        self.element = element
        self.line = _line_of(element)
        self.found: dict[str, etree._Element] = {}
        self._reader = reader
        _collect(element, reader.schema, self.found)

    def find(self, path: str) -> etree._Element | None:
        return self.found.get(path)

    def get(self, *paths: str) -> str | None:
        """The text of the first of `paths` that has one."""
        found = self.found
        for path in paths:
            element = found.get(path)
            if element is not None:
                text = element.text
                if text:
                    text = text.strip()
                    if text:
                        return text
        return None

    def has(self, path: str) -> bool:
        return path in self.found

    def details(self) -> list[_Node]:
        """The entry's transactions (`NtryDtls/TxDtls`), in document order."""
        reader = self._reader
        return [
            _Node(transaction, reader)
            for block in self.element
            if block.tag == reader.entry_details
            for transaction in block
            if transaction.tag == reader.transaction
        ]


class _NodeReader:
    """What `_Node` needs for one namespace: the schema of the paths read and the tags of the details."""

    def __init__(self, prefix: str) -> None:
        self.schema = _schema(prefix)
        self.entry_details = f"{prefix}NtryDtls"
        self.transaction = f"{prefix}TxDtls"


@dataclass
class _Tally:
    """Booked entries counted while streaming, in the convention of `<TxsSummry>` (entries, not lines)."""

    credit_count: int = 0
    credit_sum: int = 0
    debit_count: int = 0
    debit_sum: int = 0

    def add(self, direction: Direction, amount: int) -> None:
        if direction is Direction.CREDIT:
            self.credit_count += 1
            self.credit_sum += amount
        else:
            self.debit_count += 1
            self.debit_sum += amount

    def summary(self) -> TransactionSummary:
        return TransactionSummary(
            credit_count=self.credit_count,
            credit_sum=self.credit_sum,
            debit_count=self.debit_count,
            debit_sum=self.debit_sum,
            entry_count=self.credit_count + self.debit_count,
        )


@dataclass
class _Draft:
    header: StatementHeader | None = None
    lines: int = 0
    tally: _Tally = field(default_factory=_Tally)


class _CamtReader:
    """Turns iterparse events into statements handed to a sink, forgetting every entry once it has become lines."""

    def __init__(self, sink: StatementSink) -> None:
        self.seen_document = False
        self._sink = sink
        self._ntry_tag = "Ntry"
        self._stmt_tag = "Stmt"
        self._draft = _Draft()
        self._names: dict[str, str] = {}
        self._dates: dict[str, date] = {}
        self._statuses: dict[str, str] = {}
        self._nodes = _NodeReader("")

    def start(self, element: etree._Element) -> None:
        if self.seen_document or _local(element.tag) != "Document":
            return
        _refuse_doctype(element)
        namespace = etree.QName(element).namespace or ""
        if namespace:
            if not namespace.startswith(_NAMESPACE_STEM):
                raise UnreadableStatement(f"not a camt.053 statement: namespace {namespace!r}")
            version = namespace.removeprefix(_NAMESPACE_STEM)
            if version not in SUPPORTED_VERSIONS:
                raise UnreadableStatement(
                    f"camt.053.001.{version} is not supported (versions .02 to .08 are)"
                )
        prefix = f"{{{namespace}}}" if namespace else ""
        self._ntry_tag, self._stmt_tag = f"{prefix}Ntry", f"{prefix}Stmt"
        self._nodes = _NodeReader(prefix)
        self.seen_document = True

    def end(self, element: etree._Element) -> None:
        if element.tag == self._ntry_tag:
            parent = element.getparent()
            if self._draft.header is None and parent is not None:
                self._draft.header = self._header(parent)
                self._sink.begin(self._draft.header)
            self._entry(_Node(element, self._nodes))
            _forget(element)
        elif element.tag == self._stmt_tag:
            header = self._draft.header
            if header is None:
                header = self._header(element)
                self._sink.begin(header)
            self._sink.end(header, self._draft.tally.summary())
            self._draft = _Draft()
            _forget(element)

    # -- header -------------------------------------------------------------------------------------

    def _header(self, stmt: etree._Element) -> StatementHeader:
        """Read from the statement's children that precede its first entry."""
        fields = _flatten(stmt, self._names)
        line = fields.line
        balances: dict[str, int] = {}
        for child in stmt.iterchildren(self._ntry_tag.removesuffix("Ntry") + "Bal"):
            balance = _flatten(child, self._names)
            code = balance.get("Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry") or ""
            amount = self._amount(balance, "Amt")
            balances.setdefault(code, -amount if balance.get("CdtDbtInd") == "DBIT" else amount)
        account = fields.get("Acct/Id/IBAN", "Acct/Id/Othr/Id")
        if not account:
            raise UnreadableStatement(f"camt.053 line {line}: the statement names no account (<Acct><Id>)")
        currency = fields.get("Acct/Ccy")
        if currency and currency != XOF:
            raise wrong_currency(currency, where=f"camt.053 line {line}, account {account}")
        opening = next((balances[code] for code in _OPENING_CODES if code in balances), None)
        closing = balances.get(_CLOSING_CODE)
        if opening is None or closing is None:
            raise UnreadableStatement(
                f"camt.053 line {line}: statement of {account} lacks an opening (OPBD) or closing (CLBD) booked balance"
            )
        return StatementHeader(
            format=StatementFormat.CAMT053,
            account_id=account,
            currency=XOF,
            statement_id=fields.get("Id"),
            sequence_number=_integer(fields.get("ElctrncSeqNb", "LglSeqNb"), line),
            period_start=self._date_of(fields.get("FrToDt/FrDtTm"), line),
            period_end=self._date_of(fields.get("FrToDt/ToDtTm"), line),
            opening_balance=opening,
            closing_balance=closing,
            summary=_summary(fields),
            file_sha256="",
        )

    # -- entries ------------------------------------------------------------------------------------

    def _entry(self, entry: _Node) -> None:
        line = entry.line
        amount = self._amount(entry, "Amt")
        direction = _direction(entry.get("CdtDbtInd"), line)
        status_text = entry.get("Sts/Cd", "Sts") or ""
        raw_status = self._statuses.setdefault(status_text, status_text)  # one string for a million "BOOK"s
        status = LineStatus.BOOKED if raw_status == "BOOK" else LineStatus.PENDING
        if status is LineStatus.BOOKED:
            self._draft.tally.add(direction, amount)
        common = _EntryFacts(
            line_id=entry.get("NtryRef", "AcctSvcrRef") or f"#{self._draft.lines + 1}",
            booking_date=self._entry_date(entry, "BookgDt"),
            value_date=self._entry_date(entry, "ValDt"),
            reversal=entry.get("RvslInd") == "true",
            status=status,
            raw_status=raw_status,
            provider_ref=entry.get("AcctSvcrRef"),
            details=entry.get("AddtlNtryInf"),
            sub_family=entry.get("BkTxCd/Domn/Fmly/SubFmlyCd"),
        )
        details = entry.details()
        if not details:
            self._draft.lines += 1
            self._sink.line(self._line(common, entry, direction, amount, common.line_id))
            return
        signed_total = 0
        single = len(details) == 1
        for number, transaction in enumerate(details, start=1):
            indicator = transaction.get("CdtDbtInd")
            tx_direction = direction if indicator is None else _direction(indicator, transaction.line)
            tx_amount = self._transaction_amount(transaction, amount if single else None)
            signed_total += tx_amount if tx_direction is direction else -tx_amount
            line_id = common.line_id if single else f"{common.line_id}/{number}"
            self._draft.lines += 1
            self._sink.line(self._line(common, transaction, tx_direction, tx_amount, line_id))
        if signed_total != amount:
            raise UnreadableStatement(
                f"camt.053 line {line}: entry {common.line_id} is {amount} XOF but its details add up to {signed_total}"
            )

    def _line(
        self, common: _EntryFacts, transaction: _Node, direction: Direction, amount: int, line_id: str
    ) -> StatementLine:
        party = _PARTIES[direction]
        sub_family = transaction.get("BkTxCd/Domn/Fmly/SubFmlyCd") or common.sub_family
        is_return = transaction.has("RtrInf") or sub_family in _RETURN_CODES
        return StatementLine(
            source=StatementFormat.CAMT053,
            line_id=line_id,
            booking_date=common.booking_date,
            value_date=common.value_date,
            direction=direction,
            amount=amount,
            currency=XOF,
            kind=_kind(common.reversal, sub_family, is_return, direction),
            status=common.status,
            raw_status=common.raw_status,
            our_ref=_reference(transaction.get("Refs/EndToEndId"))
            or _reference(transaction.get("Refs/InstrId")),
            provider_ref=transaction.get("Refs/AcctSvcrRef") or common.provider_ref,
            counterparty_msisdn=e164(transaction.get(party.proxy, party.other_id)),
            counterparty_account=transaction.get(party.iban, party.other_id),
            counterparty_name=transaction.get(party.name_v08, party.name_v02),
            return_reason=transaction.get("RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry"),
            details=transaction.get("RmtInf/Ustrd", "AddtlTxInf", "RtrInf/AddtlInf") or common.details,
        )

    def _transaction_amount(self, transaction: _Node, entry_amount: int | None) -> int:
        for path in ("Amt", "AmtDtls/TxAmt/Amt"):
            found = transaction.find(path)
            if found is not None:
                return _amount_of(found, transaction.line)
        if entry_amount is None:
            raise UnreadableStatement(
                f"camt.053 line {transaction.line}: a batch entry's transaction has no amount"
            )
        return entry_amount

    def _amount(self, flat: _Flat | _Node, path: str) -> int:
        if isinstance(flat, _Node):
            found = flat.find(path)
            if found is None:
                raise UnreadableStatement(f"camt.053 line {flat.line}: <{path}> is missing")
            return _amount_of(found, flat.line)
        if not flat.has(path):
            raise UnreadableStatement(f"camt.053 line {flat.line}: <{path}> is missing")
        currency = flat.texts.get(_CURRENCY_OF.get(path) or f"{path}@Ccy", "")
        if currency != XOF:
            raise wrong_currency(currency, where=f"camt.053 line {flat.line}")
        return _francs(flat.texts[path], flat.line)

    def _entry_date(self, entry: _Node, path: str) -> date:
        parsed = self._date_of(entry.get(*_DATE_PATHS[path]), entry.line)
        if parsed is None:
            raise UnreadableStatement(f"camt.053 line {entry.line}: entry has no {path} date")
        return parsed

    def _date_of(self, text: str | None, line: int | None) -> date | None:
        if not text:
            return None
        day = text[:10]
        cached = self._dates.get(day)
        if cached is None:
            try:
                cached = self._dates.setdefault(day, date.fromisoformat(day))
            except ValueError:
                raise UnreadableStatement(f"camt.053 line {line}: {text!r} is not a date") from None
        return cached


class _EntryFacts(NamedTuple):
    line_id: str
    booking_date: date
    value_date: date
    reversal: bool
    status: LineStatus
    raw_status: str
    provider_ref: str | None
    details: str | None
    sub_family: str | None


def _summary(fields: _Flat) -> TransactionSummary | None:
    if not fields.has("TxsSummry"):
        return None
    line = fields.line
    return TransactionSummary(
        credit_count=_integer(fields.get("TxsSummry/TtlCdtNtries/NbOfNtries"), line),
        credit_sum=_optional_francs(fields.get("TxsSummry/TtlCdtNtries/Sum"), line),
        debit_count=_integer(fields.get("TxsSummry/TtlDbtNtries/NbOfNtries"), line),
        debit_sum=_optional_francs(fields.get("TxsSummry/TtlDbtNtries/Sum"), line),
        entry_count=_integer(fields.get("TxsSummry/TtlNtries/NbOfNtries"), line),
    )


def _amount_of(element: etree._Element, line: int | None) -> int:
    """Whole francs of an `<Amt Ccy="XOF">` element (WrongCurrency for any other currency)."""
    currency = element.get("Ccy", "")
    if currency != XOF:
        raise wrong_currency(currency, where=f"camt.053 line {line}")
    text = element.text
    return _francs(text.strip() if text else "", line)


def _kind(reversal: bool, sub_family: str | None, is_return: bool, direction: Direction) -> LineKind:
    if reversal:
        return LineKind.REVERSAL
    if sub_family in _FEE_CODES:
        return LineKind.FEE
    if is_return:
        return LineKind.RETURN
    return LineKind.FUNDING if direction is Direction.CREDIT else LineKind.PAYMENT


def _line_of(element: etree._Element) -> int | None:
    return cast("int | None", element.sourceline)


def _forget(element: etree._Element) -> None:
    """Free an element once read, and its already-read preceding siblings."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _reference(text: str | None) -> str | None:
    return None if text is None or text.upper() == "NOTPROVIDED" else text


def _direction(text: str | None, line: int | None) -> Direction:
    if text == "CRDT":
        return Direction.CREDIT
    if text == "DBIT":
        return Direction.DEBIT
    raise UnreadableStatement(f"camt.053 line {line}: <CdtDbtInd> is {text!r}, not CRDT or DBIT")


def _francs(text: str, line: int | None) -> int:
    if text.isdigit():
        return int(text)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UnreadableStatement(f"camt.053 line {line}: {text!r} is not an amount") from None
    if value < 0:
        raise UnreadableStatement(f"camt.053 line {line}: amount {text} is negative; the sign is <CdtDbtInd>")
    return whole_francs(value, where=f"camt.053 line {line}")


def _optional_francs(text: str | None, line: int | None) -> int | None:
    return None if text is None else _francs(text, line)


def _integer(text: str | None, line: int | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise UnreadableStatement(f"camt.053 line {line}: {text!r} is not a whole number")
    return int(text)
