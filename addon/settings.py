"""Tandem's settings, read once from the environment (prefix `TANDEM_`).

`DATABASE_URL` and `CELERY_BROKER_URL` are also read without the prefix,
because hosting platforms and Celery's own tooling set them under those names.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import platformdirs
from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from addon.errors import SettingsError

SUPPORTED_LOCALES = ("en", "nl")


def default_database_url() -> str:
    """Return the SQLite URL in the user's data directory, creating the directory."""
    directory = Path(platformdirs.user_data_dir("tandem", appauthor=False))
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'tandem.sqlite3'}"


class Settings(BaseSettings):
    """Every setting Tandem reads; each field documents its unit and default."""

    model_config = SettingsConfigDict(
        env_prefix="TANDEM_", extra="ignore", populate_by_name=True
    )

    environment: str = Field(
        "development", description="development, test or production"
    )
    database_url: str = Field(
        default_factory=default_database_url,
        validation_alias=AliasChoices("DATABASE_URL", "TANDEM_DATABASE_URL"),
    )
    broker_url: str = Field(
        "",
        validation_alias=AliasChoices("CELERY_BROKER_URL", "TANDEM_BROKER_URL"),
        description="Celery broker; empty runs tasks in the calling process",
    )
    celery_queue: str = Field(
        "tandem", description="Celery queue Tandem's tasks are sent to and read from"
    )
    tenant: str = Field("default", description="tenant used by the file-mode commands")
    domains: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="the tenant's email domains; empty accepts any domain",
    )
    locale: str = Field(
        "en", description="default locale of invites and emails: en or nl"
    )
    default_timezone: str = Field(
        "UTC", description="IANA zone for calendar times that carry no zone"
    )
    allow_notes_in_invite: bool = Field(
        True, description="whether shared prior notes may appear in invites"
    )
    public_url: str = Field(
        "http://127.0.0.1:8000", description="base URL of the web app, used in links"
    )
    api_token: str = Field("", description="bearer token required by the HTTP API")
    horizon_days: int = Field(
        92, ge=1, le=730, description="how far ahead to look for the next occurrence"
    )
    followup_weeks: int = Field(
        6, ge=1, le=52, description="weeks between a goal review and its follow-up"
    )
    working_hours: Annotated[tuple[int, int], NoDecode] = Field(
        (9, 17), description="start and end hour of working hours, organizer's zone"
    )
    max_duration_minutes: int = Field(
        180, ge=15, description="series longer than this are not taken as 1:1s"
    )

    # email
    inbound_domain: str = Field(
        "in.tandem.localhost",
        description="domain of the reply addresses; its MX points at `tandem smtpd`",
    )
    reply_key: str = Field(
        "development-reply-key-change-me",
        description="HMAC-SHA256 key that signs reply and unsubscribe tokens",
    )
    reply_token_days: int = Field(
        30, ge=1, le=365, description="days after a meeting that its reply token works"
    )
    smtp_host: str = Field("127.0.0.1", description="SMTP server for outbound mail")
    smtp_port: int = Field(25, ge=1, le=65535, description="port of the SMTP server")
    smtp_user: str = Field("", description="SMTP login; empty skips authentication")
    smtp_password: str = Field("", description="SMTP password")
    smtp_starttls: bool = Field(
        False, description="whether to upgrade the SMTP connection with STARTTLS"
    )
    smtp_timeout: float = Field(30.0, gt=0, description="SMTP timeout in seconds")
    mail_transport: str = Field(
        "smtp", description="how outbound mail is sent: smtp or graph"
    )
    sender_address: str = Field(
        "tandem@tandem.localhost", description="From address of Tandem's emails"
    )
    inbound_webhook_secret: str = Field(
        "", description="shared secret of the inbound webhook; empty turns it off"
    )
    reminder_lead_hours: int = Field(
        0,
        ge=0,
        le=336,
        description="hours before a 1:1 its agenda email goes out; 0 sends it at "
        "the start of working hours on the working day before",
    )
    max_message_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        description="largest inbound message accepted, in bytes; larger gets 552",
    )
    rejection_limit_per_day: int = Field(
        3, ge=0, description="rejection emails sent to one sender per 24 hours"
    )
    trusted_authserv_id: str = Field(
        "",
        description="authserv-id of the receiving MTA whose Authentication-Results "
        "are read; empty reads only the topmost such header",
    )

    # microsoft
    ms_client_id: str = Field(
        "", description="application (client) id of Tandem's Entra app registration"
    )
    ms_client_secret: str = Field("", description="client secret of that app")
    ms_authority_host: str = Field(
        "https://login.microsoftonline.com",
        description="identity platform host; national clouds and the emulator "
        "use their own",
    )
    ms_graph_url: str = Field(
        "https://graph.microsoft.com",
        description="Graph host without the version; /v1.0/ is appended",
    )
    ms_ca_bundle: str = Field(
        "",
        description="CA file trusted for the authority and Graph hosts; empty "
        "uses the system's CAs",
    )
    ms_redirect_uri: str = Field(
        "http://127.0.0.1:8000/microsoft/callback",
        description="redirect URI of the authorization code flow, as registered",
    )
    ms_admin_consent_redirect_uri: str = Field(
        "http://127.0.0.1:8000/microsoft/admin-consent/callback",
        description="redirect URI of the admin consent flow, as registered",
    )
    ms_notification_url: str = Field(
        "",
        description="public URL of /microsoft/notifications; empty polls with "
        "Celery beat instead of subscribing to change notifications",
    )
    ms_timeout: float = Field(
        30.0, gt=0, description="timeout of each Graph and token request, seconds"
    )
    ms_max_retry_wait: float = Field(
        120.0,
        ge=0,
        description="longest total wait for Retry-After on 429 and 503 per "
        "request, in seconds; after it the call fails",
    )
    ms_poll_minutes: int = Field(
        15, ge=1, description="minutes between polls when no notification URL is set"
    )
    encryption_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Fernet keys that encrypt tokens at rest, comma-separated, "
        "newest first; older keys only decrypt. Empty uses a development key.",
    )

    # google
    google_meet_links: bool = Field(
        False,
        description="whether follow-ups created in Google Calendar get a Meet link",
    )
    google_client_id: str = Field(
        "", description="OAuth client id of Tandem's Google Cloud project"
    )
    google_client_secret: str = Field("", description="secret of that OAuth client")
    google_api_endpoint: str = Field(
        "https://www.googleapis.com/",
        description="base URL of the Calendar and Directory APIs; a proxy or the "
        "emulator use their own",
    )
    google_token_uri: str = Field(
        "https://oauth2.googleapis.com/token", description="OAuth 2.0 token endpoint"
    )
    google_auth_uri: str = Field(
        "https://accounts.google.com/o/oauth2/v2/auth",
        description="OAuth 2.0 authorization endpoint the consent starts at",
    )
    google_revoke_uri: str = Field(
        "https://oauth2.googleapis.com/revoke",
        description="endpoint that revokes a refresh token on disconnect",
    )
    google_redirect_uri: str = Field(
        "http://127.0.0.1:8000/oauth/google/callback",
        description="redirect URI of the authorization code flow, as registered",
    )
    google_push_url: str = Field(
        "",
        description="public HTTPS URL of /google/notifications; empty polls with "
        "Celery beat instead of opening watch channels",
    )
    google_channel_hours: int = Field(
        168,
        ge=1,
        le=720,
        description="lifetime requested for a watch channel, in hours; Google may "
        "grant less",
    )
    google_channel_renew_hours: int = Field(
        24, ge=1, description="renew a channel this many hours before it expires"
    )
    google_poll_minutes: int = Field(
        15, ge=1, description="minutes between polls when no push URL is set"
    )
    google_timeout: float = Field(
        30.0, gt=0, description="timeout of each Google request, in seconds"
    )
    google_max_retries: int = Field(
        6,
        ge=0,
        le=12,
        description="retries of a request Google throttles or fails with 5xx",
    )
    google_max_backoff: float = Field(
        64.0, gt=0, description="longest single backoff wait, in seconds"
    )
    google_user_requests_per_second: float = Field(
        8.0,
        ge=0,
        description="requests per second sent for one person; Google's default "
        "quota is 600 per minute per user, 0 turns pacing off",
    )

    # add-ons
    addon_google_audience: str = Field(
        "",
        description="expected `aud` of the ID token Google sends to the add-on "
        "endpoints; empty expects the endpoint's own URL under TANDEM_PUBLIC_URL, "
        "which is what Google sets for an HTTP deployment",
    )
    addon_google_service_account: str = Field(
        "",
        description="email of the add-on's Google service account "
        "(service-PROJECT_NUMBER@gcp-sa-gsuiteaddons.iam.gserviceaccount.com); "
        "tokens of any other account are rejected, and empty rejects every request",
    )
    addon_google_certs_url: str = Field(
        "https://www.googleapis.com/oauth2/v1/certs",
        description="URL of the PEM certificates that sign Google ID tokens",
    )
    addon_office_js_url: str = Field(
        "https://appsforoffice.microsoft.com/lib/1/hosted/office.js",
        description="URL of Office.js that the Outlook task pane loads",
    )

    @field_validator("encryption_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _check_reply_key(self) -> Settings:
        # A guessable key lets anyone forge reply addresses, so production
        # refuses the development default.
        weak = len(self.reply_key) < 32 or self.reply_key.startswith("development-")
        if self.environment == "production" and weak:
            raise ValueError(
                "TANDEM_REPLY_KEY must be set to a random value of at least 32 "
                "characters in production."
            )
        return self

    @field_validator("domains", mode="before")
    @classmethod
    def _split_domains(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("working_hours", mode="before")
    @classmethod
    def _split_hours(cls, value: object) -> object:
        if isinstance(value, str):
            start, _, end = value.partition("-")
            try:
                return (int(start), int(end))
            except ValueError:
                raise ValueError(
                    f"working hours {value!r} are invalid; write them as START-END "
                    "in whole hours, for example 9-17"
                ) from None
        return value

    @field_validator("locale")
    @classmethod
    def _check_locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(
                f"locale {value!r} is not supported; use one of "
                f"{', '.join(SUPPORTED_LOCALES)}"
            )
        return value

    @field_validator("working_hours")
    @classmethod
    def _check_hours(cls, value: tuple[int, int]) -> tuple[int, int]:
        start, end = value
        if not 0 <= start < end <= 24:
            raise ValueError(
                f"working hours {start}-{end} are invalid; give two hours with "
                "0 <= start < end <= 24, for example [9, 17]"
            )
        return value

    def check_production(self) -> None:
        """Raise SettingsError when a production deployment lacks a real secret."""
        if self.environment == "production" and len(self.api_token) < 32:
            raise SettingsError(
                "TANDEM_API_TOKEN must be set to a random value of at least 32 "
                "characters in production."
            )
        if self.environment == "production" and not self.encryption_keys:
            raise SettingsError(
                "TANDEM_ENCRYPTION_KEYS must name at least one Fernet key in "
                "production; create one with `python -c 'from cryptography.fernet "
                "import Fernet; print(Fernet.generate_key().decode())'`."
            )


@functools.cache
def get_settings() -> Settings:
    """Return the process-wide settings, read from the environment on first use."""
    return Settings()
