"""Generate a synthetic fleet for benchmarks: N sites, each with 20 certificates and, where
the example practice has them, its Konnektor exports and network description."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from certgen import write_bundle

EXAMPLE = Path(__file__).resolve().parents[1] / "gemcheck" / "examples" / "praxis"
CERTS_PER_SITE = 20


def make_fleet(root: Path, sites: int) -> Path:
    """Write ``root/fleet.yaml`` and ``sites`` site folders; return the inventory path."""
    shared = root / "shared"
    shared.mkdir(parents=True, exist_ok=True)
    bundle = write_bundle(shared / "pool.pem", CERTS_PER_SITE)
    blocks = bundle.read_text().split("-----END CERTIFICATE-----\n")[:-1]
    cert_files = []
    for i, block in enumerate(blocks):
        path = shared / f"cert-{i:02d}.pem"
        path.write_text(block + "-----END CERTIFICATE-----\n")
        cert_files.append(path)
    example = yaml.safe_load((EXAMPLE / "gemcheck.yaml").read_text())
    for part in ("konnektor", "network"):
        if (EXAMPLE / part).is_dir():
            shutil.copytree(EXAMPLE / part, shared / part, dirs_exist_ok=True)
    for i in range(sites):
        site_dir = root / "sites" / f"site-{i:04d}"
        site_dir.mkdir(parents=True, exist_ok=True)
        data = {
            k: v
            for k, v in example.items()
            if k in ("environment", "systems", "konnektor", "network")
        }
        data = _rebase(data, "../../shared/")
        data["site"] = f"Site {i} (TEST-ONLY)"
        data["certificates"] = [f"../../shared/{p.name}" for p in cert_files]
        (site_dir / "gemcheck.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    inventory = root / "fleet.yaml"
    inventory.write_text(
        yaml.safe_dump({"fleet": f"bench-{sites}", "sites": [{"folder": "sites"}]})
    )
    return inventory


def _rebase(value: object, prefix: str) -> object:
    """Point the example's relative input paths (konnektor/..., network/...) at the shared copy."""
    if isinstance(value, dict):
        return {k: _rebase(v, prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [_rebase(v, prefix) for v in value]
    if isinstance(value, str) and value.startswith(("konnektor/", "network/")):
        return prefix + value
    return value
