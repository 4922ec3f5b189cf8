from pathlib import Path

import pytest

from scalinglab.config import load_config
from scalinglab.errors import UserError


def test_builtin_quickstart_is_valid():
    config = load_config()
    assert config.model.family == "mlp"
    assert config.model.axes()["width"] == [2, 4, 8, 16, 32, 64, 128]


def test_scalar_and_list_both_mean_sweep_values(tmp_path: Path):
    path = tmp_path / "s.toml"
    path.write_text('[model]\nfamily = "mlp"\nwidth = 8\ndepth = [1, 2]\n[training]\nepochs = 3\n')
    config = load_config(path)
    assert config.model.axes() == {"width": [8], "depth": [1, 2]}
    assert config.training.epochs == [3]


def test_set_overrides_parse_toml_values():
    config = load_config(None, ["training.epochs=5", "model.width=[4,8]", "training.schedule=constant"])
    assert config.training.epochs == [5]
    assert config.model.axes()["width"] == [4, 8]
    assert config.training.schedule == "constant"


@pytest.mark.parametrize(
    "override, message",
    [
        ("training.epochz=3", "training.epochz: unknown key"),
        ("training.epochs='many'", "training.epochs"),
        ("model.width=[8, 0]", "model.width: must be a positive integer"),
        ("model.height=[8]", "--set model.height: not a size axis of family 'mlp'"),
        ("data.preprocessing='whiten'", "data.preprocessing"),
    ],
)
def test_bad_fields_name_the_field(override: str, message: str):
    with pytest.raises(UserError, match=message.replace("[", r"\[")):
        load_config(None, [override])


def test_missing_file_is_a_user_error(tmp_path: Path):
    with pytest.raises(UserError, match="no such file"):
        load_config(tmp_path / "absent.toml")
