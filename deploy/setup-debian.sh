#!/usr/bin/env bash
# Installs what leadflow's dev mode and test suite need on Debian, when
# missing: PostgreSQL (server binaries, with pg_trgm), Redis, and Chromium
# (Debian's package; the console's browser tests drive it headless). Nothing is
# started here and no system-wide cluster is created: leadflow starts private
# servers of its own, listening on loopback only.
set -euo pipefail

have_postgres() {
  command -v initdb >/dev/null 2>&1 && return 0
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && \
    compgen -G '/usr/share/postgresql/*/extension/pg_trgm.control' >/dev/null
}

need=()
have_postgres || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium fonts-liberation)
[ -x /usr/sbin/nginx ] || need+=(nginx) # the load-balancer test runs deploy/nginx/leadflow.conf
command -v curl >/dev/null 2>&1 || need+=(curl) # the README's walk-throughs, run by TestReadmeWalkthroughs

if ! command -v go >/dev/null 2>&1; then
  echo "setup: Go is not installed (want Go 1.26 or newer on PATH)" >&2
  exit 1
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup: need root (or sudo) to install ${need[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  # Debian would otherwise create and start a system-wide "main" cluster.
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    $sudo mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold "${need[@]}" >/dev/null
fi
