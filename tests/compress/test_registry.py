"""The compression registry: one record per method, from which the settings model, the CLI's
choices, the functions applied and the verdict's names and knobs all derive."""

from __future__ import annotations

import pytest
from cli_helpers import run_cli

from scalinglab.compress.method_settings import MethodSettings
from scalinglab.compress.registry import METHODS, REGISTRY, Method, method_label
from scalinglab.compress.settings import CompressConfig, compress_config, config_model
from scalinglab.errors import UserError


@pytest.mark.parametrize("method", REGISTRY, ids=lambda method: method.name)
def test_every_method_has_every_part(method: Method):
    from scalinglab.compress.methods import APPLY

    assert method.label and method.label != method.name
    assert callable(method.function()) and APPLY[method.name] is method.function()
    if method.settings is None:
        assert method.name not in CompressConfig.model_fields
        assert compress_config(None).settings_of(method.name) == [{}]
    else:
        assert CompressConfig.model_fields[method.name].annotation is method.settings
        assert compress_config(None).settings_of(method.name) == method.settings().combinations() != []
    if method.knob is not None:
        assert method.knob in method.settings.model_fields


def test_the_default_section_runs_every_method_in_registry_order():
    assert compress_config(None).methods == list(METHODS) == [method.name for method in REGISTRY]
    assert method_label("share") == "cross-layer block sharing"  # the verdict once named it "share"


@pytest.mark.slow
def test_the_cli_offers_every_method():
    help_text = run_cli("compress", "--help").stdout
    assert all(name in help_text for name in METHODS)


class SpliceSettings(MethodSettings):
    """A method that exists only in this test."""

    width: list[int] = [2, 3]
    finetune_epochs: list[int] = [0]


def test_adding_a_method_is_adding_one_record():
    splice = Method("splice", "weight splicing", "builtins:dict", SpliceSettings, knob="width")
    model = config_model((*REGISTRY, splice))
    config = compress_config({"splice": {"width": [5, 6]}}, methods=["prune", "splice"], model=model)
    assert config.methods == ["none", "prune", "splice"]  # the trained models: what every verdict compares against
    assert config.settings_of("splice") == [{"width": 5, "finetune_epochs": 0}, {"width": 6, "finetune_epochs": 0}]
    assert model.model_fields["methods"].default[-1] == "splice"
    with pytest.raises(UserError, match="compress.methods: unknown method 'splice'"):
        compress_config(None, methods=["splice"])  # the real registry does not have it


def test_the_trained_models_are_always_measured_for_every_verdict_compares_against_them():
    """`--methods prune,quantize` gave no verdict and a report saying "changes val_loss by +nan"."""
    assert compress_config(None, methods=["prune", "quantize"]).methods == ["none", "prune", "quantize"]
    assert compress_config({"methods": ["cluster"]}).methods == ["none", "cluster"]
    with pytest.raises(UserError, match="at least one method"):
        compress_config(None, methods=[])
