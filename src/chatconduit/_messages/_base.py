"""The base of every message model and how one becomes JSON data. JSON shape: camelCase
keys, ``createdAt`` written like JavaScript's ``Date.prototype.toJSON``
(``2026-11-24T00:34:35.046Z``), optional fields that are ``None`` omitted (as
``JSON.stringify`` omits ``undefined``). Two fields differ: ``ModelMessage.content`` is
always written (``null`` is meaningful), and ``ToolCallPart.output`` is written whenever
it was *set*, even to ``None``: the reference tells "no output yet" (``undefined``) from
"the tool returned ``null``". Pydantic's ``model_fields_set`` records which fields were
set, at construction or by a later attribute write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = ["MessageModel", "format_js_date", "model_to_dict", "to_json_value"]

_PART_CONFIG = ConfigDict(
    alias_generator=to_camel,
    populate_by_name=True,
    # Unknown keys on a part (added by a newer server, or by the app) must survive
    # a parse/serialise round trip, because anchors echo parts back verbatim.
    extra="allow",
    validate_assignment=False,
)


class MessageModel(BaseModel):
    """Base for every message model: camelCase aliases, JS-like omission of unset optionals.

    The models deliberately do **not** validate on assignment: the processor mutates
    parts in place on every token, so a field write must stay a plain attribute store.
    """

    model_config = _PART_CONFIG

    # The two exceptions to the omission rule (see the module docstring), declared by the
    # classes they concern so that writing a dict need not know every model.
    _written_when_none: ClassVar[frozenset[str]] = frozenset()
    _written_when_set: ClassVar[frozenset[str]] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready camelCase dict (see the module docstring for the omission rule)."""
        return model_to_dict(self)


_ALWAYS, _IF_NOT_NONE, _IF_SET = 0, 1, 2
_PLANS: dict[type[BaseModel], tuple[tuple[str, str, int], ...]] = {}


def _field_plan(cls: type[BaseModel]) -> tuple[tuple[str, str, int], ...]:
    """(python name, JSON key, emit rule) per declared field, cached per class."""
    plan = _PLANS.get(cls)
    if plan is None:
        always: frozenset[str] = getattr(cls, "_written_when_none", frozenset())
        if_set: frozenset[str] = getattr(cls, "_written_when_set", frozenset())
        entries: list[tuple[str, str, int]] = []
        for name, info in cls.model_fields.items():
            key = info.alias or name
            if name in if_set:
                rule = _IF_SET  # absent and null are different things here
            elif name in always:
                rule = _ALWAYS  # ``null`` is part of the shape
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
    # 2026-12-06T03:27:46.859+00:00 (milliseconds truncated, as JS has them) -> ...859Z
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"


def to_json_value(value: Any) -> Any:
    """Plain JSON data for ``value``: models become camelCase dicts, datetimes JS date strings."""
    if isinstance(value, BaseModel):
        return model_to_dict(value)
    if isinstance(value, datetime):
        return format_js_date(value)
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    return value


def model_to_dict(model: BaseModel) -> dict[str, Any]:
    """A model as its camelCase JSON dict (the module docstring gives the omission rule)."""
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
