#!/usr/bin/env bash
# Builds the static web client into web/dist: the pages at its top, scripts
# and styles under web/dist/assets (the layout deploy/nginx expects).
set -euo pipefail
cd "$(dirname "$0")/.."

# A fresh checkout has no node_modules; checking for tsc itself also repairs
# a half-installed tree.
if [ ! -x node_modules/.bin/tsc ]; then
    npm ci --no-audit --no-fund
fi

# Start from nothing so a deleted source never lingers in dist.
rm -rf web/dist
mkdir -p web/dist
cp -R web/public/. web/dist/
npx tsc -p web/tsconfig.json
