#!/usr/bin/env bash
# Runs the fault suite (deploy/fault): installs PostgreSQL and Redis when
# missing, builds leadflow and the suite, then puts a bounded load of form
# posts through separate `leadflow serve` and `leadflow work` processes while
# it kills them with kill -9 and stops Redis, SMTP and PostgreSQL in turn, and
# prints what each fault did to leadflow's promises. Everything listens on
# 127.0.0.1 and is stopped at the end. It takes about six minutes, so it is
# not part of deploy/test.sh. Arguments go to the suite, e.g.
#   deploy/fault.sh -rate 100 -duration 30s -scenarios kill-work,stop-postgres
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup-debian.sh
mkdir -p .leadflow/bin
go build -o .leadflow/bin/leadflow ./cmd/leadflow
go build -o .leadflow/bin/leadflow-fault ./deploy/fault
# exec: an interrupt reaches the suite itself, which stops what it started.
exec .leadflow/bin/leadflow-fault -bin .leadflow/bin/leadflow "$@"
