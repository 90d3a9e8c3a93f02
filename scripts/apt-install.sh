#!/usr/bin/env bash
# apt-get install the given Debian packages quietly, with sudo when not root. Shared by the
# install-*.sh scripts, which decide what is missing; does nothing when given no package.
set -euo pipefail
[ $# -eq 0 ] && exit 0
echo "installing Debian packages: $*"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
