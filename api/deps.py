"""FastAPI dependencies as ``Annotated`` aliases (``SessionDep``, ``PrincipalDep``, ``RetrieverDep`` …).

The heavy components come through ``get_scorer`` / ``get_retriever`` / ``get_feedback_service`` so a
test can override one to inject a fault. Each gives a *provider* (call it to get the component): a
route first checks the caller, the body and ownership, and only then builds a model it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from api.auth import LOCAL_PRINCIPAL_ID, Principal, authenticate
from api.database import Database
from api.errors import AuthError
from api.metrics import Metrics
from api.settings import Settings
from api.state import AppState

if TYPE_CHECKING:
    from rag.job import FeedbackJob
    from rag.retrieval.retriever import Retriever
    from scorer.inference.service import Scorer


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.cadenza
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_settings_dep(state: StateDep) -> Settings:
    return state.settings


def get_db(state: StateDep) -> Database:
    return state.db


def get_metrics(state: StateDep) -> Metrics:
    return state.metrics


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DatabaseDep = Annotated[Database, Depends(get_db)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


def get_session(db: DatabaseDep) -> Iterator[Session]:
    with db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_principal(
    request: Request,
    state: StateDep,
    db: DatabaseDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    """The caller, from ``Authorization: Bearer <key>``; then the per-key rate limit. Failed attempts count
    against the client's address, so guessing keys is rate-limited too."""
    if not state.settings.auth_enabled:
        principal = Principal(key_id=LOCAL_PRINCIPAL_ID, role="admin")
    else:
        # Its own short session: the key lookup must not hold a connection for a long request.
        with db.session() as session:
            try:
                principal = authenticate(session, authorization)
            except AuthError:
                state.limiter.check(f"address:{request.client.host if request.client else 'unknown'}")
                raise
    state.limiter.check(principal.key_id)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_admin(principal: PrincipalDep) -> Principal:
    principal.require_admin()
    return principal


AdminDep = Annotated[Principal, Depends(get_admin)]


def get_scorer(state: StateDep) -> Callable[[], Scorer]:
    return state.components.scorer


def get_retriever(state: StateDep) -> Callable[[], Retriever]:
    return state.components.retriever


def get_feedback_service(state: StateDep) -> Callable[[], FeedbackJob]:
    return state.components.feedback


ScorerDep = Annotated[Callable[[], Any], Depends(get_scorer)]
RetrieverDep = Annotated[Callable[[], Any], Depends(get_retriever)]
FeedbackDep = Annotated[Callable[[], Any], Depends(get_feedback_service)]
