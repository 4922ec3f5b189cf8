"""Fitting scaling laws to any table of measurements; needs only numpy, scipy and pandas.

>>> from scalinglab.fit import ScalingLaw, compute_optimal
>>> law = ScalingLaw("chinchilla", random_state=0).fit(df, x=["N", "D"], y="loss")
>>> law.summary()
>>> compute_optimal(law, [1e21, 1e23])

See docs/fitting.md for the forms, the fitting method and the CLI.
"""

from scalinglab.fit.allocate import compute_optimal
from scalinglab.fit.backtest import BacktestResult, backtest, predict_held_out, split_holdout, training_rows
from scalinglab.fit.forms import FORMS, Form, get_form
from scalinglab.fit.isoflop import IsoFlopResult, isoflop_analysis
from scalinglab.fit.law import ScalingLaw
from scalinglab.fit.plot import FitPlotData, FitSeries, draw_fit, fit_plot_data, save_fit_figure
from scalinglab.fit.table import derive_columns, filter_rows
from scalinglab.fit.table_fit import TableFit, fit_table

__all__ = [
    "FORMS",
    "BacktestResult",
    "FitPlotData",
    "FitSeries",
    "Form",
    "IsoFlopResult",
    "ScalingLaw",
    "TableFit",
    "backtest",
    "compute_optimal",
    "derive_columns",
    "draw_fit",
    "filter_rows",
    "fit_plot_data",
    "fit_table",
    "get_form",
    "isoflop_analysis",
    "predict_held_out",
    "save_fit_figure",
    "split_holdout",
    "training_rows",
]
