#!/usr/bin/env bash
# Installs the Debian packages whose photos `capsight prepare-data` adds to the bottle model's
# background class (opencv-doc sample photos, mate-backgrounds nature photos). Only needed to
# rebuild the bundled model; serving and the test suite do not use them. Idempotent.
set -euo pipefail
need=()
[ -d /usr/share/doc/opencv-doc/examples/data ] || need+=(opencv-doc)
[ -d /usr/share/backgrounds/mate/nature ] || need+=(mate-backgrounds)
command -v blender >/dev/null 2>&1 || need+=(blender)  # prepare-data --rendered
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
bash "$(dirname "$0")/apt-install.sh" "${need[@]}"
