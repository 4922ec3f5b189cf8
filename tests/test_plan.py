from scalinglab.config import load_config
from scalinglab.sweeper import plan_runs


def test_grid_is_the_product_of_swept_fields_and_seeds():
    config = load_config(
        None, ["model.width=[4,8,16]", "model.depth=[1,2]", "data.train_size=[100,200]", "seeds=[0,1]"]
    )
    specs = plan_runs(config)
    assert len(specs) == 3 * 2 * 2 * 2
    assert len({spec.run_key for spec in specs}) == len(specs)


def test_run_key_ignores_where_and_how_it_is_watched():
    base = plan_runs(load_config(None, ["model.width=[4]", "data.train_size=[100]", "seeds=[0]"]))[0]
    elsewhere = plan_runs(
        load_config(
            None,
            ["model.width=[4]", "data.train_size=[100]", "seeds=[0]", "output='/tmp/x'", "measure.latency_repeats=3"],
        )
    )[0]
    changed = plan_runs(load_config(None, ["model.width=[4]", "data.train_size=[100]", "seeds=[1]"]))[0]
    assert base.run_key == elsewhere.run_key
    assert base.run_key != changed.run_key


def test_value_listed_twice_runs_once():
    assert len(plan_runs(load_config(None, ["model.width=[8,8]", "data.train_size=[100]", "seeds=[0,0]"]))) == 1
