#!/usr/bin/env bash
# Create .venv and install scalinglab into it. Idempotent: a second call with an unchanged
# pyproject.toml only checks a stamp and returns in well under a second.
#   bash scripts/setup.sh          runtime only
#   bash scripts/setup.sh dev      + test tools, Ray and headless Chromium for the report test
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-runtime}"
venv=.venv
python="${PYTHON:-python3}"

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip_install() {
    # A pip configuration may name extra package indexes that are not reachable; pip then warns
    # "WARNING: Location '...' is ignored" for each. Those lines are dropped; all else is shown.
    "$venv/bin/python" -m pip --disable-pip-version-check -q install "$@" 2>&1 | { grep -v "^WARNING: Location '" || true; }
}

extras=""
[ "$profile" = dev ] && extras="[dev,ray]"
stamp="$venv/.scalinglab-$profile-$(sha1sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
    # torch first, pinned to the version the project is tested with, so that the editable
    # install below does not pull a different (possibly multi-GB GPU) build. To use another
    # torch build, install it into .venv first; pip keeps it when the version matches.
    pip_install "torch==2.13.0"
    pip_install -e ".$extras"
    touch "$stamp"
fi

if [ "$profile" = dev ] && ! command -v chromium >/dev/null 2>&1; then
    # The report test renders the HTML in a real headless browser (Debian's chromium).
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "setup: chromium not found; install Debian's 'chromium' package for the report test" >&2
    fi
fi
