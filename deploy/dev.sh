#!/usr/bin/env bash
# Runs leadflow with everything it needs: installs PostgreSQL and Redis when
# missing, builds the binary, and starts `leadflow dev` (private PostgreSQL and
# Redis in ./.leadflow, a demo workspace, the server and the workers).
# Extra arguments go to `leadflow dev` (e.g. --addr 127.0.0.1:9090).
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup-debian.sh
mkdir -p .leadflow/bin
go build -o .leadflow/bin/leadflow ./cmd/leadflow
exec .leadflow/bin/leadflow dev "$@"
