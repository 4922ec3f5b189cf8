#!/usr/bin/env bash
# Quick start: set everything up, then run the built-in sweep (MLP on scikit-learn's digits)
# and write scalinglab-out/report.html. Extra arguments go to `scalinglab run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/scalinglab run "$@"
