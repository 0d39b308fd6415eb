"""The stored manifests, their rendering and checks, and the URLs they name."""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner

import manifests
from addon.cli import cli
from addon.settings import Settings
from addon.web.app import create_app
from manifests import ManifestError
from manifests.outlook import MAIL_APP_ORDER, OFFICE

BASE = "https://tandem.example.com"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _problems(check: Any, document: Any) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        check(document, BASE)
    return caught.value.problems


# -- base URL --------------------------------------------------------------------


def test_base_url_trailing_slash() -> None:
    assert manifests.check_base_url(BASE + "/") == BASE


def test_base_url_with_path() -> None:
    assert manifests.check_base_url(BASE + "/tandem/") == BASE + "/tandem"


def test_base_url_loopback_http() -> None:
    assert manifests.check_base_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    "url",
    ["http://tandem.example.com", "ftp://tandem.example.com", "https://", "x"],
)
def test_base_url_rejected(url: str) -> None:
    with pytest.raises(ManifestError) as caught:
        manifests.check_base_url(url)

    assert repr(url) in caught.value.problems[0]


def test_base_url_query_rejected() -> None:
    with pytest.raises(ManifestError) as caught:
        manifests.check_base_url(BASE + "/?tenant=a")

    assert "no query or fragment" in caught.value.problems[0]


# -- Google deployment -----------------------------------------------------------


def test_google_stored_placeholder() -> None:
    stored = json.loads(manifests.GOOGLE_DEPLOYMENT.read_text())

    for url in manifests.google_urls(stored):
        assert url.startswith(manifests.PLACEHOLDER_BASE + "/")


def test_google_keys_and_types() -> None:
    document = manifests.render_google(BASE)

    assert set(document) == {"oauthScopes", "addOns"}
    assert isinstance(document["oauthScopes"], list)
    assert all(isinstance(scope, str) for scope in document["oauthScopes"])
    common = document["addOns"]["common"]
    assert isinstance(common["name"], str)
    assert common["logoUrl"] == f"{BASE}/addons/icons/128.png"
    assert common["homepageTrigger"]["runFunction"] == f"{BASE}/addons/google/homepage"
    calendar = document["addOns"]["calendar"]
    assert calendar["eventOpenTrigger"]["runFunction"] == (
        f"{BASE}/addons/google/event-open"
    )
    assert calendar["currentEventAccess"] == "METADATA"


def test_google_rendered_is_valid() -> None:
    manifests.validate_google(manifests.render_google(BASE), BASE)


def test_google_render_leaves_stored_file() -> None:
    before = manifests.GOOGLE_DEPLOYMENT.read_text()

    manifests.render_google(BASE)

    assert manifests.GOOGLE_DEPLOYMENT.read_text() == before


def test_google_unrendered_fails() -> None:
    stored = json.loads(manifests.GOOGLE_DEPLOYMENT.read_text())

    problems = _problems(manifests.validate_google, stored)

    assert len(problems) == 3
    assert all("is not under the base URL" in problem for problem in problems)


def test_google_unknown_access() -> None:
    document = manifests.render_google(BASE)
    document["addOns"]["calendar"]["currentEventAccess"] = "EVERYTHING"

    problems = _problems(manifests.validate_google, document)

    assert problems == [
        "addOns.calendar.currentEventAccess 'EVERYTHING' is invalid; use one of "
        "METADATA, READ, WRITE, READ_WRITE."
    ]


def test_google_read_needs_scope() -> None:
    document = manifests.render_google(BASE)
    document["addOns"]["calendar"]["currentEventAccess"] = "READ"

    problems = _problems(manifests.validate_google, document)

    assert len(problems) == 1
    assert "calendar.addons.current.event.read" in problems[0]


def test_google_missing_execute_scope() -> None:
    document = manifests.render_google(BASE)
    document["oauthScopes"] = []

    problems = _problems(manifests.validate_google, document)

    assert "calendar.addons.execute" in problems[0]


def test_google_wrong_types() -> None:
    document = manifests.render_google(BASE)
    document["oauthScopes"] = "https://www.googleapis.com/auth/calendar.addons.execute"
    document["addOns"]["common"]["name"] = ""
    document["addOns"]["common"]["homepageTrigger"]["enabled"] = "yes"
    document["addOns"]["calendar"]["eventOpenTrigger"] = "event-open"

    problems = _problems(manifests.validate_google, document)

    assert len(problems) == 4
    assert problems[0].startswith("oauthScopes must be a list of strings")


def test_google_unknown_key() -> None:
    document = manifests.render_google(BASE)
    document["addOns"]["calendar"]["eventOpenTriger"] = {}

    problems = _problems(manifests.validate_google, document)

    assert problems == [
        "Key 'eventOpenTriger' in addOns.calendar is not a known field; remove it."
    ]


def test_google_not_an_object() -> None:
    assert _problems(manifests.validate_google, []) == [
        "The deployment must be a JSON object."
    ]


# -- Outlook manifest ------------------------------------------------------------


def _children(text: str) -> list[str]:
    root = ElementTree.fromstring(text)
    return [child.tag.rpartition("}")[2] for child in root]


def test_outlook_well_formed() -> None:
    root = ElementTree.fromstring(manifests.OUTLOOK_MANIFEST.read_text())

    assert root.tag == f"{{{OFFICE}}}OfficeApp"


def test_outlook_children_in_order() -> None:
    names = _children(manifests.render_outlook(BASE))

    positions = [MAIL_APP_ORDER.index(name) for name in names]
    assert positions == sorted(positions)
    assert names[0] == "Id"
    assert names[-1] == "VersionOverrides"
    for required in ("FormSettings", "Permissions", "Rule", "IconUrl", "SupportUrl"):
        assert required in names


def test_outlook_rendered_is_valid() -> None:
    manifests.validate_outlook(manifests.render_outlook(BASE), BASE)


def test_outlook_urls_under_base() -> None:
    urls = manifests.outlook_urls(manifests.render_outlook(BASE))

    assert f"{BASE}/addons/outlook/taskpane" in urls
    assert BASE in urls
    assert all(url == BASE or url.startswith(BASE + "/") for url in urls)


def test_outlook_unrendered_fails() -> None:
    problems = _problems(
        manifests.validate_outlook, manifests.OUTLOOK_MANIFEST.read_text()
    )

    assert problems
    assert all("is not under the base URL" in problem for problem in problems)


def test_outlook_base_is_escaped() -> None:
    text = manifests.render_outlook(BASE + "/a&b")

    manifests.validate_outlook(text, BASE + "/a&b")
    assert f"{BASE}/a&amp;b/addons/help" in text


def test_outlook_out_of_order() -> None:
    text = manifests.render_outlook(BASE)
    permissions = "  <Permissions>ReadItem</Permissions>\n"
    moved = text.replace(permissions, "").replace(
        "  <FormSettings>", permissions + "  <FormSettings>"
    )

    problems = _problems(manifests.validate_outlook, moved)

    assert len(problems) == 1
    assert problems[0].startswith("Element FormSettings is out of order")


def test_outlook_missing_rule() -> None:
    text = manifests.render_outlook(BASE)
    start = text.index('  <Rule xsi:type="RuleCollection"')
    end = text.index("  </Rule>\n") + len("  </Rule>\n")

    problems = _problems(manifests.validate_outlook, text[:start] + text[end:])

    assert "Required element Rule is missing." in problems
    assert any("FormType Read" in problem for problem in problems)


def test_outlook_dangling_resid() -> None:
    text = manifests.render_outlook(BASE).replace(
        '<SourceLocation resid="taskpaneUrl"/>', '<SourceLocation resid="paneUrl"/>', 1
    )

    problems = _problems(manifests.validate_outlook, text)

    assert problems == ["resid 'paneUrl' on SourceLocation names no resource."]


def test_outlook_missing_attendee_surface() -> None:
    text = manifests.render_outlook(BASE).replace(
        "AppointmentAttendeeCommandSurface", "MessageReadCommandSurface"
    )

    problems = _problems(manifests.validate_outlook, text)

    assert problems == [
        "VersionOverrides needs an ExtensionPoint of type "
        "AppointmentAttendeeCommandSurface."
    ]


def test_outlook_bad_id_and_permission() -> None:
    text = manifests.render_outlook(BASE)
    root = ElementTree.fromstring(text)
    ident = root.findtext(f"{{{OFFICE}}}Id")
    broken = text.replace(ident, "not-a-guid").replace(
        "<Permissions>ReadItem", "<Permissions>Everything"
    )

    problems = _problems(manifests.validate_outlook, broken)

    assert "Id 'not-a-guid' must be a GUID." in problems
    assert any(problem.startswith("Permissions 'Everything'") for problem in problems)


def test_outlook_long_short_string() -> None:
    text = manifests.render_outlook(BASE).replace(
        'DefaultValue="1:1 agenda"', f'DefaultValue="{"x" * 126}"'
    )

    problems = _problems(manifests.validate_outlook, text)

    assert problems == [
        "String 'paneButtonLabel' in ShortStrings must have 1 to 125 characters; "
        "it has 126."
    ]


def test_outlook_not_xml() -> None:
    problems = _problems(manifests.validate_outlook, "<OfficeApp>")

    assert problems[0].startswith("The Outlook manifest is not well-formed XML")


# -- writing ---------------------------------------------------------------------


def test_write_manifests(tmp_path: Path) -> None:
    paths = manifests.write_manifests(BASE + "/", tmp_path)

    assert paths == [
        tmp_path / "google" / "deployment.json",
        tmp_path / "outlook" / "manifest.xml",
    ]
    written = json.loads(paths[0].read_text())
    assert written == manifests.render_google(BASE)
    assert paths[1].read_text() == manifests.render_outlook(BASE)


def test_cli_writes_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["manifests", "--base-url", BASE, "--out", str(tmp_path)]
    )

    assert result.exit_code == 0, result.output
    assert f"wrote {tmp_path / 'google' / 'deployment.json'}" in result.output
    assert (tmp_path / "outlook" / "manifest.xml").exists()


def test_cli_rejects_http(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "manifests",
            "--base-url",
            "http://tandem.example.com",
            "--out",
            str(tmp_path),
        ],
    )

    assert result.exit_code == 2
    assert "HTTPS only" in result.output
    assert not (tmp_path / "google").exists()


# -- every URL is served ---------------------------------------------------------


@pytest.fixture
def served_base(database_url: str) -> Iterator[str]:
    """Tandem's app on loopback, with its public URL set to where it listens."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=database_url,
        public_url=base,
        addon_google_service_account="addon@example.iam.gserviceaccount.com",
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 20 seconds")
        time.sleep(0.05)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


def _runs(document: dict[str, Any]) -> set[str]:
    add_ons = copy.deepcopy(document["addOns"])
    triggers = [add_ons["common"]["homepageTrigger"]]
    triggers += [
        value for value in add_ons["calendar"].values() if isinstance(value, dict)
    ]
    return {trigger["runFunction"] for trigger in triggers}


def test_google_urls_served(served_base: str) -> None:
    document = manifests.render_google(served_base)
    runs = _runs(document)

    with httpx.Client(timeout=10) as http:
        for url in manifests.google_urls(document):
            if url in runs:
                # Trigger endpoints take Google's POST and reject it unsigned.
                response = http.post(url, json={})
                assert response.status_code == 401, url
            else:
                response = http.get(url)
                assert response.status_code == 200, url


def test_outlook_urls_served(served_base: str) -> None:
    urls = set(manifests.outlook_urls(manifests.render_outlook(served_base)))

    with httpx.Client(timeout=10) as http:
        for url in sorted(urls - {served_base}):
            response = http.get(url)
            assert response.status_code == 200, url
        assert http.get(served_base + "/healthz").status_code == 200
