"""UI messages (what a chat shows) and model messages (what an LLM is sent).

``UIMessage`` mirrors TanStack AI's ``UIMessage``: an id, a role and an ordered
list of typed *parts* (text, thinking, tool calls, tool results, media). The
processor builds these from stream events and mutates parts in place on every
token, so the models deliberately do **not** validate on assignment: a field
write must stay a plain attribute store.

``ModelMessage`` is the flat, LLM-ready shape the server side hands to an agent
(``role``/``content``/``toolCalls``/``toolCallId``), see the ``_wire`` package for the
conversion rules.

JSON shape: camelCase keys, ``createdAt`` written like JavaScript's
``Date.prototype.toJSON`` (``2026-11-24T00:34:35.046Z``), optional fields that
are ``None`` omitted (as ``JSON.stringify`` omits ``undefined``). Two fields
differ: ``ModelMessage.content`` is always written (``null`` is meaningful), and
``ToolCallPart.output`` is written whenever it was *set*, even to ``None``: the
reference tells "no output yet" (``undefined``) from "the tool returned
``null``". Pydantic's ``model_fields_set`` records which fields were set, at
construction or by a later attribute write.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
)
from pydantic.alias_generators import to_camel

from ._exceptions import MessageValidationError

__all__ = [
    "AudioPart",
    "ContentPart",
    "DataSource",
    "DocumentPart",
    "ImagePart",
    "MediaPart",
    "MediaSource",
    "MessagePart",
    "MessageValidationError",
    "ModelMessage",
    "ModelToolCall",
    "ModelToolCallFunction",
    "Role",
    "TextPart",
    "ThinkingEntry",
    "ThinkingPart",
    "ToolCallApproval",
    "ToolCallPart",
    "ToolCallState",
    "ToolResultPart",
    "ToolResultState",
    "UIMessage",
    "UnknownPart",
    "UrlSource",
    "format_js_date",
    "format_location",
    "message_from_dict",
    "message_to_dict",
    "model_message_from_dict",
    "model_message_to_dict",
    "part_from_dict",
    "part_to_dict",
    "to_json_value",
    "validation_problems",
]

ToolCallState: TypeAlias = Literal[
    "awaiting-input",
    "input-streaming",
    "input-complete",
    "approval-requested",
    "approval-responded",
]
"""Life cycle of a tool-call part, in the order the processor drives it."""

ToolResultState: TypeAlias = Literal["streaming", "complete", "error"]
"""``streaming`` is declared by the reference but never produced."""

Role: TypeAlias = Literal["system", "user", "assistant"]

_PART_CONFIG = ConfigDict(
    alias_generator=to_camel,
    populate_by_name=True,
    # Unknown keys on a part (added by a newer server, or by the app) must survive
    # a parse/serialise round trip, because anchors echo parts back verbatim.
    extra="allow",
    validate_assignment=False,
)


class _WireModel(BaseModel):
    """Base for every message model: camelCase aliases, JS-like omission of unset optionals."""

    model_config = _PART_CONFIG

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready camelCase dict (see the module docstring for the omission rule)."""
        return _model_to_dict(self)


# --------------------------------------------------------------------------- media


class DataSource(_WireModel):
    """Inline media: ``value`` is base64 data."""

    type: Literal["data"] = "data"
    value: str
    mime_type: str


class UrlSource(_WireModel):
    """Media by reference: ``value`` is a URL."""

    type: Literal["url"] = "url"
    value: str
    mime_type: str | None = None


MediaSource: TypeAlias = Annotated[DataSource | UrlSource, Field(discriminator="type")]


class ImagePart(_WireModel):
    type: Literal["image"] = "image"
    source: MediaSource
    metadata: Any = None


class AudioPart(_WireModel):
    type: Literal["audio"] = "audio"
    source: MediaSource
    metadata: Any = None


class VideoPart(_WireModel):
    type: Literal["video"] = "video"
    source: MediaSource
    metadata: Any = None


class DocumentPart(_WireModel):
    type: Literal["document"] = "document"
    source: MediaSource
    metadata: Any = None


MediaPart: TypeAlias = ImagePart | AudioPart | VideoPart | DocumentPart
MEDIA_PART_TYPES: frozenset[str] = frozenset({"image", "audio", "video", "document"})

# --------------------------------------------------------------------------- parts


class TextPart(_WireModel):
    type: Literal["text"] = "text"
    content: str
    metadata: Any = None


class ThinkingPart(_WireModel):
    """Model reasoning. ``step_id`` links it to the STEP_* events that produced it."""

    type: Literal["thinking"] = "thinking"
    content: str
    step_id: str | None = None
    signature: str | None = None


class ToolCallApproval(_WireModel):
    """Human-in-the-loop approval attached to a tool call (``approved`` unset until answered)."""

    id: str
    needs_approval: bool = True
    approved: bool | None = None


class ToolCallPart(_WireModel):
    """A tool call. ``arguments`` is the raw (possibly still incomplete) JSON text.

    ``output`` distinguishes *absent* from ``None`` (JSON ``null``): use
    :attr:`has_output` to ask, :meth:`set_output` / :meth:`clear_output` to change it.
    A plain ``part.output = value`` also counts as setting it.
    """

    type: Literal["tool-call"] = "tool-call"
    id: str
    name: str
    arguments: str = ""
    state: ToolCallState = "awaiting-input"
    # Declared in the key order the reference's ``updateToolCallPart`` writes.
    approval: ToolCallApproval | None = None
    output: Any = None
    metadata: Any = None

    @property
    def has_output(self) -> bool:
        """True once an output was set, even if that output is ``None`` (JSON ``null``)."""
        return "output" in self.model_fields_set

    def set_output(self, value: Any) -> None:
        self.output = value  # the attribute write marks the field as set

    def clear_output(self) -> None:
        self.output = None
        self.model_fields_set.discard("output")


class ToolResultPart(_WireModel):
    type: Literal["tool-result"] = "tool-result"
    tool_call_id: str
    content: str
    state: ToolResultState = "complete"
    error: str | None = None


class UnknownPart(_WireModel):
    """A part of a type this library does not know, kept whole.

    Newer TanStack versions add part types (``structured-output``, ``ui-resource``, ...) and
    apps add their own; a message holding one must neither be refused nor lose its other
    parts. Every key is kept as it came (``type`` as the field, the rest as extras, under
    their wire names), so the part serialises back to the same JSON object. Nothing in this
    library reads or changes it.
    """

    type: str


PART_TYPES: frozenset[str] = frozenset(
    {"text", "image", "audio", "video", "document", "tool-call", "tool-result", "thinking"}
)
"""The part types this library knows (every other string ``type`` is an :class:`UnknownPart`)."""

_UNKNOWN_PART_TAG = "chatconduit:unknown-part"  # no real part type looks like this


def _part_tag(value: Any) -> str | None:
    """The union member for a part: its ``type`` when known, the opaque part for any other
    string; ``None`` (an error naming the missing tag) when there is no string ``type``."""
    kind = value.get("type") if isinstance(value, Mapping) else getattr(value, "type", None)
    if not isinstance(kind, str):
        return None
    if isinstance(value, UnknownPart) or kind not in PART_TYPES:
        return _UNKNOWN_PART_TAG
    return kind


MessagePart: TypeAlias = Annotated[
    Annotated[TextPart, Tag("text")]
    | Annotated[ThinkingPart, Tag("thinking")]
    | Annotated[ToolCallPart, Tag("tool-call")]
    | Annotated[ToolResultPart, Tag("tool-result")]
    | Annotated[ImagePart, Tag("image")]
    | Annotated[AudioPart, Tag("audio")]
    | Annotated[VideoPart, Tag("video")]
    | Annotated[DocumentPart, Tag("document")]
    | Annotated[UnknownPart, Tag(_UNKNOWN_PART_TAG)],
    Discriminator(
        _part_tag,
        custom_error_type="invalid_part",
        custom_error_message="a message part needs a string 'type'",
    ),
]
"""Any UIMessage part, discriminated on ``type``; a type not in :data:`PART_TYPES` is an
:class:`UnknownPart`."""

_PART_ADAPTER: TypeAdapter[MessagePart] = TypeAdapter(MessagePart)


class UIMessage(_WireModel):
    """A chat message as the UI holds it.

    Extra keys are kept (the wire serialiser echoes "all original fields"), but
    the processor only ever creates ``id``, ``role``, ``parts`` and ``created_at``.
    """

    id: str
    role: Role
    parts: list[MessagePart] = Field(default_factory=list)
    created_at: datetime | None = None


# --------------------------------------------------------------------------- model messages

ContentPart: TypeAlias = Annotated[
    TextPart | ImagePart | AudioPart | VideoPart | DocumentPart,
    Field(discriminator="type"),
]
"""A piece of multimodal ``ModelMessage.content``: text uses ``content``, like UI parts."""


class ModelToolCallFunction(_WireModel):
    name: str
    arguments: str


class ModelToolCall(_WireModel):
    """An OpenAI-style tool call: ``{id, type:'function', function:{name, arguments}}``."""

    id: str
    type: Literal["function"] = "function"
    function: ModelToolCallFunction
    metadata: Any = None


class ThinkingEntry(_WireModel):
    """Reasoning carried on an assistant ModelMessage (``signature`` for providers that sign it)."""

    content: str
    signature: str | None = None


class ModelMessage(_WireModel):
    """The LLM-ready message shape. ``content`` is always present (``None`` is meaningful).

    Extra keys (e.g. the AG-UI ``id`` or ``error`` of a passed-through tool message)
    are kept.
    """

    role: Literal["system", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ModelToolCall] | None = None
    tool_call_id: str | None = None
    thinking: list[ThinkingEntry] | None = None


# --------------------------------------------------------------------------- (de)serialisation

_ALWAYS, _IF_NOT_NONE, _IF_SET = 0, 1, 2
_PLANS: dict[type[BaseModel], tuple[tuple[str, str, int], ...]] = {}


def _field_plan(cls: type[BaseModel]) -> tuple[tuple[str, str, int], ...]:
    """(python name, JSON key, emit rule) per declared field, cached per class."""
    plan = _PLANS.get(cls)
    if plan is None:
        entries: list[tuple[str, str, int]] = []
        for name, info in cls.model_fields.items():
            key = info.alias or name
            if issubclass(cls, ToolCallPart) and name == "output":
                rule = _IF_SET  # absent and null are different things here
            elif issubclass(cls, ModelMessage) and name == "content":
                rule = _ALWAYS  # ``content: null`` is part of the shape
            elif info.is_required():
                rule = _ALWAYS
            else:
                rule = _IF_NOT_NONE
            entries.append((name, key, rule))
        plan = tuple(entries)
        _PLANS[cls] = plan
    return plan


def format_js_date(value: datetime) -> str:
    """``Date.prototype.toJSON``: UTC, milliseconds, ``Z``. Naive datetimes are taken as UTC."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}."
        f"{value.microsecond // 1000:03d}Z"
    )


def to_json_value(value: Any) -> Any:
    """Plain JSON data for ``value``: models become camelCase dicts, datetimes JS date strings."""
    if isinstance(value, BaseModel):
        return _model_to_dict(value)
    if isinstance(value, datetime):
        return format_js_date(value)
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    return value


def _model_to_dict(model: BaseModel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, key, rule in _field_plan(type(model)):
        value = getattr(model, name)
        if value is None and (
            rule == _IF_NOT_NONE or (rule == _IF_SET and name not in model.model_fields_set)
        ):
            continue
        out[key] = to_json_value(value)
    extra = model.__pydantic_extra__
    if extra:
        for key, value in extra.items():
            out[key] = to_json_value(value)
    return out


def part_to_dict(part: BaseModel) -> dict[str, Any]:
    """One part as its camelCase JSON dict."""
    return _model_to_dict(part)


def message_to_dict(message: UIMessage) -> dict[str, Any]:
    """A UIMessage as the camelCase dict ``JSON.stringify`` would produce for it."""
    return _model_to_dict(message)


def model_message_to_dict(message: ModelMessage) -> dict[str, Any]:
    return _model_to_dict(message)


_TYPE_LABELS = frozenset({"str", "int", "float", "bool", "list", "dict", "none", "bytes"})


def _is_union_label(elem: str, current: Any) -> bool:
    """Whether a ``loc`` element names a union member (``str``, ``list[...]``) or a tag.

    Real JSON keys here are camelCase identifiers found under a mapping; union
    labels are type names (``str``, ``TextPart``, ``list[tagged-union[...]]``) and
    discriminator values (``tool-call``).
    """
    if not isinstance(current, Mapping):
        return True  # nothing below a non-object can be a key
    if elem in current:
        return False
    return current.get("type") == elem or "[" in elem or elem[:1].isupper() or elem in _TYPE_LABELS


def format_location(prefix: str, loc: tuple[int | str, ...], data: Any) -> str:
    """A JSON path (``messages[2].parts[0].content``) for a pydantic error location.

    Pydantic puts union member labels and tagged-union discriminators into ``loc``
    (``('parts', 0, 'tool-call', 'id')``, ``('content', 'str')``); walking the input
    alongside lets us recognise and drop them, so the path names only JSON keys.
    """
    path = prefix
    current = data
    for elem in loc:
        if isinstance(elem, int):
            path += f"[{elem}]"
            current = current[elem] if isinstance(current, list) and elem < len(current) else None
            continue
        if _is_union_label(elem, current) and path:
            continue
        path = f"{path}.{elem}" if path else elem
        current = current.get(elem) if isinstance(current, Mapping) else None
    return path


def validation_problems(exc: ValidationError, prefix: str, data: Any) -> list[tuple[str, str]]:
    """``(path, problem)`` pairs for a pydantic error, input values never echoed.

    Alternatives of one union fail at the same path; their problems are joined.
    """
    merged: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False, include_input=False):
        where = format_location(prefix, tuple(err["loc"]), data)
        problems = merged.setdefault(where, [])
        if err["msg"] not in problems:
            problems.append(err["msg"])
    return [(where, "; or ".join(problems)) for where, problems in merged.items()]


def _reraise(exc: ValidationError, what: str, where: str, data: Any) -> MessageValidationError:
    problems = validation_problems(exc, where, data)
    text = "; ".join(f"{loc}: {problem}" for loc, problem in problems)
    return MessageValidationError(f"invalid {what}: {text}", problems)


def message_from_dict(data: Mapping[str, Any], *, where: str = "message") -> UIMessage:
    """Parse a camelCase (or snake_case) dict into a UIMessage.

    Raises :class:`MessageValidationError` naming the offending path
    (``message.parts[1].content: ...``).
    """
    try:
        return UIMessage.model_validate(data)
    except ValidationError as exc:
        raise _reraise(exc, "UIMessage", where, data) from None


def part_from_dict(
    data: Mapping[str, Any], *, where: str = "part", keep_unknown: bool = False
) -> MessagePart:
    """Parse one part dict (discriminated on ``type``); errors name the bad path.

    A part of a type this library does not know is refused unless ``keep_unknown``: a
    single part is what a caller is writing now, where an unknown type is most likely a
    typo. (Parts inside a whole message - a stored history, a snapshot - are kept as
    :class:`UnknownPart`: they come from elsewhere and must round-trip.)
    """
    kind = data.get("type") if isinstance(data, Mapping) else None
    if not keep_unknown and isinstance(kind, str) and kind not in PART_TYPES:
        known = ", ".join(repr(t) for t in sorted(PART_TYPES))
        problem = f"unknown part type {kind!r} (known: {known})"
        raise MessageValidationError(
            f"invalid message part: {where}.type: {problem}", [(f"{where}.type", problem)]
        )
    try:
        return _PART_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise _reraise(exc, "message part", where, data) from None


def model_message_from_dict(data: Mapping[str, Any], *, where: str = "message") -> ModelMessage:
    try:
        return ModelMessage.model_validate(data)
    except ValidationError as exc:
        raise _reraise(exc, "ModelMessage", where, data) from None
