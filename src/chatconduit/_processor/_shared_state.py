"""The agent's shared state: STATE_SNAPSHOT / STATE_DELTA (difference 4).

The snapshot is copied once; each delta (an RFC 6902 JSON Patch) is applied to that copy
in place, atomically: a patch that does not apply raises ``JSONPatchError`` and leaves
the state unchanged. ``on_state_change(state)`` fires after each change. (The reference
ignores both events.)
"""

from __future__ import annotations

from .._events import StateDeltaEvent, StateSnapshotEvent
from ._context import Context
from ._json_patch import apply_patch, copy_json

__all__ = ["on_state_delta", "on_state_snapshot"]


def on_state_snapshot(ctx: Context, ev: StateSnapshotEvent) -> None:
    fields = ev.model_fields_set
    # `state` is the deprecated name of `snapshot`.
    snapshot = ev.snapshot if "snapshot" in fields or "state" not in fields else ev.state
    ctx.agent_state = copy_json(snapshot)
    _changed(ctx)


def on_state_delta(ctx: Context, ev: StateDeltaEvent) -> None:
    ctx.agent_state = apply_patch(ctx.agent_state, ev.delta, in_place=True)
    _changed(ctx)


def _changed(ctx: Context) -> None:
    on_state_change = ctx.listener.on_state_change
    if on_state_change is not None:
        on_state_change(ctx.agent_state)
