"""The client's lifecycle table and snapshot machinery, as pure logic."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from chatconduit import (
    ChatConnectionStatus,
    ChatSnapshot,
    ChatStatus,
    ClientStateError,
    TextPart,
    ToolCallApproval,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
)
from chatconduit._client._freezing import MessageFreezer
from chatconduit._client._state import TRANSITIONS, Lifecycle, Trigger, UpdateHub

R, SUB, STR, ERR = ChatStatus.READY, ChatStatus.SUBMITTED, ChatStatus.STREAMING, ChatStatus.ERROR


def test_the_transition_table() -> None:
    assert dict(TRANSITIONS) == {
        (R, Trigger.SEND): SUB,
        (ERR, Trigger.SEND): SUB,
        (SUB, Trigger.RECEIVE): STR,
        (SUB, Trigger.CONTINUE): SUB,
        (STR, Trigger.CONTINUE): SUB,
        (SUB, Trigger.FINISH): R,
        (STR, Trigger.FINISH): R,
        (SUB, Trigger.FAIL): ERR,
        (STR, Trigger.FAIL): ERR,
        (R, Trigger.FAIL): ERR,
        (ERR, Trigger.FAIL): ERR,
        (SUB, Trigger.STOP): R,
        (STR, Trigger.STOP): R,
        (R, Trigger.RESET): R,
        (ERR, Trigger.RESET): R,
    }


@pytest.mark.parametrize(
    ("status", "trigger"),
    [(s, t) for s, t in itertools.product(ChatStatus, Trigger) if (s, t) not in TRANSITIONS],
)
def test_every_other_transition_raises(status: ChatStatus, trigger: Trigger) -> None:
    machine = Lifecycle()
    machine._status = status
    with pytest.raises(ClientStateError, match=f"{trigger.value!r} while {status.value!r}"):
        machine.fire(trigger)
    assert machine.status is status  # unchanged


def test_loading_is_derived_from_the_status() -> None:
    machine = Lifecycle()
    assert machine.fire(Trigger.SEND) == (R, SUB) and machine.is_loading
    assert machine.fire(Trigger.RECEIVE) == (SUB, STR) and machine.is_loading
    assert machine.fire(Trigger.CONTINUE) == (STR, SUB) and machine.is_loading
    assert machine.fire(Trigger.FAIL) == (SUB, ERR) and not machine.is_loading
    assert machine.can(Trigger.SEND) and not machine.can(Trigger.RECEIVE)


# ---------------------------------------------------------------- MessageFreezer


def _conversation() -> list[UIMessage]:
    return [
        UIMessage(id="u", role="user", parts=[TextPart(content="Hi")]),
        UIMessage(
            id="a",
            role="assistant",
            parts=[
                TextPart(content="Let me"),
                ToolCallPart(id="c", name="t", arguments="{}", approval=ToolCallApproval(id="ap")),
            ],
        ),
    ]


def _append(part: TextPart, text: str) -> None:
    # What the processor does: grow the part's string in place.
    s = part.__dict__["content"]
    part.__dict__["content"] = ""
    s += text
    part.__dict__["content"] = s


def test_unchanged_messages_reuse_their_copies() -> None:
    live = _conversation()
    freezer = MessageFreezer()
    first, cost1 = freezer.freeze(live)
    second, cost2 = freezer.freeze(live)
    assert all(a is b for a, b in zip(first, second, strict=True))
    assert first[0] is not live[0] and first[0] == live[0]
    assert cost2 == 2 + 3  # one per message and part, nothing copied
    assert cost1 == cost2 + len("Hi") + len("Let me") + len("{}")


def test_text_growth_is_copied_and_older_snapshots_keep_their_text() -> None:
    live = _conversation()
    freezer = MessageFreezer()
    before, _ = freezer.freeze(live)
    text = live[1].parts[0]
    assert isinstance(text, TextPart)
    _append(text, " check.")
    after, cost = freezer.freeze(live)
    assert after[0] is before[0]  # the user message did not change
    assert after[1] is not before[1]
    assert after[1].parts[1] is before[1].parts[1]  # nor did the tool call
    assert before[1].parts[0].content == "Let me"  # type: ignore[union-attr]
    assert after[1].parts[0].content == "Let me check."  # type: ignore[union-attr]
    assert cost == 5 + len("Let me check.")


def test_in_place_changes_of_nested_models_and_replacements_are_seen() -> None:
    live = _conversation()
    freezer = MessageFreezer()
    before, _ = freezer.freeze(live)
    call = live[1].parts[1]
    assert isinstance(call, ToolCallPart) and call.approval is not None
    call.approval.approved = True  # the processor mutates the approval in place
    after, _ = freezer.freeze(live)
    assert after[1].parts[1].approval.approved is True  # type: ignore[union-attr]
    assert before[1].parts[1].approval.approved is None  # type: ignore[union-attr]
    call.set_output({"x": 1})
    live[1].parts.append(ToolResultPart(tool_call_id="c", content="1"))
    live[1].id = "renamed"
    third, _ = freezer.freeze(live)
    assert third[1].id == "renamed" and len(third[1].parts) == 3
    assert third[1].parts[1].output == {"x": 1}  # type: ignore[union-attr]
    assert not before[1].parts[1].has_output  # type: ignore[union-attr]


def test_removed_and_new_messages() -> None:
    live = _conversation()
    freezer = MessageFreezer()
    freezer.freeze(live)
    del live[0]
    live.append(UIMessage(id="n", role="user", parts=[]))
    frozen, _ = freezer.freeze(live)
    assert [m.id for m in frozen] == ["a", "n"]


# ---------------------------------------------------------------- UpdateHub


def _snapshot(version: int) -> ChatSnapshot:
    return ChatSnapshot(
        version=version,
        messages=(),
        status=R,
        error=None,
        connection_status=ChatConnectionStatus.DISCONNECTED,
        session_generating=False,
    )


class CostlyBuilder:
    def __init__(self, cost: int) -> None:
        self.cost = cost
        self.calls = 0

    def __call__(self, version: int) -> tuple[ChatSnapshot, int]:
        self.calls += 1
        return _snapshot(version), self.cost


def test_builds_are_rationed_by_growth_urgency_and_time() -> None:
    builder = CostlyBuilder(cost=800)
    hub = UpdateHub(amortization=8)
    first = hub._next_for(-1, 1e9, builder)
    assert isinstance(first, ChatSnapshot) and builder.calls == 1  # nothing built yet: free
    hub.growth += 50  # 50 * 8 < 800
    hub.changed()
    assert isinstance(hub._next_for(first.version, 1e9, builder), float)
    assert builder.calls == 1
    hub.growth += 50  # 100 * 8 >= 800
    hub.changed()
    second = hub._next_for(first.version, 1e9, builder)
    assert isinstance(second, ChatSnapshot) and builder.calls == 2
    hub.changed(urgent=True)  # no growth, but urgent
    third = hub._next_for(second.version, 1e9, builder)
    assert isinstance(third, ChatSnapshot) and builder.calls == 3
    hub.changed()
    assert isinstance(hub._next_for(third.version, 0.0, builder), ChatSnapshot)  # waited enough
    assert hub.builds == 4 and hub.build_cost == 4 * 800


async def test_updates_iterator_waits_coalesces_and_ends() -> None:
    hub = UpdateHub()
    updates = hub.subscribe(CostlyBuilder(cost=1), max_latency=0.05)
    first = await anext(updates)
    waiting = asyncio.ensure_future(anext(updates))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # nothing changed: it waits
    for _ in range(5):
        hub.growth += 1
        hub.changed()
    second = await asyncio.wait_for(waiting, 1)
    assert second.version == first.version + 5  # one item for five changes
    hub.close()
    with pytest.raises(StopAsyncIteration):
        await anext(updates)
    assert hub.has_subscribers is False


async def test_closing_an_iterator_wakes_its_waiting_anext() -> None:
    hub = UpdateHub()
    updates = hub.subscribe(CostlyBuilder(cost=1), max_latency=1.0)
    await anext(updates)
    waiting = asyncio.ensure_future(anext(updates))
    await asyncio.sleep(0)
    await updates.aclose()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, 1)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="amortization"):
        UpdateHub(amortization=0)
    with pytest.raises(ValueError, match="max_latency"):
        UpdateHub().subscribe(CostlyBuilder(1), -1)
