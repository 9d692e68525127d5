"""The XML signature of a TSL: verify it with ``signxml``, judge the signer against trust anchors.

gematik signs its TSLs with an enveloped XAdES-BES signature (exclusive C14N,
``xmldsig-more#ecdsa-sha256`` on brainpoolP256r1 for the ECC TSL,
``sha256-rsa-MGF1`` for the RSA TSL). ``signxml`` verifies both: it turns the
XML-DSig ``r||s`` value into DER and lets ``cryptography`` verify, which knows
the brainpool curves. Verification here is time-independent (the signer's
validity at the audit date is judged by the check); ``signxml``'s own clock
check is pinned to the TSL's issue date, so a signer that was not valid when
the TSL was issued is reported as such.

Only a signature whose references include the whole document (``URI=""``, or
the root element's ``Id``, with the enveloped-signature transform) counts: a
valid signature over something else proves nothing about the trust list.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from cryptography import x509

from gemcheck.pki.certutil import issued_by, label
from gemcheck.pki.tsl import TrustList

if TYPE_CHECKING:
    from lxml import etree

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
XML_SIGNATURE_ERROR = "SE_1013_XML_SIGNATURE_ERROR"

SignatureState = Literal["verified", "invalid", "untrusted-signer", "unverified"]


@dataclass(frozen=True, slots=True)
class TslSignature:
    """What the signature of a TSL proves, before any trust anchor is consulted.

    ``valid`` means the signature verifies with the certificate in ``KeyInfo``
    and covers the whole document; ``problem`` says why not.
    """

    valid: bool
    signer: x509.Certificate | None = None
    algorithm: str = ""
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class SignatureVerdict:
    """A TSL signature judged against the configured TSL signer trust anchors."""

    state: SignatureState
    message: str
    anchor: x509.Certificate | None = None


def verify_tsl_signature(data: bytes, tsl: TrustList) -> TslSignature:
    """Verify the enveloped signature of a TSL that :func:`~gemcheck.pki.tsl.parse_tsl` accepted."""
    from lxml import etree
    from signxml.algorithms import SignatureMethod
    from signxml.exceptions import SignXMLException
    from signxml.verifier import SignatureConfiguration, XMLVerifier

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return TslSignature(False, problem=f"XML cannot be read for the signature check: {exc}")
    signature = root.find(f"{{{DS_NS}}}Signature")
    if signature is None:
        return TslSignature(False, problem="the TSL has no ds:Signature element")
    method = signature.find(f"{{{DS_NS}}}SignedInfo/{{{DS_NS}}}SignatureMethod")
    algorithm = method.get("Algorithm", "") if method is not None else ""
    signer = _key_info_certificate(signature)
    if signer is None:
        return TslSignature(
            False, algorithm=algorithm, problem="no readable X509Certificate in ds:KeyInfo"
        )
    if not _covers_document(signature, root.get("Id")):
        return TslSignature(
            False,
            signer,
            algorithm,
            'no signature reference covers the whole document (URI="" or the root\'s Id, with '
            "the enveloped-signature transform)",
        )
    moment = tsl.issue_date or signer.not_valid_before_utc
    config = SignatureConfiguration(
        location="./",
        expect_references=True,
        verification_time=min(max(moment, signer.not_valid_before_utc), signer.not_valid_after_utc),
        signature_methods=frozenset(
            m for m in SignatureMethod if not m.name.startswith(("HMAC", "DSA"))
        ),
    )
    try:
        XMLVerifier().verify(data, x509_cert=signer, expect_config=config, parser=parser)
    except SignXMLException as exc:
        return TslSignature(False, signer, algorithm, f"{_first_line(exc)} ({XML_SIGNATURE_ERROR})")
    except (ValueError, etree.LxmlError) as exc:
        return TslSignature(
            False, signer, algorithm, f"signature cannot be processed: {_first_line(exc)}"
        )
    if tsl.issue_date is not None and not (
        signer.not_valid_before_utc <= tsl.issue_date <= signer.not_valid_after_utc
    ):
        return TslSignature(
            False,
            signer,
            algorithm,
            f"the signer certificate was not valid on the TSL's issue date "
            f"{tsl.issue_date:%Y-%m-%d}",
        )
    return TslSignature(True, signer, algorithm)


def judge_signature(
    signature: TslSignature | None, anchors: Iterable[x509.Certificate]
) -> SignatureVerdict:
    """Whether the signature makes the TSL trustworthy, given the TSL signer trust anchors.

    An anchor may be the TSL signer certificate itself or the TSL-Signer-CA
    that issued it (gematik's trust anchor, e.g. GEM.TSL-CA51).
    """
    if signature is None or not signature.valid:
        why = signature.problem if signature is not None else "not checked"
        return SignatureVerdict("invalid", f"TSL signature is not valid: {why}")
    assert signature.signer is not None
    anchors = tuple(anchors)
    who = label(signature.signer.subject)
    if not anchors:
        return SignatureVerdict(
            "unverified",
            f"TSL signature verifies with its own signer certificate ({who}), but no TSL signer "
            "trust anchor is configured (pass --tsl-signer or trust.tsl_signer)",
        )
    for anchor in anchors:
        if anchor == signature.signer or issued_by(signature.signer, anchor):
            return SignatureVerdict(
                "verified",
                f"TSL signed by {who}, trusted through {label(anchor.subject)}",
                anchor,
            )
    return SignatureVerdict(
        "untrusted-signer",
        f"TSL signer {who} is neither a configured TSL signer trust anchor nor issued by one "
        f"({XML_SIGNATURE_ERROR})",
    )


def _key_info_certificate(signature: etree._Element) -> x509.Certificate | None:
    node = signature.find(f"{{{DS_NS}}}KeyInfo/{{{DS_NS}}}X509Data/{{{DS_NS}}}X509Certificate")
    if node is None or not node.text:
        return None
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(node.text.split())))
    except (ValueError, binascii.Error):
        return None


def _covers_document(signature: etree._Element, root_id: str | None) -> bool:
    """True when a reference is the whole document: ``URI=""`` or ``#<root Id>``, enveloped."""
    whole = {"", f"#{root_id}"} if root_id else {""}
    for ref in signature.iterfind(f"{{{DS_NS}}}SignedInfo/{{{DS_NS}}}Reference"):
        transforms = {
            t.get("Algorithm") for t in ref.iterfind(f"{{{DS_NS}}}Transforms/{{{DS_NS}}}Transform")
        }
        if ref.get("URI") in whole and ENVELOPED in transforms:
            return True
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(": ")[:200] if text else type(exc).__name__
