"""Make many distinct TEST-ONLY certificates quickly, for benchmarks (not committed output)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

C_HCI_AUT = x509.ObjectIdentifier("1.2.276.0.76.4.77")


def write_bundle(path: Path, count: int) -> Path:
    """Write ``count`` brainpoolP256r1 leaf certificates (SMC-B AUT-like) into one PEM bundle.

    Leaves share one subject key (key generation would dominate) but have distinct
    serials and subjects, so every certificate parses and checks on its own.
    """
    ca_key = ec.generate_private_key(ec.BrainpoolP256R1())
    leaf_key = ec.generate_private_key(ec.BrainpoolP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "BENCH-CA TEST-ONLY")])
    not_before = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with path.open("wb") as fh:
        for i in range(count):
            cert = (
                x509.CertificateBuilder()
                .subject_name(
                    x509.Name(
                        [
                            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TEST-ONLY"),
                            x509.NameAttribute(NameOID.COMMON_NAME, f"Praxis {i} TEST-ONLY"),
                        ]
                    )
                )
                .issuer_name(ca_name)
                .public_key(leaf_key.public_key())
                .serial_number(100000 + i)
                .not_valid_before(not_before)
                .not_valid_after(not_before + dt.timedelta(days=1825))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(
                    x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                    critical=True,
                )
                .add_extension(
                    x509.CertificatePolicies([x509.PolicyInformation(C_HCI_AUT, None)]),
                    critical=False,
                )
                .sign(ca_key, hashes.SHA256())
            )
            fh.write(cert.public_bytes(serialization.Encoding.PEM))
    return path
