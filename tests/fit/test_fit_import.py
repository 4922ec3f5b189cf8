"""scalinglab.fit stands alone: importing it pulls in neither torch nor plotting."""

import os
import subprocess
import sys

import pytest
from fit_helpers import REPO


@pytest.mark.slow
def test_import_needs_only_numpy_scipy_and_pandas():
    code = (
        "import sys, scalinglab.fit; "
        "heavy = {'torch', 'matplotlib', 'ray', 'typer', 'rich'} & {m.split('.')[0] for m in sys.modules}; "
        "print(sorted(heavy))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
