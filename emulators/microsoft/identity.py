"""The identity platform (Entra ID v2.0 endpoints) as msal uses them.

Routes: OpenID discovery, instance discovery, /authorize (which signs in the
user named by `login_hint` at once, because the emulator has no login page),
/adminconsent, and /token for the authorization_code, refresh_token and
client_credentials grants.
"""

import base64
import hashlib
import json
import logging
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from .errors import identity_error_response
from .state import (
    AccessToken,
    Application,
    AuthorizationCode,
    EmulatorState,
    Grant,
    Tenant,
    User,
    new_guid,
    utc_now,
)

logger = logging.getLogger(__name__)

router = APIRouter()

GRAPH_RESOURCE = "https://graph.microsoft.com"
RESERVED_SCOPES = {"openid", "profile", "offline_access", "email"}
CODE_LIFETIME = timedelta(minutes=10)
MULTI_TENANT_SEGMENTS = {"common", "organizations", "consumers"}

# Permissions an admin grants by consenting; the emulator grants the
# application permissions Tandem's tenant-wide mode uses.
APPLICATION_ROLES = [
    "Calendars.ReadWrite",
    "User.Read.All",
    "MailboxSettings.Read",
    "Mail.Send",
]


def get_state(request: Request) -> EmulatorState:
    """Return the emulator state attached to the app."""
    return request.app.state.emulator


def base_url(request: Request) -> str:
    """Return scheme, host and port as the client addressed the emulator."""
    return str(request.base_url).rstrip("/")


def b64url(data: bytes) -> str:
    """Encode bytes as unpadded base64url (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def encode_jwt(claims: dict[str, object]) -> str:
    """Return a JWT-shaped token. The emulator never verifies the signature
    because it looks every token up in its own table instead."""
    header = b64url(json.dumps({"typ": "JWT", "alg": "RS256"}).encode())
    payload = b64url(json.dumps(claims).encode())
    return f"{header}.{payload}.{b64url(secrets.token_bytes(32))}"


def resolve_tenant(state: EmulatorState, segment: str) -> Tenant | None:
    """Return the tenant a path segment names (None for common/organizations)."""
    if segment.lower() in MULTI_TENANT_SEGMENTS:
        return None
    return state.find_tenant(segment)


def unknown_tenant(segment: str) -> JSONResponse:
    """Return the error Entra sends for a tenant that does not exist."""
    return identity_error_response(
        "invalid_tenant",
        90002,
        f"Tenant '{segment}' not found. Check to make sure you have the correct "
        "tenant ID and are signing into the correct cloud.",
    )


@router.get("/{tenant}/v2.0/.well-known/openid-configuration")
async def openid_configuration(tenant: str, request: Request) -> Response:
    """Return OpenID Connect discovery metadata for a tenant."""
    state = get_state(request)
    found = resolve_tenant(state, tenant)
    if found is None and tenant.lower() not in MULTI_TENANT_SEGMENTS:
        return unknown_tenant(tenant)

    root = base_url(request)
    issuer_tenant = found.id if found else "{tenantid}"
    path_tenant = found.id if found else tenant
    return JSONResponse(
        {
            "issuer": f"{root}/{issuer_tenant}/v2.0",
            "authorization_endpoint": f"{root}/{path_tenant}/oauth2/v2.0/authorize",
            "token_endpoint": f"{root}/{path_tenant}/oauth2/v2.0/token",
            "end_session_endpoint": f"{root}/{path_tenant}/oauth2/v2.0/logout",
            "jwks_uri": f"{root}/{path_tenant}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "emulator.local",
        }
    )


@router.get("/{tenant}/discovery/instance")
async def instance_discovery(tenant: str, request: Request) -> Response:
    """Return instance metadata for msal's `instance_discovery=<this URL>`."""
    authorization_endpoint = request.query_params.get("authorization_endpoint", "")
    path_segments = urlsplit(authorization_endpoint).path.strip("/").split("/")
    tenant_segment = path_segments[0] or tenant
    host = request.url.netloc
    return JSONResponse(
        {
            "tenant_discovery_endpoint": (
                f"{base_url(request)}/{tenant_segment}"
                "/v2.0/.well-known/openid-configuration"
            ),
            "api-version": "1.1",
            "metadata": [
                {"preferred_network": host, "preferred_cache": host, "aliases": [host]}
            ],
        }
    )


@router.get("/{tenant}/oauth2/v2.0/authorize")
async def authorize(tenant: str, request: Request) -> Response:
    """Sign in the user named by `login_hint` and redirect with a code."""
    state = get_state(request)
    params = request.query_params
    application = state.applications.get(params.get("client_id", ""))
    if application is None:
        return identity_error_response(
            "unauthorized_client",
            700016,
            f"Application with identifier '{params.get('client_id')}' was not "
            "found in the directory.",
        )

    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in application.redirect_uris:
        return redirect_mismatch(redirect_uri, application)

    user = state.find_user(params.get("login_hint", ""))
    if user is None:
        return identity_error_response(
            "invalid_request",
            50034,
            f"The user account {params.get('login_hint')!r} does not exist in the "
            "directory. The emulator signs in the user named by login_hint; pass "
            "login_hint=<user mail> to initiate_auth_code_flow.",
        )

    found = resolve_tenant(state, tenant)
    if found is not None and found.id != user.tenant_id:
        return identity_error_response(
            "invalid_request",
            50020,
            f"User account '{user.mail}' from identity provider does not exist in "
            f"tenant '{found.domain}'.",
        )

    code = issue_code(state, application, user, params)
    query = {
        "code": code,
        "state": params.get("state", ""),
        "session_state": new_guid(),
    }
    return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", status_code=302)


def redirect_mismatch(redirect_uri: str, application: Application) -> JSONResponse:
    """Return Entra's error for an unregistered redirect URI."""
    return identity_error_response(
        "invalid_request",
        50011,
        f"The redirect URI '{redirect_uri}' specified in the request does not match "
        f"the redirect URIs configured for the application '{application.client_id}'.",
    )


def issue_code(
    state: EmulatorState, application: Application, user: User, params: object
) -> str:
    """Record the user's consent as a delegated grant and return a code."""
    scopes = str(params.get("scope", "")).split()  # type: ignore[attr-defined]
    grant = Grant(
        id=new_guid(),
        kind="delegated",
        client_id=application.client_id,
        tenant_id=user.tenant_id,
        user_id=user.id,
        scopes=scopes,
    )
    state.grants[grant.id] = grant

    code = secrets.token_urlsafe(48)
    state.codes[code] = AuthorizationCode(
        grant_id=grant.id,
        client_id=application.client_id,
        redirect_uri=str(params.get("redirect_uri")),  # type: ignore[attr-defined]
        scopes=scopes,
        nonce=params.get("nonce"),  # type: ignore[attr-defined]
        code_challenge=params.get("code_challenge"),  # type: ignore[attr-defined]
        code_challenge_method=params.get("code_challenge_method"),  # type: ignore[attr-defined]
        expires_at=utc_now() + CODE_LIFETIME,
    )
    logger.info("Issued an authorization code for user %s.", user.id)
    return code


@router.get("/{tenant}/adminconsent")
@router.get("/{tenant}/v2.0/adminconsent")
async def admin_consent(tenant: str, request: Request) -> Response:
    """Grant the app's application permissions in a tenant and redirect back.

    With `common` or `organizations` in the path, `login_hint` names the admin
    whose tenant consents, as the signed-in admin would in Entra.
    """
    state = get_state(request)
    params = request.query_params
    application = state.applications.get(params.get("client_id", ""))
    if application is None:
        return identity_error_response(
            "unauthorized_client",
            700016,
            f"Application with identifier '{params.get('client_id')}' was not found.",
        )

    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in application.redirect_uris:
        return redirect_mismatch(redirect_uri, application)

    found = resolve_tenant(state, tenant)
    admin = state.find_user(params.get("login_hint", ""))
    if found is None and admin is not None:
        found = state.tenants[admin.tenant_id]
    if found is None:
        return unknown_tenant(tenant)

    grant_admin_consent(state, application.client_id, found.id)
    query = {
        "admin_consent": "True",
        "tenant": found.id,
        "state": params.get("state", ""),
    }
    return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", status_code=302)


def grant_admin_consent(state: EmulatorState, client_id: str, tenant_id: str) -> Grant:
    """Create (or return the live) application grant of an app in a tenant."""
    existing = state.application_grant(client_id, tenant_id)
    if existing is not None:
        return existing

    grant = Grant(
        id=new_guid(),
        kind="application",
        client_id=client_id,
        tenant_id=tenant_id,
        user_id=None,
        scopes=list(APPLICATION_ROLES),
    )
    state.grants[grant.id] = grant
    logger.info("Admin consent granted for app %s in tenant %s.", client_id, tenant_id)
    return grant


@router.post("/{tenant}/oauth2/v2.0/token")
async def token(tenant: str, request: Request) -> Response:
    """Redeem a code, a refresh token or client credentials for tokens."""
    state = get_state(request)
    form = {
        key: values[0]
        for key, values in parse_qs((await request.body()).decode()).items()
    }
    client_id, client_secret = client_credentials_from(request, form)
    application = state.applications.get(client_id)
    if application is None:
        return identity_error_response(
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the "
            f"directory '{tenant}'.",
        )
    if not secrets.compare_digest(client_secret, application.client_secret):
        return identity_error_response(
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the "
            f"request is the client secret value, not the client secret ID, for a "
            f"secret added to app '{client_id}'.",
            status=401,
        )

    grant_type = form.get("grant_type", "")
    handler = GRANT_HANDLERS.get(grant_type)
    if handler is None:
        return identity_error_response(
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )
    return handler(state, request, tenant, application, form)


def client_credentials_from(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """Return client id and secret from the form or a Basic header (RFC 6749 2.3.1)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        decoded = base64.b64decode(header[6:]).decode()
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


def grant_client_credentials(
    state: EmulatorState,
    request: Request,
    tenant: str,
    application: Application,
    form: dict[str, str],
) -> Response:
    """Issue an application token for a tenant that gave admin consent."""
    if tenant.lower() in MULTI_TENANT_SEGMENTS:
        return identity_error_response(
            "invalid_request",
            50059,
            "No tenant-identifying information found in either the request or "
            "implied by any provided credentials; use a tenant id in the authority.",
        )
    found = resolve_tenant(state, tenant)
    if found is None:
        return unknown_tenant(tenant)

    scope = form.get("scope", "")
    if not scope.endswith("/.default") or " " in scope.strip():
        return identity_error_response(
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential "
            "flows must have a scope value with /.default suffixed to the resource "
            "identifier (application ID URI).",
        )

    grant = state.application_grant(application.client_id, found.id)
    if grant is None:
        # Without admin consent the app has no service principal in the tenant.
        return identity_error_response(
            "unauthorized_client",
            700016,
            f"Application with identifier '{application.client_id}' was not found "
            f"in the directory '{found.domain}'. This can happen if the application "
            "has not been installed by the administrator of the tenant.",
        )
    return JSONResponse(token_response(state, request, grant, include_refresh=False))


def grant_authorization_code(
    state: EmulatorState,
    request: Request,
    tenant: str,
    application: Application,
    form: dict[str, str],
) -> Response:
    """Redeem an authorization code once, checking redirect URI and PKCE."""
    code = state.codes.pop(form.get("code", ""), None)
    if code is None:
        return identity_error_response(
            "invalid_grant",
            54005,
            "OAuth2 Authorization code was already redeemed or is not valid; "
            "retry with a new valid code or use an existing refresh token.",
        )
    if code.expires_at < utc_now():
        return identity_error_response(
            "invalid_grant", 70008, "The provided authorization code has expired."
        )
    if code.client_id != application.client_id or code.redirect_uri != form.get(
        "redirect_uri"
    ):
        return identity_error_response(
            "invalid_grant",
            50148,
            "The code was issued to a different client or redirect URI.",
        )
    if not pkce_matches(code, form.get("code_verifier")):
        return identity_error_response(
            "invalid_grant",
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the "
            "authorization request.",
        )

    grant = state.grants[code.grant_id]
    include_refresh = "offline_access" in code.scopes
    return JSONResponse(
        token_response(state, request, grant, include_refresh, nonce=code.nonce)
    )


def pkce_matches(code: AuthorizationCode, verifier: str | None) -> bool:
    """Check the PKCE verifier against the challenge (RFC 7636 section 4.6)."""
    if code.code_challenge is None:
        return True
    if verifier is None:
        return False
    if code.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return b64url(digest) == code.code_challenge
    return verifier == code.code_challenge


def grant_refresh_token(
    state: EmulatorState,
    request: Request,
    tenant: str,
    application: Application,
    form: dict[str, str],
) -> Response:
    """Redeem a refresh token unless its grant was revoked."""
    grant_id = state.refresh_tokens.get(form.get("refresh_token", ""))
    grant = state.grants.get(grant_id or "")
    if grant is None or grant.client_id != application.client_id:
        return identity_error_response(
            "invalid_grant",
            9002313,
            "Invalid request. The refresh token is malformed or invalid.",
        )
    if grant.revoked_reason is not None:
        return revoked_grant_error(grant)
    return JSONResponse(token_response(state, request, grant, include_refresh=True))


def revoked_grant_error(grant: Grant) -> JSONResponse:
    """Return the invalid_grant error Entra sends for a revoked grant.

    AADSTS50173 follows a password reset or revoked sign-in sessions, and
    AADSTS70000 follows removed consent for the requested scopes.
    """
    if grant.revoked_reason == "sessions":
        return identity_error_response(
            "invalid_grant",
            50173,
            "The provided grant has expired due to it being revoked, a fresh auth "
            "token is needed. The user might have changed or reset their password.",
        )
    return identity_error_response(
        "invalid_grant",
        70000,
        "The request was denied because one or more scopes requested are "
        "unauthorized or expired. The user must first sign in and grant the client "
        "application access to the requested scope.",
    )


GRANT_HANDLERS = {
    "client_credentials": grant_client_credentials,
    "authorization_code": grant_authorization_code,
    "refresh_token": grant_refresh_token,
}


def token_response(
    state: EmulatorState,
    request: Request,
    grant: Grant,
    include_refresh: bool,
    nonce: str | None = None,
) -> dict[str, object]:
    """Issue an access token (and refresh and ID tokens for a user) for a grant."""
    now = utc_now()
    lifetime = state.access_token_lifetime
    issuer = f"{base_url(request)}/{grant.tenant_id}/v2.0"
    claims: dict[str, object] = {
        "aud": GRAPH_RESOURCE,
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + lifetime,
        "tid": grant.tenant_id,
        "appid": grant.client_id,
        "oid": grant.user_id or grant.client_id,
    }
    scope_text = " ".join(graph_scopes(grant))
    if grant.kind == "application":
        claims["roles"] = grant.scopes
    else:
        claims["scp"] = scope_text

    access_token = encode_jwt(claims)
    state.access_tokens[access_token] = AccessToken(
        grant.id, now + timedelta(seconds=lifetime)
    )
    body: dict[str, object] = {
        "token_type": "Bearer",
        "scope": scope_text,
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    }
    if grant.kind == "application":
        # Without `scope` in the response msal files an application token
        # under the scope it requested, so the next request finds it cached.
        # NOTE: whether Entra's client credentials response names a scope is
        # not confirmed here. Entra would name Graph's own scope, which is
        # the one Tandem requests outside the emulator, so both cache.
        del body["scope"]
    if grant.user_id is not None:
        add_user_tokens(state, body, grant, issuer, include_refresh, nonce)
    return body


def graph_scopes(grant: Grant) -> list[str]:
    """Return the granted Graph scopes without the resource prefix, as Entra does."""
    names = []
    for scope in grant.scopes:
        if scope.lower() in RESERVED_SCOPES:
            continue
        names.append(scope.removeprefix(GRAPH_RESOURCE + "/"))
    return names or ["User.Read"]


def add_user_tokens(
    state: EmulatorState,
    body: dict[str, object],
    grant: Grant,
    issuer: str,
    include_refresh: bool,
    nonce: str | None,
) -> None:
    """Add the ID token, client_info and (with offline_access) a refresh token."""
    tenant = state.tenants[grant.tenant_id]
    user = tenant.users[str(grant.user_id)]
    now = int(utc_now().timestamp())
    id_claims: dict[str, object] = {
        "aud": grant.client_id,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "name": user.display_name,
        "oid": user.id,
        "preferred_username": user.mail,
        "sub": b64url(hashlib.sha256(f"{user.id}{grant.client_id}".encode()).digest()),
        "tid": tenant.id,
        "ver": "2.0",
    }
    if nonce:
        id_claims["nonce"] = nonce
    body["id_token"] = encode_jwt(id_claims)
    body["client_info"] = b64url(
        json.dumps({"uid": user.id, "utid": tenant.id}).encode()
    )
    if include_refresh:
        refresh_token = secrets.token_urlsafe(64)
        state.refresh_tokens[refresh_token] = grant.id
        body["refresh_token"] = refresh_token
