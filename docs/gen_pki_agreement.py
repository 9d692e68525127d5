"""Generate docs/pki-agreement.md: gemcheck's TI-PKI checks against gematik's verdicts.

Run from the repository root: ``python docs/gen_pki_agreement.py`` (``--check`` exits 1
when the committed table is out of date). ``tests/test_pki_agreement.py`` imports this
module and asserts every row it claims.

For every certificate file listed in ``../shared/pki-data/MANIFEST.md`` the first
certificate is loaded with gemcheck's loader and judged by the ``ti-pki`` certificate
rules (type, KeyUsage, EKU, critical extensions, Admission, Telematik-ID, algorithm,
RSA end date, subject) plus ti-crypto's key and signature rules, at a date inside its
validity (2025-07-24, the reference time ti-pki.md §6 suggests, when inside; else the
middle of the validity). A certificate the manifest calls expired or not yet valid is
judged by CRY-VAL-001 at the manifest's own date (2026-11-28). Defects of chain,
signature, issuer, TSL or OCSP belong to the trust checks (ti-pki-trust) and are
marked out of scope here; for them the table records that the type checks pass, so a
trust defect is never reported as a profile defect.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography import x509

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PKI_DATA = SHARED / "pki-data"
MANIFEST = PKI_DATA / "MANIFEST.md"
OUTPUT = REPO / "docs" / "pki-agreement.md"

REFERENCE_DATE = dt.date(2025, 7, 24)
"""ti-pki.md §6.3: TSL_default valid, most certificates valid."""
MANIFEST_DATE = dt.date(2026, 11, 28)
"""The date the manifest's status column is computed for."""

TYPE_RULES = (
    "PKI-TYPE-001",
    "PKI-KU-001",
    "PKI-EKU-001",
    "PKI-CRIT-001",
    "PKI-ADM-001",
    "PKI-TID-001",
    "PKI-ALG-001",
    "PKI-RSA-001",
    "PKI-DN-001",
    "CRY-KEY-001",
    "CRY-SIG-001",
)
VALIDITY_RULE = "CRY-VAL-001"

PASSWORD_ENV = "GEMCHECK_AGREEMENT_P12_PASSWORD"
"""The environment variable the generator puts each file's published test password in."""

# -- what the manifest says ------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One certificate row of the manifest."""

    section: str
    number: int
    path: str
    what: str
    verdict: str
    notes: str
    validity: tuple[dt.date, dt.date] | None


def manifest_rows(text: str) -> list[Row]:
    """Every row of the manifest that is a certificate file (TSLs, JSON, keys left out)."""
    rows: list[Row] = []
    section = ""
    for line in text.splitlines():
        if line.startswith("### "):
            section = line[4:].strip()
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 12 or not cells[0].isdigit() or not cells[1].startswith("`"):
            continue
        what, verdict = cells[3], cells[10]
        if what.startswith(("TSL XML", "JSON")) or verdict in ("KEY", "INDEX", "TEMPLATE"):
            continue
        rows.append(
            Row(
                section=section,
                number=int(cells[0]),
                path=cells[1].strip("`"),
                what=what,
                verdict=verdict,
                notes=" | ".join(cells[11:]),
                validity=_validity(cells[9]),
            )
        )
    return rows


def _validity(cell: str) -> tuple[dt.date, dt.date] | None:
    m = re.match(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", cell)
    if not m:
        return None
    return dt.date.fromisoformat(m.group(1)), dt.date.fromisoformat(m.group(2))


def _password(row: Row) -> str | None:
    m = re.search(r"pw=`([^`]*)`", row.what)
    return m.group(1) if m else None


# -- what the manifest expects ---------------------------------------------------------------------

DEFECTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        r"expired|not yet valid|notBefore in the future|SE_1021|EXPIRED|NOT_YET_VALID",
        "validity",
        (VALIDITY_RULE,),
    ),
    (r"not parseable|intentionally broken", "parse", ()),
    (r"DSA|unsupported (signature )?algorithm", "algorithm", ("CRY-KEY-001",)),
    (
        r"signature (does not verify|does NOT verify|broken)|SE_1024|AKI|authorityKeyId|"
        r"AuthorityKeyIdentifier|SE_1023|self-signed|not trusted|unknown to IDP|not in TSL|"
        r"unknown issuer|different key|revoked|OCSP",
        "trust",
        (),
    ),
    (r"SE_1018|SE_1033|wrong cert-type|instead of C\.|no cert-type OID", "type", ("PKI-TYPE-001",)),
    (r"SE_1017|EKU|ExtendedKeyUsage", "extended key usage", ("PKI-EKU-001",)),
    (r"SE_1016|KU |KeyUsage", "key usage", ("PKI-KU-001",)),
    (r"critical", "critical extension", ("PKI-CRIT-001",)),
    (r"professionOID|Admission", "admission", ("PKI-ADM-001",)),
    (r"surname|KVNR|subject lacks|subject without", "subject", ("PKI-DN-001",)),
)
"""(pattern in the manifest's defect note, defect category, rules that must fail)."""

VSDM_INTERMEDIARY = "1.2.276.0.76.4.159"
"""oid_int_vsdm, the only role the VSDM Intermediär use case accepts on C.FD.TLS-C."""


@dataclass(frozen=True)
class Special:
    """A row whose expectation the generic reading of the manifest gets wrong, with evidence."""

    expect: str
    category: str
    rules: tuple[str, ...]
    note: str
    tailoring: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    role: str | None = None


SPECIAL: Mapping[str, Special] = MappingProxyType(
    {
        "GEM.SMCB-CA57/valid/BabetteBeyer-missing-admission.pem": Special(
            "fail",
            "admission (manifest: VALID (profile))",
            ("PKI-ADM-001", "PKI-TID-001"),
            "documented disagreement: VALID (profile) means GemLibPki's TUC_PKI_018 accepts "
            "it, which never reads the Admission (ti-pki.md §1.3b); the manifest itself notes "
            "checkAllowedProfessionOids() returns false. gemSpec_PKI Tab_PKI_238 / GS-A_4717-02 "
            "require the Admission with the Telematik-ID on C.HCI.AUT (ti-spec-tables.md §1 X9, "
            "§2.2 [READ]), so gemcheck fails it",
        ),
        "GEM.SMCB-CA57/valid/BabetteBeyer-missing-prof-oid.pem": Special(
            "fail",
            "admission (manifest: VALID (profile))",
            ("PKI-ADM-001",),
            "documented disagreement: as missing-admission; an Admission without professionOID "
            "names no role (GS-A_4717-02 'professionOIDs MUSS contain an OID', ti-spec-tables.md "
            "§1 X9 [READ])",
        ),
        "GEM.TSL-CA51/TSL-Signing-Unit-51_invalid-signature.p12": Special(
            "pass",
            "none (manifest: '? (name says INVALID)')",
            (),
            "the manifest flags it as misleading: its signature verifies with GEM.TSL-CA51 "
            "(observed with cryptography and openssl); the type checks pass",
        ),
        "intermediaerClient/invalid/ee_invalid-profession-oid.p12": Special(
            "fail",
            "admission (use case: VSDM Intermediär)",
            ("PKI-ADM-001",),
            "use-case rule: .172 (KOM-LE Fachdienst) is a valid technical role for C.FD.TLS-C, "
            "only the VSDM Intermediär use case requires oid_int_vsdm .159; agrees with the "
            "site tailoring PKI-ADM-001 profession_oids C.FD.TLS-C: [.159] applied here (the "
            "untailored profile passes it)",
            tailoring={
                "PKI-ADM-001": {"params": {"profession_oids": {"C.FD.TLS-C": [VSDM_INTERMEDIARY]}}}
            },
        ),
        "konnektor-client/src/main/resources/tls/konsim_truststore.jks": Special(
            "pass",
            "not TI-PKI (public web CAs, simulator CA)",
            (),
            "the first certificate (FMCA, a Konnektor-simulator CA) is no TI certificate; "
            "judged with site role clientsystem, i.e. outside the TI type checks",
            role="clientsystem",
        ),
    }
)


@dataclass(frozen=True)
class Expectation:
    expect: str  # pass | fail | error | out-of-scope
    category: str
    rules: tuple[str, ...] = ()
    role: str | None = None
    note: str = ""
    tailoring: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def expectation(row: Row) -> Expectation:
    """What the manifest expects of the row, and which rules must show it."""
    for suffix, special in SPECIAL.items():
        if row.path.endswith(suffix):
            return Expectation(
                special.expect,
                special.category,
                special.rules,
                special.role or _role(row),
                special.note,
                special.tailoring,
            )
    verdict = row.verdict
    if verdict == "n/a":
        return Expectation("error", "no certificate (negative parsing test)")
    if verdict == "CLIENT-SYSTEM":
        return Expectation("pass", "not TI-PKI (client system)", role="clientsystem")
    if verdict.startswith(("VALID", "CA", "TA", "TRUSTSTORE")):
        return Expectation("pass", "none", role=_role(row))
    if verdict.startswith(("INVALID", "DEFECT")):
        for pattern, category, rules in DEFECTS:
            if re.search(pattern, row.notes):
                if category == "trust":
                    return Expectation("out-of-scope", "trust (chain/signature/TSL/OCSP)")
                if category == "parse":
                    return Expectation("error", "parse")
                return Expectation("fail", category, rules, _role(row))
        return Expectation("fail", "unrecognised defect note", (), _role(row))
    return Expectation("fail", f"unrecognised verdict {verdict!r}")


def _role(row: Row) -> str | None:
    """The type the source's test expects ("expected type X" / "instead of X"), as site role."""
    m = re.search(r"expected type (C\.[A-Z]+(?:[.\-][A-Z0-9_\-]+)+)", row.notes)
    if m is None:
        m = re.search(r"instead of (C\.[A-Z]+(?:[.\-][A-Z0-9_\-]+)+)", row.notes)
    return m.group(1) if m else None


# -- what gemcheck says ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    row: Row
    expected: Expectation
    as_of: dt.date | None
    failed: tuple[tuple[str, str], ...]  # (rule, message) of fail and error results
    load_error: str | None
    validity_failed: bool | None  # CRY-VAL-001 at MANIFEST_DATE (validity defects only)
    type_name: str | None = None

    @property
    def failed_rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(rule for rule, _ in self.failed))

    @property
    def agrees(self) -> bool:
        exp = self.expected
        if exp.expect == "error":
            return self.load_error is not None
        if self.load_error is not None:
            return False
        if exp.expect == "pass":
            return not self.failed
        if exp.expect == "out-of-scope":
            return not self.failed  # the type checks do not misreport a trust defect
        if exp.category == "validity":
            return bool(self.validity_failed)
        return bool(exp.rules) and all(r in self.failed_rules for r in exp.rules)

    @property
    def verdict(self) -> str:
        if self.expected.expect == "out-of-scope":
            return "out of scope" if self.agrees else "type checks misreport"
        if self.expected.note.startswith("documented disagreement"):
            return "disagrees (documented)" if self.agrees else "DISAGREES"
        return "agrees" if self.agrees else "DISAGREES"


def evaluate(rows: Sequence[Row], data_dir: Path = PKI_DATA) -> list[Outcome]:
    """Load and judge every row (needs ``gemcheck`` importable)."""
    from gemcheck.collect.certs import load_file
    from gemcheck.engine import evaluate as run_rules
    from gemcheck.evidence import EvidenceSet
    from gemcheck.model import Status
    from gemcheck.pki.types import identify
    from gemcheck.profile import load
    from gemcheck.registry import Context, load_registry

    registry = load_registry()
    bound_cache: dict[str, dict[str, Any]] = {}

    def rules_for(exp: Expectation) -> dict[str, Any]:
        """The bound rules, with the row's site tailoring applied (as a site file would)."""
        key = repr(exp.tailoring)
        if key not in bound_cache:
            _, rules = load(["ti-pki"], registry, tailoring=exp.tailoring, tailoring_file="row")
            bound_cache[key] = {r.id: r for r in rules}
        return bound_cache[key]

    outcomes: list[Outcome] = []
    for row in rows:
        exp = expectation(row)
        pw = _password(row)
        if pw is not None:
            os.environ[PASSWORD_ENV] = pw
        evidence = load_file(
            data_dir / row.path, data_dir, role=exp.role, password_env=PASSWORD_ENV if pw else None
        )
        first = evidence[0]
        if first.error is not None or first.certificate is None:
            outcomes.append(Outcome(row, exp, None, (), first.error, None))
            continue
        bound = rules_for(exp)
        as_of = _inside(first.certificate)
        type_name = identify(first.certificate).name
        ctx = Context(as_of=as_of, evidence=EvidenceSet([first]))
        results = run_rules([bound[r] for r in TYPE_RULES], EvidenceSet([first]), ctx)
        failed = tuple(
            (r.rule, r.message) for r in results if r.status in (Status.FAIL, Status.ERROR)
        )
        validity_failed = None
        if exp.category == "validity":
            vctx = Context(as_of=MANIFEST_DATE, evidence=EvidenceSet([first]))
            vres = run_rules([bound[VALIDITY_RULE]], EvidenceSet([first]), vctx)
            validity_failed = any(r.status is Status.FAIL for r in vres)
        outcomes.append(Outcome(row, exp, as_of, failed, None, validity_failed, type_name))
    return outcomes


def _inside(cert: x509.Certificate) -> dt.date:
    """A date inside the certificate's validity: REFERENCE_DATE if possible, else its middle."""
    nb = cert.not_valid_before_utc.date() + dt.timedelta(days=1)
    na = cert.not_valid_after_utc.date() - dt.timedelta(days=1)
    if nb <= REFERENCE_DATE <= na:
        return REFERENCE_DATE
    if nb > na:  # a one- or two-day certificate: its first day (judged at 00:00 UTC)
        return cert.not_valid_before_utc.date() + dt.timedelta(days=1)
    return nb + (na - nb) / 2


# -- the document ----------------------------------------------------------------------------------


def render(outcomes: Iterable[Outcome]) -> str:
    outcomes = list(outcomes)
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.verdict] = counts.get(o.verdict, 0) + 1
    lines = [
        "# TI-PKI type checks vs. gematik's reference data",
        "",
        "Generated by `python docs/gen_pki_agreement.py` (do not edit; "
        "`tests/test_pki_agreement.py` asserts every row).",
        "",
        "Every certificate file of `../shared/pki-data/MANIFEST.md` (first certificate of the "
        "file), judged by the ti-pki rules " + ", ".join(TYPE_RULES) + " at a date inside its "
        f"validity ({REFERENCE_DATE} when inside, else the middle of the validity). A "
        "certificate the manifest calls expired or not yet valid is judged by "
        f"{VALIDITY_RULE} at the manifest's date {MANIFEST_DATE}. Chain, signature, issuer, "
        "TSL and OCSP defects belong to the trust rules (ti-pki-trust) and are *out of scope* "
        "here: for them the row asserts that the type checks pass.",
        "",
        "Summary: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) + ".",
        "",
        "| # | file | manifest verdict | stated defect | type | as of | gemcheck | agreement |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, o in enumerate(outcomes, 1):
        if o.load_error:
            said = f"not loaded: {o.load_error}"
        elif o.failed:
            said = "fails " + ", ".join(o.failed_rules)
        else:
            said = "type checks pass"
        if o.validity_failed:
            said += f"; {VALIDITY_RULE} fails at {MANIFEST_DATE}"
        note = o.expected.note.removeprefix("documented disagreement: ")
        agreement = o.verdict + (f": {note}" if note else "")
        lines.append(
            f"| {i} | `{o.row.path}` | {o.row.verdict} | {o.expected.category} | "
            f"{o.type_name or '-'} | {o.as_of or '-'} | {_cell(said)} | {_cell(agreement)} |"
        )
    lines += [
        "",
        "Not in the table: TSL XML files (judged by the trust rules), JSON indexes, the one "
        "private-key PEM, and `_pem-samples/` (openssl conversions of files listed above).",
        "",
    ]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is outdated")
    args = parser.parse_args(argv)
    text = render(evaluate(manifest_rows(MANIFEST.read_text(encoding="utf-8"))))
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.is_file() else ""
        return 0 if current == text else 1
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
