"""The field types and parsing rules every settings table shares: the sweep file (`config`) and
its `[compress]` section (`compress.settings`). Pure pydantic, no torch."""

from __future__ import annotations

import logging
import re
import tomllib
from typing import Annotated, Any, TypeVar

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


class Strict(BaseModel):
    """A settings table: unknown keys are errors, values are frozen and strictly typed."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


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


def first_problem(error: ValidationError) -> tuple[str, str]:
    """(dotted field, what is wrong with it) of the first problem pydantic found."""
    problem = error.errors()[0]
    location = ".".join(str(part) for part in problem["loc"] if not isinstance(part, int))
    message = problem["msg"].removeprefix("Value error, ")
    subfield = re.match(r"(\w+): (.*)", message)
    if problem["type"] == "value_error" and subfield:  # a table-level check naming one of its keys
        location, message = f"{location}.{subfield[1]}".lstrip("."), subfield[2]
    if problem["type"] == "extra_forbidden":
        message = "unknown key"
    given = problem.get("input")
    shown = f" (got {given!r})" if problem["type"] != "extra_forbidden" and not isinstance(given, dict) else ""
    return location, f"{message}{shown}"
