"""Throughput of the ti-pki profile (no network) over 10,000 TI certificates, against pkilint.

Run: ``python benchmarks/bench_pki.py [--count 10000] [--pkilint-count N]``.

The certificates are re-issued copies of the synthetic TEST-ONLY PKI in ``certs/``
(SMC-B AUT/ENC/OSIG, HBA AUT, Konnektor AK.AUT ECC and RSA, Fachdienst TLS-S
brainpool and P-256, TSL and OCSP signers): same extensions, Admission and keys,
new serial and subject, signed by the same test CA keys, in one PEM bundle. In the
same run and on one core it measures:

- gemcheck, profile ti-pki, ``--offline``, in-process: load the bundle, run every
  rule (ti-pki type rules + ti-crypto + ti-pki-trust), score, build the report;
  once without trust material (the chain rule reports "no trust material" per
  certificate) and once with the test CAs as trust anchors (chain building and
  signature verification for every certificate);
- gemcheck, the nine ti-pki type rules alone (engine only, certificates loaded);
- pkilint's RFC 5280 certificate linter (``pkilint.pkix.certificate`` validator
  built once and reused) over the same DER certificates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[1]
CERTS = REPO / "certs"
AS_OF = dt.date(2026, 6, 1)
TEMPLATES = {
    "ecc/smcb-aut.pem": "smcb-ca1",
    "ecc/smcb-enc.pem": "smcb-ca1",
    "ecc/smcb-osig.pem": "smcb-ca1",
    "ecc/hba-aut.pem": "hba-ca1",
    "ecc/konnektor-ak-aut.pem": "komp-ca1",
    "rsa/konnektor-ak-aut.pem": "komp-ca2",
    "ecc/fd-tls-s.pem": "komp-ca1",
    "nist/fd-tls-s.pem": "komp-ca3",
    "ecc/tsl-signer.pem": "tsl-ca1",
    "ecc/ocsp-smcb-ca1.pem": "smcb-ca1",
}
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
)


def write_bundle(path: Path, count: int) -> Path:
    """``count`` re-issued copies of the templates, round-robin, in one PEM file."""
    templates = []
    for rel, ca in TEMPLATES.items():
        cert = x509.load_pem_x509_certificate((CERTS / rel).read_bytes())
        key = serialization.load_pem_private_key(
            (CERTS / "keys" / f"{ca}.key.pem").read_bytes(), None
        )
        templates.append((cert, key))
    with path.open("wb") as fh:
        for i in range(count):
            cert, key = templates[i % len(templates)]
            fh.write(_reissue(cert, key, i).public_bytes(serialization.Encoding.PEM))
    return path


def _reissue(cert: x509.Certificate, key: Any, i: int) -> x509.Certificate:
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert isinstance(cn, str)
    others = [a for a in cert.subject if a.oid != NameOID.COMMON_NAME]
    subject = x509.Name([*others, x509.NameAttribute(NameOID.COMMON_NAME, f"{cn} {i}"[:64])])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(cert.issuer)
        .public_key(cert.public_key())
        .serial_number(10_000_000 + i)
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
    )
    for ext in cert.extensions:
        builder = builder.add_extension(ext.value, ext.critical)
    algorithm = hashes.SHA256() if not isinstance(key, ec.EllipticCurvePrivateKey) else None
    return builder.sign(key, algorithm or hashes.SHA256())


@dataclass(frozen=True)
class Timing:
    """Wall-clock and CPU seconds of one measurement (CPU = this process on one core)."""

    wall: float
    cpu: float

    def rate(self, count: int) -> str:
        return f"{count / self.wall:>7,.0f} certs/s wall, {count / self.cpu:>7,.0f} certs/s CPU"


def timed(func: Callable[[], Any]) -> tuple[Timing, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = func()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu), value


def best(repeat: int, measure: Callable[[], tuple[Timing, Any]]) -> tuple[Timing, Any]:
    """The fastest of ``repeat`` runs (by CPU time): the machine is shared."""
    runs = [measure() for _ in range(repeat)]
    return min(runs, key=lambda run: run[0].cpu)


def gemcheck_audit(bundle: Path, anchors: list[Path]) -> tuple[Timing, Any]:
    from gemcheck.audit import AuditOptions, plan, run
    from gemcheck.collect import CollectOptions
    from gemcheck.site import build_site

    data: dict[str, Any] = {"site": "bench", "certificates": [str(bundle)]}
    if anchors:
        data["trust"] = {"anchors": [str(a) for a in anchors]}
    site = build_site(data, bundle.parent, "bench")
    options = AuditOptions(profiles=("ti-pki",), as_of=AS_OF, collect=CollectOptions(offline=True))
    p = plan(site, options)
    return timed(lambda: run(p))


def gemcheck_type_rules(bundle: Path) -> tuple[Timing, int]:
    from gemcheck.collect.certs import load_file
    from gemcheck.engine import evaluate
    from gemcheck.evidence import EvidenceSet
    from gemcheck.profile import load
    from gemcheck.registry import Context, load_registry

    _, rules = load(["ti-pki"], load_registry())
    mine = [r for r in rules if r.id in TYPE_RULES]
    evidence = EvidenceSet(load_file(bundle, bundle.parent))
    ctx = Context(as_of=AS_OF, evidence=evidence)
    elapsed, results = timed(lambda: evaluate(mine, evidence, ctx))
    return elapsed, len(results)


def pkilint_lint(ders: list[bytes]) -> tuple[Timing, int]:
    from pkilint import loader  # type: ignore[import-untyped]
    from pkilint.pkix import certificate, extension, name  # type: ignore[import-untyped]

    validator = certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(
            name.ATTRIBUTE_TYPE_MAPPINGS, extension.EXTENSION_MAPPINGS
        ),
        [
            certificate.create_issuer_validator_container([]),
            certificate.create_validity_validator_container(),
            certificate.create_subject_validator_container([]),
            certificate.create_extensions_validator_container([]),
            certificate.create_spki_validator_container([]),
        ],
    )
    doc_loader = loader.RFC5280CertificateDocumentLoader()

    def lint_all() -> int:
        findings = 0
        for i, der in enumerate(ders):
            doc = doc_loader.load_der_document(der, f"cert-{i}")
            for result in validator.validate(doc.root):
                findings += len(result.finding_descriptions)
        return findings

    return timed(lint_all)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="gemcheck runs (best is kept)")
    parser.add_argument(
        "--pkilint-count", type=int, default=0, help="lint only the first N (default: all)"
    )
    args = parser.parse_args()
    n = args.count
    with tempfile.TemporaryDirectory() as tmp:
        bundle = write_bundle(Path(tmp) / "bundle.pem", n)
        anchors = sorted((CERTS / "ca").glob("*.pem"))
        plain_s, report = best(args.repeat, lambda: gemcheck_audit(bundle, []))
        trust_s, trust_report = best(args.repeat, lambda: gemcheck_audit(bundle, anchors))
        type_s, type_results = best(args.repeat, lambda: gemcheck_type_rules(bundle))
        certs = x509.load_pem_x509_certificates(bundle.read_bytes())
        ders = [c.public_bytes(serialization.Encoding.DER) for c in certs]
        lint_n = args.pkilint_count or n
        lint_s, findings = pkilint_lint(ders[:lint_n])
    rules = len({r.rule for r in report.results})
    print(f"certificates: {n} ({len(TEMPLATES)} templates), pkilint on {lint_n}")
    print(
        f"gemcheck ti-pki, no trust material:   {plain_s.rate(n)}  "
        f"({len(report.results)} results, {rules} rules)"
    )
    print(
        f"gemcheck ti-pki, test CAs as anchors: {trust_s.rate(n)}  "
        f"({len(trust_report.results)} results)"
    )
    print(f"gemcheck 9 type rules, engine only:   {type_s.rate(n)}  ({type_results} results)")
    print(f"pkilint RFC 5280 linter:              {lint_s.rate(lint_n)}  ({findings} findings)")
    for label, t in (("no trust material", plain_s), ("with chain checks", trust_s)):
        wall = (n / t.wall) / (lint_n / lint_s.wall)
        cpu = (n / t.cpu) / (lint_n / lint_s.cpu)
        print(f"ratio gemcheck ({label}) / pkilint: {wall:.1f}x wall, {cpu:.1f}x CPU")
    print(f"summary (no trust material): {dict(report.summary)}")
    print(f"summary (anchors):           {dict(trust_report.summary)}")


if __name__ == "__main__":
    main()
