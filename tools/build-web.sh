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
npx --no-install esbuild web/src/home.ts web/src/room.ts web/src/early.ts \
    --bundle --splitting --format=esm --minify --legal-comments=none \
    --target=es2020,safari14.1,firefox91,chrome90 \
    --outdir=web/dist/assets --entry-names='[name]' --chunk-names='chunk-[hash]' \
    --log-level=warning

# Each page names the chunks its script imports, so the browser fetches
# them with the script instead of one round trip later (on a 3G link that
# is 100-300 ms of setup). Only static imports: the QR code chunk, loaded
# with import(), stays out of the first load.
for page in index:home room:room; do
    html=web/dist/${page%%:*}.html
    entry=web/dist/assets/${page##*:}.js
    links=""
    for chunk in $(grep -o 'from"\./chunk-[A-Za-z0-9]*\.js"' "$entry" | sed -e 's/^from"\.\///' -e 's/"$//' | sort -u); do
        links+="<link rel=\"modulepreload\" href=\"/assets/$chunk\">"
    done
    if [ -n "$links" ]; then
        grep -q "src=\"/assets/${page##*:}.js\"" "$html" \
            || { echo "build-web: $html has no script /assets/${page##*:}.js" >&2; exit 1; }
        sed -i "s#\(<script type=\"module\" src=\"/assets/${page##*:}.js\"></script>\)#\1\n$links#" "$html"
    fi
done

# Compressed once here, at the highest level, and served by nginx's
# gzip_static (webcall-server.conf): about a third of the bytes on the
# wire, with no compression work per request.
find web/dist -type f \( -name '*.html' -o -name '*.js' -o -name '*.css' -o -name '*.svg' \) \
    -exec gzip -9 -k -n -f {} +
