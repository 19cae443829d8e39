"""Who may see and change what in the centre, and the guard against cross-site requests.

Seeing needs an Airflow login: :data:`UserDep` is the api-server's own
``get_user`` (the JWT the Airflow UI uses, as a Bearer header or its
``_token`` cookie). Changing a message (edit, replay) needs what triggering
its flow's DAG needs: the auth manager is asked :func:`can_change`, so the
same roles and DAG-level rules that let a user press "Trigger" let them
replay.

Because the browser sends the ``_token`` cookie with any request to the
api-server, every POST also carries a CSRF token bound to the user
(:func:`csrf_token`, an HMAC of the user id and a timestamp under the
api-server's secret key, valid :data:`CSRF_TTL`) and must come from this
site: its ``Origin`` (or, when a browser sends none, its ``Referer``) must
name the host the request was sent to. :func:`require_csrf` checks both.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Annotated
from urllib.parse import urlsplit

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import get_user
from fastapi import Depends, HTTPException, Request, status

#: The form field and the header a POST carries its CSRF token in.
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: How long a CSRF token is accepted: a working day on one page.
CSRF_TTL = 12 * 3600

UserDep = Annotated[BaseUser, Depends(get_user)]


def user_name(user: BaseUser) -> str:
    """The name the inbox records an edit under: the Airflow user's name."""
    return str(user.get_name())


def can_change(user: BaseUser, dag_id: str) -> bool:
    """Whether ``user`` may edit and replay a message of DAG ``dag_id``: may they trigger it."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import (
        DagAccessEntity,
        DagDetails,
    )

    return bool(
        get_auth_manager().is_authorized_dag(
            method="POST",
            access_entity=DagAccessEntity.RUN,
            details=DagDetails(id=dag_id),
            user=user,
        )
    )


def require_change(user: BaseUser, dag_id: str) -> None:
    """Refuse (403) a change by a user who may not trigger ``dag_id``.

    Raises:
        HTTPException: 403, naming the DAG.
    """
    if not can_change(user, dag_id):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"changing this message needs permission to trigger DAG {dag_id}",
        )


def _key() -> bytes:
    """The CSRF signing key, derived from the api-server's secret (never used bare)."""
    from airflow.configuration import conf

    secret = conf.get("api", "secret_key", fallback="") or conf.get(
        "api_auth", "jwt_secret", fallback=""
    )
    if not secret:
        raise RuntimeError("the api-server has no [api] secret_key to sign CSRF tokens with")
    return hmac.new(secret.encode(), b"koppel-centre-csrf", hashlib.sha256).digest()


def _signature(user_id: str, issued: int) -> str:
    return hmac.new(_key(), f"{user_id}|{issued}".encode(), hashlib.sha256).hexdigest()


def csrf_token(user: BaseUser, *, now: float | None = None) -> str:
    """A CSRF token for ``user``: when it was issued and its signature (``<issued>.<hmac>``)."""
    issued = int(time.time() if now is None else now)
    return f"{issued}.{_signature(str(user.get_id()), issued)}"


def csrf_valid(user: BaseUser, token: str, *, now: float | None = None) -> bool:
    """Whether ``token`` was issued to ``user`` here less than :data:`CSRF_TTL` ago."""
    issued_text, _, signature = token.partition(".")
    if not issued_text.isdigit() or not signature:
        return False
    issued = int(issued_text)
    age = (time.time() if now is None else now) - issued
    if not 0 <= age <= CSRF_TTL:
        return False
    return hmac.compare_digest(signature, _signature(str(user.get_id()), issued))


def same_origin(request: Request) -> bool:
    """Whether the request comes from a page of this site, by its ``Origin`` or ``Referer``.

    The host (and port) must be the one the request was sent to (its ``Host``
    header); a request naming neither header is refused, as browsers send at
    least one on a cross-site POST.
    """
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    host = request.headers.get("host") or ""
    return bool(host) and urlsplit(source).netloc.lower() == host.lower()


async def require_csrf(request: Request, user: UserDep) -> BaseUser:
    """Refuse a POST from another site or without this user's CSRF token (403); return the user.

    The token is the form field :data:`CSRF_FIELD` or the header :data:`CSRF_HEADER`.

    Raises:
        HTTPException: 403 saying which check failed.
    """
    if not same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site request refused (Origin)")
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not token or not csrf_valid(user, token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or invalid CSRF token")
    return user


#: A POST's user, after the cross-site checks.
ChangeUserDep = Annotated[BaseUser, Depends(require_csrf)]


def can_read(user: BaseUser, dag_id: str) -> bool:
    """Whether the auth manager lets ``user`` see DAG ``dag_id``, and so its flow's messages."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    return bool(
        get_auth_manager().is_authorized_dag(method="GET", details=DagDetails(id=dag_id), user=user)
    )


def readable_flows(user: BaseUser) -> frozenset[tuple[str, str]] | None:
    """The ``(connection, flow)`` pairs whose DAGs ``user`` may see; None when they may see all.

    The message list and bulk replay are bounded by it, so a user whose role
    reaches only some DAGs (a merchant's team) never sees another merchant's
    rows, their count included. A user allowed every DAG costs no DAG lookup.
    """
    from airflow.api_fastapi.app import get_auth_manager

    from koppel.centre.views import flow_of_dag_id

    manager = get_auth_manager()
    if manager.is_authorized_dag(method="GET", user=user):
        return None
    dag_ids = manager.get_authorized_dag_ids(user=user, method="GET")
    return frozenset(pair for pair in map(flow_of_dag_id, dag_ids) if pair is not None)


async def readable_flows_dep(user: UserDep) -> frozenset[tuple[str, str]] | None:
    """:func:`readable_flows` of the request's user, as a FastAPI dependency."""
    return readable_flows(user)


#: The flows the request's user may see (None: all), for the list's and bulk replay's bound.
ReadableDep = Annotated[frozenset[tuple[str, str]] | None, Depends(readable_flows_dep)]


def require_read(user: BaseUser, dag_id: str) -> None:
    """Refuse (403) a user who may not see DAG ``dag_id``.

    Raises:
        HTTPException: 403, naming the DAG.
    """
    if not can_read(user, dag_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"not allowed to see DAG {dag_id}")
