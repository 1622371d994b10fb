"""The wire-model base classes and the key-order memory.

``WireModel`` (camelCase aliases, strict, extras kept, canonical ``__wire_order__``),
``NestedWireModel`` (objects inside events, which remember their own key order while being
validated) and ``BaseEvent``. The key order a parsed model arrived in lives in a slot outside
pydantic's state; ``_get_wire_keys``/``_set_wire_keys`` reach it without going through
pydantic, and ``_arrival_order`` reads it lazily from a stored payload.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import attrgetter
from types import GetSetDescriptorType, MappingProxyType, MemberDescriptorType, UnionType
from typing import TYPE_CHECKING, Any, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ModelWrapValidatorHandler, model_validator
from pydantic.alias_generators import to_camel

from .. import _json
from ._types import JSNumber

# The name of the slot holding the wire key order of a parsed model (a tuple of keys, or the
# JSON payload it was parsed from, read on first encode). It lives outside pydantic's state
# on purpose: ``==``, ``model_copy`` and pickling ignore it.
_WIRE_KEYS_SLOT = "_cc_wire_keys"


class WireModel(BaseModel):
    """Common base of the events and their nested objects: camelCase wire, strict, extras kept."""

    __slots__ = (_WIRE_KEYS_SLOT,)

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        strict=True,
    )

    # Canonical key order, as python field names. Fields not listed follow in declaration order.
    __wire_order__: ClassVar[tuple[str, ...]] = ()
    # Filled in by __pydantic_init_subclass__: (field name, wire key) pairs in canonical
    # order, and the reverse map used when following a parsed event's own order.
    _cc_pairs: ClassVar[tuple[tuple[str, str], ...]] = ()
    _cc_alias_to_name: ClassVar[dict[str, str]] = {}
    _cc_renamed: ClassVar[frozenset[str]] = frozenset()  # fields whose wire key differs
    _cc_nested: ClassVar[bool] = False  # True for objects inside events (they have no ``type``)
    # (field name, wire key) of fields that may hold a list of wire models (AG-UI's ``usage``
    # list): the encoder writes JSON leaves as they are, so it converts these lists itself.
    _cc_model_lists: ClassVar[tuple[tuple[str, str], ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        fields = {name: info for name, info in cls.model_fields.items() if name != "type"}
        names = [n for n in cls.__wire_order__ if n in fields]
        unknown = set(cls.__wire_order__) - set(fields) - {"type"}
        if unknown:  # a typo here would silently reorder output; fail at import instead
            raise TypeError(f"{cls.__name__}.__wire_order__ names unknown fields {sorted(unknown)}")
        names += [n for n in fields if n not in names]
        cls._cc_pairs = tuple((n, fields[n].alias or n) for n in names)
        cls._cc_alias_to_name = {alias: name for name, alias in cls._cc_pairs}
        cls._cc_renamed = frozenset(name for name, alias in cls._cc_pairs if name != alias)
        cls._cc_model_lists = tuple(
            (name, alias)
            for name, alias in cls._cc_pairs
            if _holds_model_list(fields[name].annotation)
        )


def _holds_model_list(annotation: Any) -> bool:
    """Whether a field annotation has a ``list[<WireModel>]`` member (``Usage | list[Usage]``)."""
    if get_origin(annotation) is list:
        args = get_args(annotation)
        return bool(args) and isinstance(args[0], type) and issubclass(args[0], WireModel)
    if isinstance(annotation, UnionType) or get_origin(annotation) is Union:
        return any(_holds_model_list(arg) for arg in get_args(annotation))
    return False


class NestedWireModel(WireModel):
    """An object nested inside an event (``usage``, ``error``). It remembers its own key order
    while being validated: the event-level bookkeeping in :func:`parse_event` only sees the top
    level. Events do not use this validator; it would cost every event a Python call."""

    _cc_nested: ClassVar[bool] = True

    @model_validator(mode="wrap")
    @classmethod
    def _remember_key_order(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        model = handler(data)
        if type(data) is dict and model is not data:
            object.__setattr__(model, _WIRE_KEYS_SLOT, tuple(data))
        return model


class BaseEvent(WireModel):
    """Fields every event may carry. ``model`` is a TanStack addition (the LLM's name);
    ``metadata`` is AG-UI's free-form object, where TanStack 0.58 keeps its own extras
    under ``tanstack`` (read them with :attr:`tanstack_metadata`)."""

    type: str
    timestamp: JSNumber | None = None
    model: str | None = None
    raw_event: Any = None
    metadata: dict[str, Any] | None = None

    if not TYPE_CHECKING:  # for mypy, a missing attribute stays an error

        def __getattr__(self, item: str) -> Any:
            # An event built by hand from a plain payload (``_hand_built``) starts without
            # pydantic's per-instance state, which that path would otherwise spend a third
            # of its time setting; the first read fills it in from the kept payload.
            if item in _PYDANTIC_STATE and _fill_hand_built_state(self):
                return object.__getattribute__(self, item)
            return super().__getattr__(item)

    @property
    def tanstack_metadata(self) -> Mapping[str, Any]:
        """``metadata.tanstack`` (TanStack 0.58's extras: ``finishReason``, ``model``,
        ``toolCallName``, ``input``, ``stepId``, ...), or an empty mapping when there is none.

        Parsing already copies the extras this event class has a field for onto that field
        when the top-level key is absent (see ``_tanstack``); this is the whole object.
        """
        return tanstack_of(self.metadata)


_EMPTY: Mapping[str, Any] = MappingProxyType({})


def tanstack_of(metadata: Any) -> Mapping[str, Any]:
    """``metadata["tanstack"]`` when both are JSON objects, else an empty mapping (``metadata``
    is free-form: anything else is no TanStack data rather than an error)."""
    if type(metadata) is dict:
        tanstack = metadata.get("tanstack")
        if type(tanstack) is dict:
            return tanstack
    return _EMPTY


# Going through the slot's descriptor skips BaseModel.__setattr__/__getattr__ (and pydantic's
# state); an unset slot raises AttributeError from the getter. The slot holds the arrival key
# order as a tuple, or - for events from the JSON fast path - the payload itself, from which
# the order is read the first time the event is encoded (see _arrival_order).
_wire_keys_slot = WireModel.__dict__[_WIRE_KEYS_SLOT]
_get_wire_keys: Callable[[Any], tuple[str, ...] | bytes | str] = _wire_keys_slot.__get__
_set_wire_keys: Callable[[Any, tuple[str, ...] | bytes | str], None] = _wire_keys_slot.__set__

# Key orders seen on the wire, shared: a producer writes every event of a type in the same
# order, so one tuple per shape replaces one per event. Bounded, since the wire is not trusted.
_KEY_ORDERS: dict[tuple[str, ...], tuple[str, ...]] = {}
_KEY_ORDERS_MAX = 1024


def _key_order(keys: tuple[str, ...]) -> tuple[str, ...]:
    if len(_KEY_ORDERS) > _KEY_ORDERS_MAX:
        _KEY_ORDERS.clear()
    return _KEY_ORDERS.setdefault(keys, keys)


def _arrival_order(payload: bytes | str) -> tuple[str, ...]:
    """The top-level keys of a payload the fast path accepted, in order (type included).

    The fast path only accepts what :func:`_json.loads` parses to the same values (see
    ``_fast._js_safe``), so this parse sees the same keys; ``()`` (canonical order) is only a
    guard.
    """
    try:
        obj = _json.loads(payload)
    except ValueError:  # pragma: no cover - the fast path accepted it, so it is JSON
        return ()
    return _key_order(tuple(obj)) if type(obj) is dict else ()


# pydantic's per-instance state besides ``__dict__``: BaseModel slots, set by its validators.
_PYDANTIC_STATE = frozenset(
    {"__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__"}
)
# Their descriptors, and ``__dict__``'s. A pydantic that keeps this state elsewhere has no
# such slots: then no event is built by hand (``_hand_built`` also checks, at import, that
# what it builds equals what the validator makes).
_SLOTS: tuple[Any, ...] = tuple(
    BaseModel.__dict__.get(name)
    for name in (
        "__pydantic_fields_set__",
        "__pydantic_extra__",
        "__pydantic_private__",
        "__dict__",
    )
)
_fields_set_slot, _extra_slot, _private_slot, _dict_slot = _SLOTS
HAND_BUILDABLE = all(
    isinstance(slot, MemberDescriptorType)
    for slot in (_fields_set_slot, _extra_slot, _private_slot)
) and isinstance(_dict_slot, GetSetDescriptorType)
# The fields set a hand-built event's payload keys make, per class and key order (a
# producer writes every event of a type the same way, so this stays small).
_FIELDS_OF_KEYS: dict[tuple[type, tuple[str, ...]], frozenset[str]] = {}
# Reads the fields set without BaseEvent.__getattr__: raises AttributeError while unset.
_fields_set_of: Callable[[Any], set[str]] = (
    _fields_set_slot.__get__ if HAND_BUILDABLE else attrgetter("__pydantic_fields_set__")
)


def _fill_hand_built_state(event: BaseEvent) -> bool:
    """Give a hand-built event the state pydantic's validation would have given it; False
    for any other event (then a missing attribute is pydantic's business).

    Only called when one of those slots is unset, which after validation, ``model_copy``,
    ``model_construct`` or unpickling none is: so an event here is either a hand-built one,
    which keeps its payload, or one pydantic is still building, which has none yet. The
    hand-built path only takes payloads whose keys all name fields of the class and that
    carry no extras (see ``_hand_built``), so the fields set are the payload's keys, and the
    extras and private values are what validation sets for such an input.
    """
    if not HAND_BUILDABLE:
        return False
    try:
        wire = _get_wire_keys(event)
    except AttributeError:
        return False  # no payload: pydantic is still building this one
    if isinstance(wire, tuple):
        keys = wire
    else:  # read the key order once, for the encoder too (as it would do itself)
        keys = _arrival_order(wire)
        _set_wire_keys(event, keys)
    cls = type(event)
    fields = _FIELDS_OF_KEYS.get((cls, keys))
    if fields is None:
        if len(_FIELDS_OF_KEYS) > _KEY_ORDERS_MAX:  # bounded: the wire is not trusted
            _FIELDS_OF_KEYS.clear()
        names = cls._cc_alias_to_name
        fields = frozenset({"type", *(names[key] for key in keys if key in names)})
        _FIELDS_OF_KEYS[cls, keys] = fields
    _fields_set_slot.__set__(event, set(fields))
    _extra_slot.__set__(event, {})
    _private_slot.__set__(event, None)
    return True
