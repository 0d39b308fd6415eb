"""The Google Workspace add-on deployment and the Outlook add-in manifest.

`google/deployment.json` and `outlook/manifest.xml` name every URL under
`PLACEHOLDER_BASE`. `render_google` and `render_outlook` put a deployment's
public base URL in its place, and `validate_google` and `validate_outlook`
check a rendered document's shape and that each URL it names lies under that
base. `write_manifests` does both and writes the two files for an admin to
upload.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from manifests.errors import ManifestError
from manifests.google import google_urls, validate_google
from manifests.outlook import outlook_urls, validate_outlook

__all__ = [
    "GOOGLE_DEPLOYMENT",
    "OUTLOOK_MANIFEST",
    "PLACEHOLDER_BASE",
    "ManifestError",
    "check_base_url",
    "google_urls",
    "outlook_urls",
    "render_google",
    "render_outlook",
    "validate_google",
    "validate_outlook",
    "write_manifests",
]

log = logging.getLogger(__name__)

#: Base URL the stored files use. The .invalid top-level domain is reserved
#: and never resolves, so an unrendered file cannot reach a real host.
PLACEHOLDER_BASE = "https://tandem.invalid"

GOOGLE_DEPLOYMENT = Path(__file__).parent / "google" / "deployment.json"
OUTLOOK_MANIFEST = Path(__file__).parent / "outlook" / "manifest.xml"

#: Hosts that may be served over plain HTTP, for development and tests only.
#: Google and Outlook load add-on URLs over HTTPS in every real deployment.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def check_base_url(base_url: str) -> str:
    """Return `base_url` without a trailing slash, or raise ManifestError."""
    parts = urlsplit(base_url)
    plain_loopback = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    if parts.scheme != "https" and not plain_loopback:
        raise ManifestError(
            [
                f"Base URL {base_url!r} is invalid: Google and Outlook load add-ons "
                "over HTTPS only; give an https:// URL (plain http:// is accepted "
                "for 127.0.0.1 and localhost)."
            ]
        )
    if not parts.hostname or parts.query or parts.fragment:
        raise ManifestError(
            [
                f"Base URL {base_url!r} is invalid: give a scheme, a host and an "
                "optional path, with no query or fragment, for example "
                "https://tandem.example.com."
            ]
        )
    return base_url.rstrip("/")


def render_google(base_url: str) -> dict[str, Any]:
    """Return the Google deployment with every URL under `base_url`."""
    base = check_base_url(base_url)
    stored = json.loads(GOOGLE_DEPLOYMENT.read_text(encoding="utf-8"))
    return _replace_base(copy.deepcopy(stored), base)


def render_outlook(base_url: str) -> str:
    """Return the Outlook manifest's XML text with every URL under `base_url`."""
    base = check_base_url(base_url)
    text = OUTLOOK_MANIFEST.read_text(encoding="utf-8")
    # The base goes into attribute values and element text alike, so the
    # quote is escaped as well as the characters that element text needs.
    return text.replace(PLACEHOLDER_BASE, escape(base, {'"': "&quot;"}))


def write_manifests(base_url: str, out_dir: Path) -> list[Path]:
    """Render, validate and write both manifests under `out_dir`."""
    base = check_base_url(base_url)
    google = render_google(base)
    outlook = render_outlook(base)
    validate_google(google, base)
    validate_outlook(outlook, base)

    google_path = out_dir / "google" / "deployment.json"
    outlook_path = out_dir / "outlook" / "manifest.xml"
    google_path.parent.mkdir(parents=True, exist_ok=True)
    outlook_path.parent.mkdir(parents=True, exist_ok=True)
    google_path.write_text(json.dumps(google, indent=2) + "\n", encoding="utf-8")
    outlook_path.write_text(outlook, encoding="utf-8")
    log.info("manifests written", extra={"base_url": base, "out": str(out_dir)})
    return [google_path, outlook_path]


def _replace_base(value: Any, base: str) -> Any:
    if isinstance(value, str):
        return value.replace(PLACEHOLDER_BASE, base)
    if isinstance(value, list):
        return [_replace_base(item, base) for item in value]
    if isinstance(value, dict):
        return {key: _replace_base(item, base) for key, item in value.items()}
    return value
