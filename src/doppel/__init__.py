"""doppel: train and serve a digital twin of one person from what they wrote.

``from doppel import Twin`` is the Python API (see :mod:`doppel.twin`); heavy
imports wait until it is first used.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["AllanBot", "Decision", "RemoteTwin", "Reply", "Twin", "TwinError"]


def __getattr__(name: str):
    if name in ("AllanBot", "RemoteTwin", "Reply", "Twin", "TwinError"):
        from doppel import twin

        return getattr(twin, name)
    if name == "Decision":
        from doppel.inference.decisions import Decision

        return Decision
    raise AttributeError(f"module 'doppel' has no attribute {name!r}")
