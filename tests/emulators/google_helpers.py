"""Helpers that connect the real Google client libraries to the emulator."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

import google.oauth2.credentials
import httplib2
import httpx
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import Resource, build

from emulators.google import schemas

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
DIRECTORY_SCOPE = "https://www.googleapis.com/auth/admin.directory.user.readonly"
CLIENT_ID = "tandem-test"
CLIENT_SECRET = "tandem-test-secret"
REDIRECT_URI = "http://127.0.0.1:1/callback"


class ValidatingHttp(httplib2.Http):
    """An httplib2 client that checks every API response against discovery.

    Success bodies must match the method's response schema; error bodies must
    have Google's error shape. A mismatch raises AssertionError in the test.
    """

    def __init__(self) -> None:
        super().__init__(timeout=10)
        self.checked = 0

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        response, content = super().request(uri, method, *args, **kwargs)
        method_id, document = _method_for(method, urlsplit(uri).path)
        if method_id is not None and content:
            _check_body(document, method_id, response.status, json.loads(content))
            self.checked += 1
        return response, content


def _routes() -> list[tuple[str, re.Pattern[str], str, str]]:
    routes = []
    for document in (schemas.CALENDAR, schemas.DIRECTORY):
        doc = schemas.load_document(document)
        for method in _methods(doc["resources"]):
            pattern = re.sub(r"\{[^}]+\}", "[^/]+", method["path"])
            routes.append(
                (
                    method["httpMethod"],
                    re.compile(pattern),
                    method["id"],
                    document,
                )
            )
    # A path with fewer placeholders wins, as in the server's own routing.
    return sorted(routes, key=lambda route: route[1].pattern.count("[^/]+"))


def _methods(resources: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for resource in resources.values():
        found.extend(resource.get("methods", {}).values())
        found.extend(_methods(resource.get("resources", {})))
    return found


_ROUTES = _routes()


def _method_for(http_method: str, path: str) -> tuple[str | None, str]:
    path = path.removeprefix("/calendar/v3").lstrip("/")
    for verb, pattern, method_id, document in _ROUTES:
        if verb == http_method and pattern.fullmatch(path):
            return method_id, document
    return None, ""


def _check_body(document: str, method_id: str, status: int, body: Any) -> None:
    if status >= 400:
        error = body["error"]
        assert isinstance(error["code"], int), body
        assert isinstance(error["message"], str), body
        assert {"domain", "reason", "message"} <= set(error["errors"][0]), body
        return
    response = schemas.method(document, method_id).get("response")
    if response:
        problems = schemas.validate(document, response["$ref"], body)
        assert not problems, f"{method_id}: {[str(p) for p in problems]}"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def add_user(control: httpx.Client, email: str, **fields: Any) -> None:
    control.post("/_emulator/users", json={"email": email, **fields}).raise_for_status()


def refresh_token_for(control: httpx.Client, email: str, scopes: list[str]) -> str:
    """Run the authorization-code grant with PKCE and return the refresh token."""
    verifier, challenge = pkce_pair()
    code = control.post(
        "/_emulator/authorization-codes",
        json={
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "user": email,
            "scopes": scopes,
            "code_challenge": challenge,
        },
    ).json()["code"]
    reply = control.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": REDIRECT_URI,
        },
    )
    reply.raise_for_status()
    return reply.json()["refresh_token"]


def user_credentials(
    base_url: str, refresh_token: str, scopes: list[str]
) -> google.oauth2.credentials.Credentials:
    return google.oauth2.credentials.Credentials(
        token=None,
        refresh_token=refresh_token,
        token_uri=base_url + "token",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes=scopes,
    )


def service(name: str, version: str, credentials: Any, base_url: str) -> Resource:
    """Build a discovery client that talks to the emulator through ValidatingHttp."""
    http = AuthorizedHttp(credentials, http=ValidatingHttp())
    return build(
        name,
        version,
        http=http,
        static_discovery=True,
        client_options={"api_endpoint": base_url},
    )
