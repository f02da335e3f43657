#!/bin/sh
# The site-packages step of python-node (runs in the recipe's "build" environment, see ../README.md):
# installs the pinned wheels with pip, byte-compiles them, and checks that nothing of the build machine
# is left in the tree. Usage: install-wheels.sh OUT WHEEL-DIR... -- REQUIREMENT...
# Every rule here is there for byte-identical output; ../README.md ("pip, deterministically") says why.
set -eu
out=$1
shift
links=""
while [ "$1" != "--" ]; do
    links="$links --find-links $1"
    shift
done
shift
site="$out/site-packages"
runtime_site=/usr/local/lib/python3.11/dist-packages  # where the rootfs puts $site

# By requirement name from --find-links (not by wheel path: that would write direct_url.json with the
# path); --no-compile (pip's own byte-compile under --target runs in a random /tmp/pip-target-* folder,
# which would end up in every .pyc); no index, no dependencies, no cache: only the pinned files.
# shellcheck disable=SC2086
python3 -m pip install --no-index --no-deps --no-compile --no-cache-dir --disable-pip-version-check \
    --no-warn-script-location --root-user-action=ignore $links --target "$site" "$@"

# PEP 552 checked-hash .pyc files (independent of file times), with the runtime path as co_filename.
python3 -m compileall -q -j 1 --invalidation-mode checked-hash -s "$site" -p "$runtime_site" "$site"

# Guards: no direct_url.json, and no build path in any file (RECORD lists relative paths and hashes,
# INSTALLER is "pip", REQUESTED is empty).
if find "$site" -name direct_url.json | grep -q .; then
    echo "install-wheels: pip wrote a direct_url.json (a wheel given by path?)" >&2
    exit 1
fi
if grep -r -l -e "$out" -e pip-target- "$site"; then
    echo "install-wheels: the files above hold a build path" >&2
    exit 1
fi
