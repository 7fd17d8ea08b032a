#!/usr/bin/env bash
# Runs the whole test suite: installs PostgreSQL and Redis when missing, then
# gofmt, go vet, every test with the race detector against real PostgreSQL and
# Redis (each test binary starts private servers on loopback, unless
# LEADFLOW_TEST_DATABASE_URL and LEADFLOW_TEST_REDIS_URL name servers to use),
# and a short run of each fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup-debian.sh

echo "== gofmt"
unformatted=$(gofmt -l $(find . -name '*.go' -not -path './.leadflow/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 12m ./...

# A count, not a duration: Go 1.26's fuzz coordinator can report "context
# deadline exceeded" as a failure when a duration runs out mid-run
# (go.dev/issue/75804). LEADFLOW_FUZZTIME=30s or 100000x fuzzes longer.
fuzztime="${LEADFLOW_FUZZTIME:-10000x}"
echo "== fuzz (${fuzztime} per target)"
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "-- $pkg $target"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/leadflow-fuzz.log 2>&1 || {
      cat /tmp/leadflow-fuzz.log; exit 1; }
  done
done
echo "== all checks passed"
