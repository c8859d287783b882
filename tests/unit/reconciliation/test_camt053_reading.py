"""camt.053 read across versions, batch bookings, returns and reversals — and refused when unsafe or wrong."""

from __future__ import annotations

import hashlib
import io
from datetime import date
from pathlib import Path

import pytest

from reconciliation.statements.camt053 import parse_camt053
from reconciliation.statements.lines import (
    Direction,
    LineKind,
    LineStatus,
    StatementTooLarge,
    UnreadableStatement,
    WrongCurrency,
)

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "statements" / "camt053_BFML_770001_20250314.xml"

V02 = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>M1</MsgId><CreDtTm>2025-03-14T20:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>S-02</Id><LglSeqNb>12</LglSeqNb><CreDtTm>2025-03-14T20:00:00</CreDtTm>
   <Acct><Id><Othr><Id>70000001</Id></Othr></Id><Ccy>XOF</Ccy></Acct>
   <Bal><Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp><Amt Ccy="XOF">1000</Amt><CdtDbtInd>DBIT</CdtDbtInd>
    <Dt><Dt>2025-03-13</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="XOF">59000</Amt><CdtDbtInd>CRDT</CdtDbtInd>
    <Dt><Dt>2025-03-14</Dt></Dt></Bal>
   <Ntry>
    <Amt Ccy="XOF">60000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2025-03-14</Dt></BookgDt><ValDt><Dt>2025-03-14</Dt></ValDt>
    <AcctSvcrRef>R-1</AcctSvcrRef>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>
    <NtryDtls><TxDtls>
     <Refs><EndToEndId>TRS-1</EndToEndId></Refs>
     <RltdPties><Dbtr><Nm>TRESOR</Nm></Dbtr><DbtrAcct><Id><Othr><Id>0022376550041</Id></Othr></Id></DbtrAcct></RltdPties>
    </TxDtls></NtryDtls>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>
"""


def _v08(entries: str, *, currency: str = "XOF", opening: int = 100_000, closing: int = 40_000) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>M8</MsgId><CreDtTm>2025-03-14T20:00:00+00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>S-08</Id><ElctrncSeqNb>5</ElctrncSeqNb><CreDtTm>2025-03-14T20:00:00+00:00</CreDtTm>
   <Acct><Id><IBAN>ML06ML0990100100000077000145</IBAN></Id><Ccy>{currency}</Ccy></Acct>
   <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="{currency}">{opening}</Amt>
    <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-03-14</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="{currency}">{closing}</Amt>
    <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-03-14</Dt></Dt></Bal>
   {entries}
  </Stmt>
 </BkToCstmrStmt>
</Document>
""".encode()


BATCH_ENTRY = """
   <Ntry>
    <NtryRef>B1</NtryRef><Amt Ccy="XOF">60000</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2025-03-14</Dt></BookgDt><ValDt><Dt>2025-03-15</Dt></ValDt><AcctSvcrRef>BATCH-1</AcctSvcrRef>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>
    <NtryDtls>
     <TxDtls><Refs><AcctSvcrRef>TX-1</AcctSvcrRef><EndToEndId>PMT25Q1-000001</EndToEndId></Refs>
      <Amt Ccy="XOF">30000</Amt><CdtDbtInd>DBIT</CdtDbtInd>
      <RltdPties><Cdtr><Pty><Nm>AMINATA TRAORE</Nm></Pty></Cdtr>
       <CdtrAcct><Id><IBAN>ML64ML0990100100000000010104</IBAN></Id></CdtrAcct></RltdPties>
     </TxDtls>
     <TxDtls><Refs><AcctSvcrRef>TX-2</AcctSvcrRef><EndToEndId>PMT25Q1-000002</EndToEndId></Refs>
      <Amt Ccy="XOF">30000</Amt><CdtDbtInd>DBIT</CdtDbtInd>
      <RltdPties><Cdtr><Pty><Nm>MOUSSA KEITA</Nm></Pty></Cdtr></RltdPties>
     </TxDtls>
    </NtryDtls>
   </Ntry>"""

REVERSAL_ENTRY = """
   <Ntry>
    <NtryRef>R1</NtryRef><Amt Ccy="XOF">30000</Amt><CdtDbtInd>CRDT</CdtDbtInd><RvslInd>true</RvslInd>
    <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2025-03-14</Dt></BookgDt><ValDt><Dt>2025-03-14</Dt></ValDt>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>
    <NtryDtls><TxDtls><Refs><EndToEndId>PMT25Q1-000002</EndToEndId></Refs></TxDtls></NtryDtls>
   </Ntry>"""

FEE_ENTRY = """
   <Ntry>
    <NtryRef>F1</NtryRef><Amt Ccy="XOF">90000</Amt><CdtDbtInd>DBIT</CdtDbtInd>
    <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2025-03-14</Dt></BookgDt><ValDt><Dt>2025-03-14</Dt></ValDt>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>MDOP</Cd><SubFmlyCd>CHRG</SubFmlyCd></Fmly></Domn></BkTxCd>
   </Ntry>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Document [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt><Id>&lol9;</Id>
</Stmt></BkToCstmrStmt></Document>
"""


def test_a_v02_statement_reads_plain_status_names_and_debit_opening_balance() -> None:
    [statement] = parse_camt053(io.BytesIO(V02))
    header = statement.header
    assert (header.account_id, header.statement_id, header.sequence_number) == ("70000001", "S-02", 12)
    assert (header.opening_balance, header.closing_balance) == (-1000, 59000)
    [line] = statement.lines
    assert (line.direction, line.amount, line.kind, line.status) == (
        Direction.CREDIT,
        60000,
        LineKind.FUNDING,
        LineStatus.BOOKED,
    )
    assert (line.our_ref, line.provider_ref, line.counterparty_name) == ("TRS-1", "R-1", "TRESOR")
    assert line.counterparty_msisdn == "+22376550041"


def test_a_v08_batch_entry_becomes_one_line_per_transaction() -> None:
    [statement] = parse_camt053(io.BytesIO(_v08(BATCH_ENTRY)))
    assert [(line.line_id, line.our_ref, line.provider_ref, line.amount) for line in statement.lines] == [
        ("B1/1", "PMT25Q1-000001", "TX-1", 30000),
        ("B1/2", "PMT25Q1-000002", "TX-2", 30000),
    ]
    first = statement.lines[0]
    assert (first.counterparty_name, first.counterparty_account) == (
        "AMINATA TRAORE",
        "ML64ML0990100100000000010104",
    )
    assert (first.booking_date, first.value_date) == (date(2025, 3, 14), date(2025, 3, 15))
    assert statement.counted.debit_count == 1  # <TxsSummry> counts entries, not transactions


def test_a_reversal_indicator_makes_a_reversal_line() -> None:
    [statement] = parse_camt053(io.BytesIO(_v08(BATCH_ENTRY + REVERSAL_ENTRY, closing=70_000)))
    reversal = statement.lines[-1]
    assert (reversal.kind, reversal.direction, reversal.our_ref) == (
        LineKind.REVERSAL,
        Direction.CREDIT,
        "PMT25Q1-000002",
    )


def test_a_charges_entry_without_details_is_a_fee_line() -> None:
    [statement] = parse_camt053(io.BytesIO(_v08(FEE_ENTRY, closing=10_000)))
    [fee] = statement.lines
    assert (fee.line_id, fee.kind, fee.amount, fee.our_ref) == ("F1", LineKind.FEE, 90000, None)


def test_comments_and_whitespace_inside_an_entry_are_read_past() -> None:
    commented = FEE_ENTRY.replace("<NtryRef>", "<!-- booked late --><NtryRef>").replace(
        "<SubFmlyCd>", "<!-- fee --> <SubFmlyCd> "
    )
    [statement] = parse_camt053(io.BytesIO(_v08(commented, closing=10_000)))
    [fee] = statement.lines
    assert (fee.line_id, fee.kind, fee.amount) == ("F1", LineKind.FEE, 90000)


def test_the_fixture_return_carries_its_reason_code() -> None:
    with FIXTURE.open("rb") as file:
        [statement] = parse_camt053(file)
    returned = next(line for line in statement.lines if line.kind is LineKind.RETURN)
    assert (returned.line_id, returned.our_ref, returned.return_reason) == ("009", "PMT25Q1-000103", "AC04")


def test_a_batch_whose_details_do_not_add_up_to_the_entry_is_refused() -> None:
    broken = BATCH_ENTRY.replace('<Amt Ccy="XOF">60000</Amt>', '<Amt Ccy="XOF">61000</Amt>')
    with pytest.raises(UnreadableStatement, match="details add up to 60000"):
        parse_camt053(io.BytesIO(_v08(broken)))


def test_a_statement_in_another_currency_is_refused() -> None:
    with pytest.raises(WrongCurrency, match="'EUR' is not XOF"):
        parse_camt053(io.BytesIO(_v08(BATCH_ENTRY, currency="EUR")))


def test_a_fraction_of_a_franc_is_refused() -> None:
    with pytest.raises(UnreadableStatement, match="fraction of a franc"):
        parse_camt053(io.BytesIO(_v08(FEE_ENTRY.replace(">90000<", ">90000.50<"))))


def test_truncated_xml_is_refused_with_its_line_number() -> None:
    truncated = _v08(BATCH_ENTRY)[:900]
    with pytest.raises(UnreadableStatement, match=r"camt\.053 line \d+: not well-formed XML") as refused:
        parse_camt053(io.BytesIO(truncated))
    assert refused.value.details["line"] > 1


def test_malformed_xml_is_refused_with_its_line_number() -> None:
    malformed = _v08(BATCH_ENTRY).replace(b"</NtryRef>", b"</NtryReff>")
    with pytest.raises(UnreadableStatement, match=r"camt\.053 line 14: not well-formed XML"):
        parse_camt053(io.BytesIO(malformed))


def test_a_billion_laughs_is_refused_without_expanding_it() -> None:
    with pytest.raises(UnreadableStatement, match="DOCTYPE is refused"):
        parse_camt053(io.BytesIO(BILLION_LAUGHS))


def test_a_billion_laughs_under_another_root_is_refused_too() -> None:
    other_root = BILLION_LAUGHS.replace(b"Document", b"lolz")
    with pytest.raises(UnreadableStatement):
        parse_camt053(io.BytesIO(other_root))


def test_an_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-PIN")
    xxe = (
        _v08(BATCH_ENTRY)
        .replace(
            b"<Document ",
            f'<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file://{secret}">]>\n<Document '.encode(),
            1,
        )
        .replace(b"<Id>S-08</Id>", b"<Id>&xxe;</Id>")
    )
    with pytest.raises(UnreadableStatement, match="DOCTYPE is refused") as refused:
        parse_camt053(io.BytesIO(xxe))
    assert "TOP-SECRET-PIN" not in str(refused.value)


def test_a_file_above_the_size_limit_is_refused_while_reading() -> None:
    with pytest.raises(StatementTooLarge):
        parse_camt053(io.BytesIO(_v08(BATCH_ENTRY * 50)), max_bytes=4096)


def test_another_iso_message_is_not_taken_for_a_statement() -> None:
    camt054 = _v08(BATCH_ENTRY).replace(b"camt.053.001.08", b"camt.054.001.08")
    with pytest.raises(UnreadableStatement, match=r"not a camt\.053 statement"):
        parse_camt053(io.BytesIO(camt054))


def test_the_file_hash_is_recorded_in_the_header() -> None:
    data = _v08(BATCH_ENTRY)
    [statement] = parse_camt053(io.BytesIO(data))
    assert statement.header.file_sha256 == hashlib.sha256(data).hexdigest()
