#!/usr/bin/env bash
# Installs the real servers the test suite starts itself: PostgreSQL, Redis, headless Chromium,
# Blender (tests/training/dataprep renders two tiny bottles with it) and nginx (only its binary: tests/deploy runs `nginx -t` on deploy/nginx/nginx.conf).
# Idempotent: does nothing when they are already there.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v blender >/dev/null 2>&1 || need+=(blender)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
bash "$(dirname "$0")/apt-install.sh" "${need[@]}" fonts-liberation
