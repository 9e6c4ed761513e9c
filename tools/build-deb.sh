#!/usr/bin/env bash
# Builds libnginx-mod-http-webcall_<version>_<arch>.deb into build/deb/ with
# debhelper and dh_nginx, from a copy of the source (what git tracks, and
# files not yet added, minus ignored ones) plus the built client web/dist,
# so the checkout itself gets no debian/ build debris. Then lintian: an
# error or a warning fails the build (overrides carry their reasons in
# debian/*.lintian-overrides).
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f web/dist/index.html ] || { echo "build-deb: web/dist is missing (make web)" >&2; exit 1; }
version=$(dpkg-parsechangelog -S Version)
out=build/deb
src=$out/webcall-$version
rm -rf "$out"
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf - | tar -xf - -C "$src"
cp -R web/dist "$src/web/dist"

(cd "$src" && dpkg-buildpackage -b -us -uc --no-sign >../build.log 2>&1) || {
    tail -40 "$out/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
    exit 1
}
deb=$(ls "$out"/libnginx-mod-http-webcall_"$version"_*.deb)
lintian --fail-on error,warning --info "$out"/*.changes
echo "build-deb: $deb"
