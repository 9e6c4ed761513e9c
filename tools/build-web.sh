#!/usr/bin/env bash
# Builds the static web client into web/dist: the pages at its top, scripts
# and styles under web/dist/assets (the layout deploy/nginx expects).
# tsc checks the types (strict); esbuild bundles each page into one script,
# with the QR code generator in a chunk loaded only when a link is shown.
set -euo pipefail
cd "$(dirname "$0")/.."

# A fresh checkout has no node_modules; checking for the tools themselves
# also repairs a half-installed tree.
if [ ! -x node_modules/.bin/tsc ] || [ ! -x node_modules/.bin/esbuild ]; then
    npm install --no-save --no-audit --no-fund
fi

npx --no-install tsc -p web/tsconfig.json

# Start from nothing so a deleted source never lingers in dist.
rm -rf web/dist
mkdir -p web/dist
cp -R web/public/. web/dist/
npx --no-install esbuild web/src/home.ts web/src/room.ts \
    --bundle --splitting --format=esm --minify --legal-comments=none \
    --target=es2020,safari14.1,firefox91,chrome90 \
    --outdir=web/dist/assets --entry-names='[name]' --chunk-names='chunk-[hash]' \
    --log-level=warning
