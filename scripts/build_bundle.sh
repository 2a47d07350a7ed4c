#!/usr/bin/env bash
# Build the one-folder bundle, DIST/possuggest/ (default ./dist), from a clean, non-editable
# install: a new virtual environment, `pip install '.[build]'` from a copy of the sources (no
# build/ leftovers, no editable install), then PyInstaller with build.spec. PyInstaller builds
# for the system it runs on; on Windows run the same three steps by hand (README.md,
# "Installing in a store").
#   scripts/build_bundle.sh [DIST]
#   POSSUGGEST_BUNDLE_EXTRAS=build,postgres scripts/build_bundle.sh   # a till on PostgreSQL
#   PYTHON=python3.12 scripts/build_bundle.sh                         # another Python
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dist=$(realpath -m "${1:-$repo/dist}")
work=$(mktemp -d "${TMPDIR:-/tmp}/possuggest-bundle.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$(date +%s)

mkdir -p "$work/src/scripts"
cp -r "$repo/pyproject.toml" "$repo/README.md" "$repo/build.spec" "$repo/possuggest" \
      "$repo/resources" "$work/src/"
cp "$repo/scripts/bundle_entry.py" "$work/src/scripts/"
find "$work/src" -name __pycache__ -prune -exec rm -rf {} +

"${PYTHON:-python3}" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "$work/src[${POSSUGGEST_BUNDLE_EXTRAS:-build}]"
cd "$work/src"
"$work/venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$dist" --workpath "$work/build" build.spec
echo "bundle built in $(( $(date +%s) - started )) s: $dist/possuggest" \
     "($(du -sh "$dist/possuggest" | cut -f1))"
