"""Running a sweep: what to run (plan), where it runs (executors), and the driver that ties them
to the store."""

from scalinglab.sweeper.driver import SweepInterrupted, SweepOutcome, run_sweep
from scalinglab.sweeper.plan import plan_runs

__all__ = ["SweepInterrupted", "SweepOutcome", "plan_runs", "run_sweep"]
