from pathlib import Path

import pytest

from scalinglab.config import config_from_dict, load_config
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
        ("training.lr=-1", "--set training.lr: Input should be greater than 0"),  # not "lr.constrained-float"
        ("training.lr=[-1, 0.1]", "--set training.lr: Input should be greater than 0"),
        # a union says every way it may be given, not only its first member's
        (
            "execution.batch=0",
            "--set execution.batch: Input should be 'auto' or 'off', or input should be greater than 0",
        ),
    ],
)
def test_bad_fields_name_the_field(override: str, message: str):
    with pytest.raises(UserError, match=message.replace("[", r"\[")):
        load_config(None, [override])


@pytest.mark.parametrize(
    ("override", "line"),
    [
        ("training.epochz=3", "--set training.epochz: unknown key (did you mean 'epochs'?)"),
        ("trainig.epochs=3", "--set trainig.epochs: unknown key (did you mean 'training'?)"),
        ("data.teacher.widht=3", "--set data.teacher.widht: unknown key (did you mean 'width'?)"),
        (
            "model.widht=8",
            "--set model.widht: not a size axis of family 'mlp' (known: width, depth) (did you mean 'width'?)",
        ),
        ("training.zzz=3", "--set training.zzz: unknown key"),
    ],
)
def test_an_unknown_key_or_axis_suggests_the_closest_known_name(override: str, line: str):
    with pytest.raises(UserError) as raised:
        load_config(None, [override])
    assert str(raised.value) == line


def test_missing_file_is_a_user_error(tmp_path: Path):
    with pytest.raises(UserError, match="no such file"):
        load_config(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    "override",
    [
        "data.train_size=true",
        "training.epochs=true",
        "training.epochs=5.0",
        "training.lr='0.1'",
        "seeds=[true]",
        "data.teacher.width=true",
        "execution.workers=false",
        "model.width=[]",
        "data.source='nope'",
    ],
)
def test_strict_types_and_empty_lists_are_refused_and_blamed_on_the_set(override: str):
    key = override.partition("=")[0]
    with pytest.raises(UserError, match=rf"^--set {key}: "):
        load_config(None, [*(["data.source='teacher'"] if "teacher" in key else []), override])


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ('[data]\nsource = "digits"\npath = "x.csv"\n', "data.path"),
        ('[data]\nsource = "teacher"\nlabel_column = "y"\n', "data.label_column"),
        ('[data]\nsource = "stdlib"\ncv_folds = 3\n[model]\nfamily = "transformer"\n', "data.cv_folds"),
        ('[model]\nfamily = "nope"\n', "model.family"),
    ],
)
def test_a_field_that_does_not_apply_names_the_file_and_field(tmp_path: Path, lines: str, field: str):
    path = tmp_path / "s.toml"
    path.write_text(lines)
    with pytest.raises(UserError, match=rf"^{path}: {field}: "):
        load_config(path)


def test_relative_data_path_is_read_from_the_sweep_files_folder(tmp_path: Path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "s.toml").write_text('[data]\nsource = "csv"\npath = "data/d.csv"\n')
    monkeypatch.chdir(tmp_path)
    assert load_config(Path("project/s.toml")).data.path == "project/data/d.csv"
    monkeypatch.chdir(folder)  # run beside the file: the path, hence every run key, is as written
    assert load_config(Path("s.toml")).data.path == "data/d.csv"
    assert load_config(Path("s.toml"), ["data.path='other.csv'"]).data.path == "other.csv"  # --set: from here


def test_a_value_listed_twice_runs_once_with_a_warning(caplog):
    from scalinglab.sweeper.plan import plan_runs, planned_total

    config = load_config(None, ["seeds=[0, 0]", "model.width=[8, 8]", "data.train_size=[100]"])
    assert config.seeds == [0]
    assert planned_total(config) == len(plan_runs(config)) == 1
    assert "seeds: 0 is listed twice" in caplog.text and "width: 8 is listed twice" in caplog.text


@pytest.mark.parametrize(
    "override, message",
    [
        ('compress.methods=["share"]', "none applies to model.family = .mlp. \\(share applies to transformer"),
        ("training.save_checkpoints=false", "training.save_checkpoints: may not be false with \\[compress\\]"),
    ],
)
def test_a_compress_section_that_could_make_nothing_is_refused_before_training(override, message):
    """Seen: every run trained, then 'no checkpoints' for a sweep that saved none."""
    with pytest.raises(UserError, match=message):
        config_from_dict({"compress": {"methods": ["prune"]}}, [override], source="test")


def test_preprocessing_is_refused_for_text_but_a_stored_sweeps_default_is_read_back():
    """Seen: preprocessing = ["none", "minmax"] on bytes trained identical runs twice."""
    text = {"source": "stdlib", "train_size": [1000]}
    with pytest.raises(UserError, match="data.preprocessing: for classification features"):
        config_from_dict({"data": {**text, "preprocessing": ["none", "minmax"]}}, source="test")
    stored = config_from_dict({"data": text}, source="test").model_dump(mode="json")
    assert config_from_dict(stored, source="stored").data.source == "stdlib"  # every field set, at its default


def test_a_compress_section_with_the_default_methods_loads_for_any_family():
    """The default list holds every method, share (transformers only) included: it is skipped, not refused."""
    for family, size in (("mlp", {"width": [8, 16]}), ("cnn", {})):
        config = config_from_dict({"model": {"family": family, **size}, "compress": {}}, source="test")
        assert "share" in config.compress.methods
    assert config_from_dict({"compress": {"methods": ["share", "prune"]}}, source="test").compress is not None


def test_a_text_sweep_stores_no_preprocessing_it_never_had():
    """Seen: the report's configuration of a text sweep showed "preprocessing": ["standardize"]."""
    from scalinglab.config import SweepConfig, load_config

    config = load_config(Path(__file__).resolve().parents[1] / "examples" / "transfer_text.toml")
    stored = config.stored()
    assert "preprocessing" not in stored["data"]
    assert SweepConfig.model_validate(stored).data == config.data  # the same runs when read again
