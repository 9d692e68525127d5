"""TI object identifiers: certificate types, policies, KU/EKU names, professionOIDs (data only).

Sources (``../shared/reference``): certificate-type OIDs from ti-pki.md §1.2 (gematik
ref-GemLibPki ``CertificateType``, [SECONDARY] for gemSpec_OID Tab_PKI_405); policies from
ti-spec-tables.md §5; professions, institutions and technical roles from ti-pki.md §1.4
(GemLibPki ``Role``, transcribing gemSpec_OID GS-A_4442-02, GS-A_4443-07, GS-A_4446-10,
[SECONDARY]). Which of these a certificate type may carry is profile data
(``profiles/ti-pki.yaml``), not code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

TI_ARC = "1.2.276.0.76.4."
"""The gematik OID arc all TI policy, type and role OIDs live under."""

# -- certificate types (CertificatePolicies) -------------------------------------------------------

CERT_TYPES: Mapping[str, str] = MappingProxyType(
    {
        TI_ARC + "66": "C.CH.QES",
        TI_ARC + "68": "C.CH.ENC",
        TI_ARC + "69": "C.CH.ENCV",
        TI_ARC + "70": "C.CH.AUT",
        TI_ARC + "71": "C.CH.AUTN",
        TI_ARC + "72": "C.HP.QES",
        TI_ARC + "74": "C.HP.ENC",
        TI_ARC + "75": "C.HP.AUT",
        TI_ARC + "76": "C.HCI.ENC",
        TI_ARC + "77": "C.HCI.AUT",
        TI_ARC + "78": "C.HCI.OSIG",
        TI_ARC + "79": "C.AK.AUT",
        TI_ARC + "80": "C.NK.VPN",
        TI_ARC + "81": "C.VPNK.VPN",
        TI_ARC + "82": "C.SMKT.AUT",
        TI_ARC + "113": "C.SAK.AUT",
        TI_ARC + "155": "C.FD.AUT",
        TI_ARC + "157": "C.ZD.TLS-S",
        TI_ARC + "165": "C.VPNK.VPN-SIS",
        TI_ARC + "168": "C.FD.TLS-C",
        TI_ARC + "169": "C.FD.TLS-S",
        TI_ARC + "175": "C.CM.TLS-CS",
        TI_ARC + "202": "C.FD.ENC",
        TI_ARC + "203": "C.FD.SIG",
        TI_ARC + "212": "C.CH.AUT_ALT",
        TI_ARC + "214": "C.SGD-HSM.AUT",
        TI_ARC + "283": "C.FD.OSIG",
        TI_ARC + "287": "C.ZD.SIG",
        TI_ARC + "300": "C.HSK.SIG",
        TI_ARC + "301": "C.HSK.ENC",
        TI_ARC + "367": "C.CH.SIG",
    }
)
"""Certificate-type policy OID -> type name (C.CH.QES .66 from OID-ERP, the rest GemLibPki)."""

TYPE_OIDS: Mapping[str, str] = MappingProxyType({name: oid for oid, name in CERT_TYPES.items()})
"""Type name -> certificate-type policy OID."""

TSL_SIGNER = "C.TSL.SIG"
"""Type name of the TSL signer: identified by the policy ``oid_policy_gem_tsl_signer``."""

OCSP_SIGNER = "C.GEM.OCSP"
"""Type name of an OCSP responder certificate: no type OID, identified by EKU OCSPSigning."""

CA = "CA"
"""Type name of a CA certificate (basicConstraints cA=TRUE)."""

PSEUDO_TYPES = (TSL_SIGNER, OCSP_SIGNER, CA)

# -- policies --------------------------------------------------------------------------------------

POLICY_GEM_OR_CP = TI_ARC + "163"
POLICY_GEM_TSL_SIGNER = TI_ARC + "176"
POLICY_HBA_CP = TI_ARC + "145"
POLICY_CPME = "1.3.6.1.4.1.42675.1.1"
POLICY_QCP_N_QSCD = "0.4.0.194112.1.2"

POLICIES: Mapping[str, str] = MappingProxyType(
    {
        POLICY_GEM_OR_CP: "oid_policy_gem_or_cp",
        POLICY_GEM_TSL_SIGNER: "oid_policy_gem_tsl_signer",
        POLICY_HBA_CP: "oid_policy_hba_cp",
        POLICY_CPME: "CPME European eID-Policy for Physicians",
        POLICY_QCP_N_QSCD: "id-etsi-qcp-natural-qscd",
    }
)

# -- extensions, KeyUsage, ExtendedKeyUsage --------------------------------------------------------

ADMISSION = "1.3.36.8.3.3"
"""id-isismtt-at-admission: the Admission extension carrying profession and Telematik-ID."""

EXTENSION_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "2.5.29.14": "subjectKeyIdentifier",
        "2.5.29.15": "keyUsage",
        "2.5.29.17": "subjectAltName",
        "2.5.29.19": "basicConstraints",
        "2.5.29.31": "cRLDistributionPoints",
        "2.5.29.32": "certificatePolicies",
        "2.5.29.35": "authorityKeyIdentifier",
        "2.5.29.37": "extKeyUsage",
        "1.3.6.1.5.5.7.1.1": "authorityInfoAccess",
        "1.3.6.1.5.5.7.1.3": "qcStatements",
        "1.3.6.1.5.5.7.48.1.5": "ocspNoCheck",
        ADMISSION: "admission",
        "1.3.36.8.3.8": "restriction",
        "1.3.6.1.4.1.8301.3.5": "validityModel",
    }
)
"""Extension OID -> the name profiles use for it (RFC 5280 / Common PKI spelling)."""

EXTENSION_OIDS: Mapping[str, str] = MappingProxyType(
    {name: oid for oid, name in EXTENSION_NAMES.items()}
)

KEY_USAGES = (
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
)
"""KeyUsage bit names in bit order (bit 1 ``nonRepudiation`` is also called contentCommitment)."""

EKU_TSL_SIGNING = "0.4.0.2231.3.0"

EXTENDED_KEY_USAGES: Mapping[str, str] = MappingProxyType(
    {
        "1.3.6.1.5.5.7.3.1": "serverAuth",
        "1.3.6.1.5.5.7.3.2": "clientAuth",
        "1.3.6.1.5.5.7.3.3": "codeSigning",
        "1.3.6.1.5.5.7.3.4": "emailProtection",
        "1.3.6.1.5.5.7.3.8": "timeStamping",
        "1.3.6.1.5.5.7.3.9": "OCSPSigning",
        EKU_TSL_SIGNING: "tslSigning",
        "2.5.29.37.0": "anyExtendedKeyUsage",
    }
)
"""ExtendedKeyUsage OID -> name (``tslSigning`` = ETSI TS 102 231 id-tsl-kp-tslSigning)."""

EKU_OIDS: Mapping[str, str] = MappingProxyType(
    {name: oid for oid, name in EXTENDED_KEY_USAGES.items()}
)


def eku_name(oid: str) -> str:
    """The EKU's name, or its dotted OID when it has none here."""
    return EXTENDED_KEY_USAGES.get(oid, oid)


# -- professionOIDs (roles) ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Role:
    """A professionOID as gemSpec_OID names it: reference, professionItem text, defining AFO."""

    oid: str
    ref: str
    item: str
    afo: str


def _roles(afo: str, rows: tuple[tuple[str, str, str], ...]) -> Mapping[str, Role]:
    return MappingProxyType(
        {TI_ARC + suffix: Role(TI_ARC + suffix, ref, item, afo) for suffix, ref, item in rows}
    )


PROFESSIONS: Mapping[str, Role] = _roles(
    "GS-A_4442-02",
    (
        ("30", "oid_arzt", "Ärztin/Arzt"),
        ("31", "oid_zahnarzt", "Zahnärztin/Zahnarzt"),
        ("32", "oid_apotheker", "Apotheker/-in"),
        ("33", "oid_apothekerassistent", "Apothekerassistent/-in"),
        ("34", "oid_pharmazieingenieur", "Pharmazieingenieur/-in"),
        ("35", "oid_pharm_techn_assistent", "pharmazeutisch-technische/-r Assistent/-in"),
        ("36", "oid_pharm_kaufm_angestellter", "pharmazeutisch-kaufmännische/-r Angestellte"),
        ("37", "oid_apothekenhelfer", "Apothekenhelfer/-in"),
        ("38", "oid_apothekenassistent", "Apothekenassistent/-in"),
        ("39", "oid_pharm_assistent", "Pharmazeutische/-r Assistent/-in"),
        ("40", "oid_apothekenfacharbeiter", "Apothekenfacharbeiter/-in"),
        ("41", "oid_pharmaziepraktikant", "Pharmaziepraktikant/-in"),
        ("42", "oid_famulant", "Stud.pharm. oder Famulant/-in"),
        ("43", "oid_pta_praktikant", "PTA-Praktikant/-in"),
        ("44", "oid_pka_auszubildender", "PKA Auszubildende/-r"),
        ("45", "oid_psychotherapeut", "Psychotherapeut/-in"),
        ("46", "oid_ps_psychotherapeut", "Psychologische/-r Psychotherapeut/-in"),
        ("47", "oid_kuj_psychotherapeut", "Kinder- und Jugendlichenpsychotherapeut/-in"),
        ("48", "oid_rettungsassistent", "Rettungsassistent/-in"),
        ("49", "oid_versicherter", "Versicherte/-r"),
        ("178", "oid_notfallsanitaeter", "Notfallsanitäter/-in"),
        (
            "232",
            "oid_pfleger_hpc",
            "Gesundheits- und Krankenpfleger/-in, Gesundheits- und Kinderkrankenpfleger/-in",
        ),
        ("233", "oid_altenpfleger_hpc", "Altenpfleger/-in"),
        ("234", "oid_pflegefachkraft_hpc", "Pflegefachfrauen und Pflegefachmänner"),
        ("235", "oid_hebamme_hpc", "Hebamme"),
        ("236", "oid_physiotherapeut_hpc", "Physiotherapeut/-in"),
        ("237", "oid_augenoptiker_hpc", "Augenoptiker/-in und Optometrist/-in"),
        ("238", "oid_hoerakustiker_hpc", "Hörakustiker/-in"),
        ("239", "oid_orthopaedieschuhmacher_hpc", "Orthopädieschuhmacher/-in"),
        ("240", "oid_orthopaedietechniker_hpc", "Orthopädietechniker/-in"),
        ("241", "oid_zahntechniker_hpc", "Zahntechniker/-in"),
        ("274", "oid_ergotherapeut_hpc", "Ergotherapeut/-in"),
        ("275", "oid_logopaede_hpc", "Logopäde/Logopädin"),
        ("276", "oid_podologe_hpc", "Podologe/Podologin"),
        ("27", "oid_ernaehrungstherapeut_hpc", "Ernährungstherapeut/-in"),
    ),
)
"""Professions (HBA, and oid_versicherter on every eGK), gemSpec_OID GS-A_4442-02."""

INSTITUTIONS: Mapping[str, Role] = _roles(
    "GS-A_4443-07",
    (
        ("50", "oid_praxis_arzt", "Betriebsstätte Arzt"),
        ("51", "oid_zahnarztpraxis", "Zahnarztpraxis"),
        ("52", "oid_praxis_psychotherapeut", "Betriebsstätte Psychotherapeut"),
        ("53", "oid_krankenhaus", "Krankenhaus"),
        ("54", "oid_oeffentliche_apotheke", "Öffentliche Apotheke"),
        ("55", "oid_krankenhausapotheke", "Krankenhausapotheke"),
        ("56", "oid_bundeswehrapotheke", "Bundeswehrapotheke"),
        (
            "57",
            "oid_mobile_einrichtung_rettungsdienst",
            "Betriebsstätte Mobile Einrichtung Rettungsdienst",
        ),
        ("58", "oid_bs_gematik", "Betriebsstätte gematik"),
        ("59", "oid_kostentraeger", "Betriebsstätte Kostenträger"),
        (
            "187",
            "oid_leo_zahnaerzte",
            "Betriebsstätte Leistungserbringerorganisation Vertragszahnärzte",
        ),
        ("190", "oid_adv_ktr", "AdV-Umgebung bei Kostenträger"),
        (
            "210",
            "oid_leo_kassenaerztliche_vereinigung",
            "Betriebsstätte Leistungserbringerorganisation Kassenärztliche Vereinigung",
        ),
        ("223", "oid_bs_gkv_spitzenverband", "Betriebsstätte GKV-Spitzenverband"),
        ("226", "oid_leo_krankenhausverband", "Betriebsstätte Mitgliedsverband der Krankenhäuser"),
        (
            "227",
            "oid_leo_dktig",
            "Betriebsstätte der Deutsche Krankenhaus TrustCenter und Informationsverarbeitung GmbH",
        ),
        ("228", "oid_leo_dkg", "Betriebsstätte der Deutschen Krankenhausgesellschaft"),
        ("224", "oid_leo_apothekerverband", "Betriebsstätte Apothekerverband"),
        ("225", "oid_leo_dav", "Betriebsstätte Deutscher Apothekerverband"),
        ("229", "oid_leo_baek", "Betriebsstätte der Bundesärztekammer"),
        ("230", "oid_leo_aerztekammer", "Betriebsstätte einer Ärztekammer"),
        ("231", "oid_leo_zahnaerztekammer", "Betriebsstätte einer Zahnärztekammer"),
        ("242", "oid_leo_kbv", "Betriebsstätte der Kassenärztlichen Bundesvereinigung"),
        ("243", "oid_leo_bzaek", "Betriebsstätte der Bundeszahnärztekammer"),
        ("244", "oid_leo_kzbv", "Betriebsstätte der Kassenzahnärztlichen Bundesvereinigung"),
        ("245", "oid_institution_pflege", "Betriebsstätte Gesundheits-, Kranken- und Altenpflege"),
        ("246", "oid_institution_geburtshilfe", "Betriebsstätte Geburtshilfe"),
        ("247", "oid_praxis_physiotherapeut", "Betriebsstätte Physiotherapie"),
        ("248", "oid_institution_augenoptiker", "Betriebsstätte Augenoptiker"),
        ("249", "oid_institution_hoerakustiker", "Betriebsstätte Hörakustiker"),
        ("250", "oid_institution_orthopaedieschuhmacher", "Betriebsstätte Orthopädieschuhmacher"),
        ("251", "oid_institution_orthopaedietechniker", "Betriebsstätte Orthopädietechniker"),
        ("252", "oid_institution_zahntechniker", "Betriebsstätte Zahntechniker"),
        ("253", "oid_institution_rettungsleitstellen", "Rettungsleitstelle"),
        ("254", "oid_sanitaetsdienst_bundeswehr", "Betriebsstätte Sanitätsdienst Bundeswehr"),
        ("255", "oid_institution_oegd", "Betriebsstätte Öffentlicher Gesundheitsdienst"),
        ("256", "oid_institution_arbeitsmedizin", "Betriebsstätte Arbeitsmedizin"),
        ("257", "oid_institution_vorsorge_reha", "Betriebsstätte Vorsorge- und Rehabilitation"),
        ("273", "oid_epa_ktr", "ePA KTR-Zugriffsautorisierung"),
        ("262", "oid_pflegeberatung", "Betriebsstätte Pflegeberatung nach § 7a SGB XI"),
        ("263", "oid_leo_psychotherapeuten", "Betriebsstätte Psychotherapeutenkammer"),
        ("264", "oid_leo_bptk", "Betriebsstätte Bundespsychotherapeutenkammer"),
        ("265", "oid_leo_lak", "Betriebsstätte Landesapothekerkammer"),
        ("266", "oid_leo_bak", "Betriebsstätte Bundesapothekerkammer"),
        ("267", "oid_leo_egbr", "Betriebsstätte elektronisches Gesundheitsberuferegister"),
        ("268", "oid_leo_handwerkskammer", "Betriebsstätte Handwerkskammer"),
        ("269", "oid_gesundheitsdatenregister", "Betriebsstätte Register für Gesundheitsdaten"),
        ("270", "oid_abrechnungsdienstleister", "Betriebsstätte Abrechnungsdienstleister"),
        ("271", "oid_pkv_verband", "Betriebsstätte PKV-Verband"),
        ("278", "oid_praxis_ergotherapeut", "Ergotherapiepraxis"),
        ("279", "oid_praxis_logopaede", "Logopaedische Praxis"),
        ("280", "oid_praxis_podologe", "Podologiepraxis"),
        ("281", "oid_praxis_ernaehrungstherapeut", "Ernährungstherapeutische Praxis"),
        (
            "284",
            "oid_bs_weitere_kostentraeger",
            "Betriebsstätte Weitere Kostenträger im Gesundheitswesen",
        ),
        (
            "285",
            "oid_org_gesundheitsversorgung",
            "Weitere Organisationen der Gesundheitsversorgung",
        ),
        ("286", "oid_kim_anbieter", "KIM-Hersteller und -Anbieter"),
        ("282", "oid_diga", "DiGA-Hersteller und -Anbieter"),
        ("295", "oid_tim_anbieter", "TIM-Hersteller und -Anbieter"),
        ("292", "oid_ncpeh", "NCPeH Fachdienst"),
    ),
)
"""Institutions (SMC-B), gemSpec_OID GS-A_4443-07."""

TECHNICAL_ROLES: Mapping[str, Role] = _roles(
    "GS-A_4446-10",
    (
        ("97", "oid_vsdd", "Versichertenstammdatendienst"),
        ("99", "oid_ocsp", "Online Certificate Status Protocol"),
        ("100", "oid_cms", "Card Management System"),
        ("101", "oid_ufs", "Update Flag Service"),
        ("103", "oid_ak", "Anwendungskonnektor"),
        ("104", "oid_nk", "Netzkonnektor"),
        ("105", "oid_kt", "Kartenterminal"),
        ("119", "oid_sak", "Signaturanwendungs-komponente"),
        ("159", "oid_int_vsdm", "Intermediär VSDM"),
        ("160", "oid_konfigdienst", "Konfigurationsdienst"),
        ("161", "oid_vpnz_ti", "VPN-Zugangsdienst-TI"),
        ("166", "oid_vpnz_sis", "VPN-Zugangsdienst-SIS"),
        ("174", "oid_cmfd", "Clientmodul"),
        ("171", "oid_vzd_ti", "Verzeichnisdienst-TI"),
        ("172", "oid_komle", "KOM-LE Fachdienst"),
        ("173", "oid_komle_recipient_emails", "KOM-LE S/MIME Attribut recipient-emails"),
        ("184", "oid_stamp", "Störungsampel"),
        ("189", "oid_tsl_ti", "TSL-Dienst-TI"),
        (
            "198",
            "oid_wadg",
            "Weitere elektronische Anwendungen des Gesundheitswesens "
            "sowie für die Gesundheitsforschung n. P. 291a Abs. 7 Satz 3 SGB V",
        ),
        ("204", "oid_epa_authn", "ePA Authentisierung"),
        ("205", "oid_epa_authz", "ePA Autorisierung"),
        ("206", "oid_epa_dvw", "ePA Dokumentenverwaltung"),
        ("207", "oid_epa_mgmt", "ePA Management"),
        ("208", "oid_epa_recovery", "ePA automatisierter Berechtigungserhalt"),
        ("209", "oid_epa_vau", "ePA vertrauenswürdige Ausführungsumgebung"),
        ("215", "oid_vz_tsp", "Zertifikatsverzeichnis TSP X.509"),
        ("216", "oid_whk1_hsm", "HSM Wiederherstellungskomponente 1"),
        ("217", "oid_whk2_hsm", "HSM Wiederherstellungskomponente 2"),
        ("218", "oid_whk", "Wiederherstellungskomponente"),
        ("219", "oid_sgd1_hsm", "HSM Schlüsselgenerierungsdienst 1"),
        ("220", "oid_sgd2_hsm", "HSM Schlüsselgenerierungsdienst 2"),
        ("221", "oid_sgd", "Schlüsselgenerierungsdienst"),
        ("258", "oid_erp_vau", "E-Rezept vertrauenswürdige Ausführungsumgebung"),
        ("259", "oid_erezept", "E-Rezept"),
        ("260", "oid_idpd", "IDP-Dienst"),
        ("261", "oid_epa_logging", "ePA-Aktensystem-Logging"),
        ("288", "oid_bestandsnetze", "Bestandsnetze.xml Signatur"),
        ("289", "oid_epa_vst", "ePA Vertrauensstelle"),
        ("290", "oid_epa_fdz", "ePA Forschungsdatenzentrum"),
        ("294", "oid_tim", "TI-Messenger"),
        ("302", "oid_hsk", "Highspeed-Konnektor"),
    ),
)
"""Technical roles of components and services, gemSpec_OID GS-A_4446-10."""
ROLES: Mapping[str, Role] = MappingProxyType({**PROFESSIONS, **INSTITUTIONS, **TECHNICAL_ROLES})
"""Every known professionOID. GemLibPki spells oid_ernaehrungstherapeut_hpc as .27 (kept as read;
ti-pki.md §1.3c thinks .277 was meant [INFERRED])."""


def role_label(oid: str) -> str:
    """``oid_praxis_arzt (Betriebsstätte Arzt)`` for a known professionOID, else the OID itself."""
    role = ROLES.get(oid)
    return f"{role.ref} ({role.item})" if role else oid
