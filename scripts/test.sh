#!/usr/bin/env bash
# Runs every test of the platform. Installs and starts what the tests need when it is missing:
# PostgreSQL (Debian package), the Temporal CLI and stripe-mock (into ./bin) and Chromium (Debian package).
# Usage: scripts/test.sh [go test flags and packages]   (default: ./...)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

say() { printf '==> %s\n' "$*" >&2; }
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
  if [[ -z $apt_updated ]]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v go >/dev/null || { echo "Go is required (https://go.dev/doc/install); this project uses Go 1.26" >&2; exit 1; }
export GOTOOLCHAIN=local

# PostgreSQL: use TEST_DATABASE_URL, else a server on 127.0.0.1:5432, else install and start one.
pg_answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
pg_trusts() { PGCONNECT_TIMEOUT=3 psql "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" -Atqc 'select 1' >/dev/null 2>&1; }
if [[ -z ${TEST_DATABASE_URL:-} ]]; then
  if ! pg_answers; then
    if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
      say "installing PostgreSQL (Debian package postgresql)"
      apt_install postgresql
    fi
    say "starting PostgreSQL"
    if command -v pg_ctlcluster >/dev/null; then
      ver=$(ls /etc/postgresql | sort -V | tail -n1)
      as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || as_root pg_ctlcluster "$ver" main start
    else
      as_root service postgresql start
    fi
    for _ in $(seq 1 30); do pg_answers && break; sleep 1; done
    pg_answers || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
  fi
  command -v psql >/dev/null || apt_install postgresql-client
  if pg_trusts; then
    export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
  else
    # A stock Debian server asks for a password over TCP: give the postgres role a test password.
    say "setting a password for the postgres role (test server)"
    (cd / && as_root su postgres -c "psql -qc \"ALTER ROLE postgres PASSWORD 'postgres'\"")
    export TEST_DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable"
  fi
fi

# Temporal CLI v1.5.1 in ./bin (later tags cannot be go-installed: they use replace directives).
if [[ ! -x bin/temporal ]]; then
  say "installing the Temporal CLI v1.5.1 into ./bin (about 4 minutes the first time)"
  GOBIN="$root/bin" go install github.com/temporalio/cli/cmd/temporal@v1.5.1
fi

# stripe-mock v0.203.0 in ./bin: the Stripe gateway tests validate every request against it.
if [[ ! -x bin/stripe-mock ]]; then
  say "installing stripe-mock v0.203.0 into ./bin (about 30 seconds the first time)"
  GOBIN="$root/bin" go install github.com/stripe/stripe-mock@v0.203.0
fi

# Chromium for the browser tests.
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  say "installing Chromium (Debian package chromium)"
  apt_install chromium
fi

# pdftotext and pdfinfo read the generated invoice PDFs back in the tests.
if ! command -v pdftotext >/dev/null || ! command -v pdfinfo >/dev/null; then
  say "installing poppler-utils (Debian package) for the PDF tests"
  apt_install poppler-utils
fi

# The deployment file: validated by whichever compose client exists (no Docker engine is needed).
compose=()
if docker compose version >/dev/null 2>&1; then compose=(docker compose); elif command -v docker-compose >/dev/null; then compose=(docker-compose); fi
if ((${#compose[@]})); then
  say "checking docker-compose.temporal.yml with ${compose[*]} config"
  APP_KEY=check SMTP_URL=smtp://mail:25 "${compose[@]}" -f docker-compose.temporal.yml config -q
fi

mkdir -p test-artifacts
export EZSCALE_TEST_ARTIFACTS="$root/test-artifacts"
say "go vet"
go vet ./...

say "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*'))
if [[ -n "$unformatted" ]]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi

# The repository stands on its own: no code or document cites notes kept outside it.
say "no citations of notes outside the repository"
if grep -rnE --exclude-dir=.git --exclude-dir=bin --exclude-dir=test-artifacts --exclude-dir=var --exclude=test.sh \
    '\.\./shared/|(^|[^/a-z])reference/[a-z_-]+\.md' .; then
  echo "the lines above cite notes that are not part of this repository; put the facts in docs/" >&2
  exit 1
fi

# staticcheck v0.8.2 in ./bin: its findings fail the run like vet's.
if [[ ! -x bin/staticcheck ]]; then
  say "installing staticcheck v0.8.2 into ./bin"
  GOBIN="$root/bin" go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
say "staticcheck"
bin/staticcheck ./...
say "go test"
full=0
if [[ $# -eq 0 ]]; then set -- ./...; full=1; fi
go test -count=1 -p 2 -timeout 25m "$@"

# The renewal benchmark (issue 4): N subscriptions due at once beside a no-op baseline on the
# same dev server. Its figures are written to test-artifacts/; speed is reported, never asserted.
if [[ $full == 1 && -z ${EZSCALE_SKIP_BENCH:-} ]]; then
  n=${EZSCALE_BENCH_RENEWALS:-1000}
  say "renewal benchmark, N=$n (EZSCALE_SKIP_BENCH=1 skips it)"
  EZSCALE_BENCH_RENEWALS=$n go test -count=1 -run '^$' -bench RenewalRun -benchtime 1x -timeout 20m ./workflows \
    | tee test-artifacts/bench-renewals.txt | grep -E 'Benchmark|renewals due'
fi
