"""Versions: list, promote, roll back."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from doppel.registry import Registry, RegistryError
from doppel.service.schemas import TwinRef
from doppel.service.state import ADMIN, READ, State

router = APIRouter(prefix="/api/versions", tags=["versions"])


def _registry(state: State) -> Registry:
    return Registry(state.settings.resolved_models_dir)


@router.get("", dependencies=[READ])
def versions(state: State, twin: str | None = None) -> dict:
    """Every version, oldest first, with its metrics and its scorecard's headline numbers (null if unevaluated)."""
    from doppel.evaluation.store import scorecard_summary

    name = state.twin(twin).name
    registry = _registry(state)
    rows = registry.describe(name)
    by_name = {v.name: v for v in registry.versions(name)}
    for row in rows:
        row["scorecard"] = scorecard_summary(by_name[row["version"]], state.db)
    return {"twin": name, "versions": rows}


@router.post("/rollback", dependencies=[ADMIN])
def rollback(state: State, body: TwinRef | None = None) -> dict:
    """Make final the version that was final before the current one."""
    name = state.twin(body.twin if body else None).name
    try:
        version = _registry(state).rollback(name)
    except RegistryError as exc:
        raise HTTPException(409, str(exc)) from None
    except OSError as exc:
        raise _storage_error(state, name, "roll back", exc) from None
    return {"twin": name, "final": version.name}


@router.post("/{version}/promote", dependencies=[ADMIN])
def promote(version: str, state: State, body: TwinRef | None = None) -> dict:
    """Make a version final, whatever the gate said."""
    name = state.twin(body.twin if body else None).name
    try:
        promoted = _registry(state).promote(name, version, reason="promoted by hand")
    except RegistryError as exc:
        raise HTTPException(404, str(exc)) from None
    except OSError as exc:
        raise _storage_error(state, name, "promote", exc) from None
    return {"twin": name, "final": promoted.name}


@router.delete("/{version}", dependencies=[ADMIN])
def delete(version: str, state: State, twin: str | None = None) -> dict:
    """Delete a version's folder; final never is (409), so the version in use stays until another is final."""
    name = state.twin(twin).name
    registry = _registry(state)
    try:
        registry.get(name, version)
    except RegistryError as exc:
        raise HTTPException(404, str(exc)) from None
    try:
        gone = registry.delete(name, version)
    except RegistryError as exc:
        raise HTTPException(409, str(exc)) from None
    except OSError as exc:
        raise _storage_error(state, name, "delete", exc) from None
    return {"twin": name, "deleted": gone.name}


def _storage_error(state, twin: str, what: str, exc: OSError) -> HTTPException:
    """The models folder refused the change (disk full, read-only): 507 naming the reason and what is final now."""
    final = _registry(state).final(twin)
    return HTTPException(
        507,
        f"could not {what}: the models folder refused the change ({exc.strerror or exc}); "
        f"final is {final.name if final else 'not set'}",
    )
