"""What to compress and with which settings: the `[compress]` section of a sweep file, also
given on the command line as `--set METHOD.KEY=VALUE`. Pure pydantic, no torch.

The section's tables are the methods' own settings (`compress.method_settings`), one per method
of the registry (`compress.registry`) that has any. Every setting is a list that is swept: each
method runs once per combination of its lists on every parent run. Invalid values are refused
before any work, naming the field.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ValidationError, create_model, model_validator

from scalinglab.compress.registry import REGISTRY, Method
from scalinglab.config_fields import Strict, apply_override, first_problem
from scalinglab.errors import UserError

NO_COMPRESSION = "none"  # the method that measures the trained model itself


class CompressSection(Strict):
    """The `[compress]` section: which methods, and (in the model `config_model` derives from the
    registry) each method's swept settings as a table named after it."""

    registry: ClassVar[tuple[Method, ...]] = ()  # the methods it knows (set by `config_model`)
    methods: list[str]

    @model_validator(mode="after")
    def _known_methods(self) -> CompressSection:
        known = [method.name for method in self.registry]
        if not self.methods:
            raise ValueError(f"methods: at least one method (known: {', '.join(known)})")
        for method in self.methods:
            if method not in known:
                raise ValueError(f"methods: unknown method {method!r} (known: {', '.join(known)})")
        return self

    @model_validator(mode="before")
    @classmethod
    def _with_the_trained_models(cls, raw: Any) -> Any:
        """The trained models themselves, measured the same way, are what every verdict compares
        a compression against: without them "--methods prune,quantize" gave no verdict, and the
        report "changes val_loss by +nan". A list of methods (not empty: that is refused) gets them."""
        methods = raw.get("methods") if isinstance(raw, dict) else None
        known = [method.name for method in cls.registry]
        if isinstance(methods, list) and methods and NO_COMPRESSION in known and NO_COMPRESSION not in methods:
            return {**raw, "methods": [NO_COMPRESSION, *methods]}
        return raw

    def settings_of(self, method: str) -> list[dict[str, Any]]:
        """Every combination of `method`'s swept settings, as dicts (one compression each); [{}]
        for a method with nothing to set."""
        settings = getattr(self, method, None)
        return settings.combinations() if settings is not None else [{}]


def config_model(registry: tuple[Method, ...]) -> type[CompressSection]:
    """The `[compress]` section's model for the methods of `registry`: `methods` (default: all of
    them, in order) and a settings table for each method that has settings."""
    tables = {method.name: (method.settings, method.settings()) for method in registry if method.settings is not None}
    model = create_model(
        "CompressConfig",
        __base__=CompressSection,
        __doc__=CompressSection.__doc__,
        methods=(list[str], [method.name for method in registry]),
        **tables,
    )
    model.registry = registry
    return model


CompressConfig = config_model(REGISTRY)


def compress_config(
    section: dict[str, Any] | None,
    overrides: list[str] = (),
    *,
    methods: list[str] | None = None,
    model: type[CompressSection] = CompressConfig,
) -> CompressSection:
    """Validate a `[compress]` section (None: defaults) with `--set KEY=VALUE` overrides and an
    explicit method list against `model`; UserError naming the field (compress.prune.sparsity)
    for anything invalid."""
    raw = dict(section or {})
    for override in overrides:
        apply_override(raw, override)
    if methods is not None:
        raw["methods"] = methods
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        location, problem = first_problem(error, model)
        raise UserError(f"compress.{location}: {problem}" if location else f"compress: {problem}") from None
