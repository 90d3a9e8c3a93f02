#!/usr/bin/env bash
# Installs the Debian packages whose photos `capsight prepare-data` adds to the bottle model's
# background class (opencv-doc sample photos, mate-backgrounds nature photos). Only needed to
# rebuild the bundled model; serving and the test suite do not use them. Idempotent.
set -euo pipefail
need=()
[ -d /usr/share/doc/opencv-doc/examples/data ] || need+=(opencv-doc)
[ -d /usr/share/backgrounds/mate/nature ] || need+=(mate-backgrounds)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages for the training folder: ${need[*]}"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
