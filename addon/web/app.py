"""The FastAPI application: health check and the read API for 1:1s and their agendas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from addon import db
from addon.settings import Settings, get_settings
from addon.web import addon_endpoints, google, inbound, microsoft, routes


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the database is migrated to the newest schema on start."""
    settings = settings or get_settings()
    settings.check_production()
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)

    app = FastAPI(title="Tandem", version="0.1.0")
    app.state.settings = settings
    app.state.sessions = db.session_factory(engine)
    app.include_router(routes.router)
    app.include_router(inbound.router)
    app.include_router(routes.pages)
    app.include_router(microsoft.router)
    app.include_router(microsoft.api)
    app.include_router(google.router)
    app.include_router(google.api)
    app.include_router(addon_endpoints.router)

    @app.get("/healthz", tags=["health"])
    def healthz(session: Annotated[Session, Depends(get_session)]) -> dict[str, str]:
        """Report that the app runs and reaches its database."""
        session.execute(text("SELECT 1"))
        return {"status": "ok"}

    return app


def get_session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session, session.begin():
        yield session
