#!/usr/bin/env bash
# Runs the fault suite (deploy/fault): installs PostgreSQL and Redis when
# missing, then puts a bounded load of form posts through separate `leadflow
# serve` and `leadflow work` processes while it kills them with kill -9 and
# stops Redis, SMTP and PostgreSQL in turn, and prints what each fault did to
# leadflow's promises. Everything listens on 127.0.0.1 and is stopped at the
# end. It takes about six minutes, so it is not part of deploy/test.sh.
# Arguments go to the suite, e.g. -rate 100 -duration 30s -scenarios stop-postgres.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup-debian.sh
exec go run ./deploy/fault "$@"
