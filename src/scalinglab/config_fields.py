"""The field types and parsing rules every settings table shares: the sweep file (`config`) and
its `[compress]` section (`compress.settings`). Pure pydantic, no torch."""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, TypeVar, Union, get_args

import tomllib
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from scalinglab.errors import UserError

T = TypeVar("T")
logger = logging.getLogger("scalinglab.config")


def as_list(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


def distinct(values: list[Any], field: str) -> list[Any]:
    """`values` without repeats (first occurrence kept), with a warning for each value listed twice."""
    kept: list[Any] = []
    for value in values:
        if value in kept:
            logger.warning("%s: %r is listed twice; it runs once", field, value)
        else:
            kept.append(value)
    return kept


# A field that may hold one value or a list of values to sweep over; always a list once validated
# (never empty; a value listed twice is kept once, with a warning).
Sweep = Annotated[
    list[T],
    BeforeValidator(as_list),
    Field(min_length=1),
    AfterValidator(lambda values, info: distinct(values, info.field_name)),
]


def sweep_file_fields(
    spec: type[BaseModel], *, sweepable: Iterable[str] = (), also: Mapping[str, Any] | None = None
) -> dict[str, tuple[Any, Any]]:
    """The fields of a sweep-file table that takes every field of `spec` (a run's settings), as
    `pydantic.create_model` takes them: each with `spec`'s name, type, constraints and default; one
    in `sweepable` may also be a list to sweep (`Sweep`), its default a list of that one value.
    `also`: more values a field takes in the sweep file only, e.g. {"lr": Literal["auto"]}. A
    sweepable field whose default is None (data.train_size: everything available) stays None when
    omitted, and a list of it holds values only."""
    also = also or {}
    fields = {}
    for name, info in spec.model_fields.items():
        optional = name in sweepable and info.default is None
        annotation = _without_none(info.annotation) if optional else info.annotation
        value_type = Annotated[(annotation, *info.metadata)] if info.metadata else annotation
        if name in also:
            value_type = Union[value_type, also[name]]  # noqa: UP007  (a runtime union of typing forms)
        if optional:
            fields[name] = (Sweep[value_type] | None, None)
        else:
            fields[name] = (Sweep[value_type], [info.default]) if name in sweepable else (value_type, info.default)
    return fields


def _without_none(annotation: Any) -> Any:
    """`int | None` -> int: the type of a value, where None means the setting is left out."""
    members = tuple(member for member in get_args(annotation) if member is not type(None))
    return Union[members]  # noqa: UP007  (a runtime union of typing forms)


class Strict(BaseModel):
    """A settings table: unknown keys are errors, values are frozen and strictly typed, and no
    number is inf or nan (training.lr = inf trained four diverged runs)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def apply_override(raw: dict[str, Any], override: str) -> str:
    """Set one dotted key, e.g. 'training.epochs=5' (the value parsed as a TOML value); return the key."""
    dotted, sep, text = override.partition("=")
    if not sep or not dotted.strip():
        raise UserError(f"--set {override}: expected KEY=VALUE, e.g. training.epochs=5")
    *parents, leaf = dotted.strip().split(".")
    node = raw
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise UserError(f"--set {override}: '{key}' is not a table")
    node[leaf] = _parse_value(text.strip())
    return dotted.strip()


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word such as cosine or auto


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """ " (did you mean 'epochs'?)" naming the known names closest to a mistyped `name`; "" when none is close."""
    close = difflib.get_close_matches(name, list(known), n=2)
    return f" (did you mean {' or '.join(repr(match) for match in close)}?)" if close else ""


def first_problem(error: ValidationError, model: type[BaseModel] | None = None) -> tuple[str, str]:
    """(dotted field, what is wrong with it) of the first problem pydantic found while validating
    `model`, which names the keys an unknown key may be a typo of."""
    problems = error.errors()
    problem = problems[0]
    location = _field_of(problem)
    message = problem["msg"].removeprefix("Value error, ")
    # A union (execution.batch: "auto", "off" or a count > 0) fails once per member: say every way
    # the value may be given, not only the first ("Input should be 'auto' or 'off'" of batch = 0).
    # The same value's other failures only: the same place, list index included (training.lr =
    # [-1, "x"] fails at two items, which are no alternatives of each other), each said once.
    alternatives = list(
        dict.fromkeys(
            other["msg"].removeprefix("Value error, ")
            for other in problems[1:]
            if _place_of(other) == _place_of(problem)
            and other["msg"] != problem["msg"]
            and other["type"] != "extra_forbidden"
        )
    )
    if problem["type"] != "extra_forbidden" and alternatives:
        message = ", or ".join([message, *(text[0].lower() + text[1:] for text in alternatives)])
    subfield = re.match(r"([\w.]+): (.*)", message)
    if problem["type"] == "value_error" and subfield:  # a table-level check naming one of its keys
        location, message = f"{location}.{subfield[1]}".lstrip("."), subfield[2]
    if problem["type"] == "extra_forbidden":
        *table, key = [str(part) for part in problem["loc"] if not _union_tag(str(part))]
        message = f"unknown key{did_you_mean(key, _keys_of(model, table))}"
    given = problem.get("input")
    shown = f" (got {given!r})" if problem["type"] != "extra_forbidden" and not isinstance(given, dict) else ""
    return location, f"{message}{shown}"


def _field_of(problem: dict) -> str:
    """The dotted field a pydantic problem is about. Neither a list index nor the tag pydantic gives
    a union's member (`literal['family']`, `constrained-float`: "training.lr.constrained-float" was
    printed) is a field."""
    return ".".join(str(part) for part in _place_of(problem) if not isinstance(part, int))


def _place_of(problem: dict) -> tuple:
    """Where exactly a pydantic problem is, list indices included, union members' tags left out."""
    return tuple(part for part in problem["loc"] if isinstance(part, int) or not _union_tag(str(part)))


_UNION_TAG_PREFIXES = ("constrained-", "function-", "lax-or-strict", "json-or-python", "nullable", "tagged-union")


def _union_tag(part: str) -> bool:
    """Whether a location part is pydantic's name for a union member, not a field."""
    return "[" in part or part.startswith(_UNION_TAG_PREFIXES)


def _keys_of(model: type[BaseModel] | None, table: list[str]) -> list[str]:
    """The keys of the table at `table` (a path of field names) inside `model`; [] when unknown."""
    for name in table:
        field = model.model_fields.get(name) if model is not None else None
        model = _table_in(field.annotation) if field is not None else None
    return list(model.model_fields) if model is not None else []


def _table_in(annotation: Any) -> type[BaseModel] | None:
    """The settings table a field holds (`TeacherConfig | None` holds TeacherConfig), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((table for argument in get_args(annotation) if (table := _table_in(argument))), None)
