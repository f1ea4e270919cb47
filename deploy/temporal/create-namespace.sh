#!/bin/sh
# Waits for the Temporal frontend, then creates our namespace and its Keyword search attributes
# when they are missing. Idempotent: an existing namespace or attribute is left alone.
# Runs as the one-shot temporal-namespace job in temporalio/admin-tools (has temporal, nc, getent).
set -eu

NAMESPACE="${NAMESPACE:-ezscale}"
RETENTION="${NAMESPACE_RETENTION:-30d}"
SEARCH_ATTRIBUTES="${SEARCH_ATTRIBUTES:-CustomerId ServiceId SubscriptionStatus Provider}"
TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
MAX_ATTEMPTS="${MAX_ATTEMPTS:-60}"

host=${TEMPORAL_ADDRESS%:*}
port=${TEMPORAL_ADDRESS##*:}
# Prefer the IPv4 address: gRPC in these images may try an unreachable IPv6 address first.
ip=$(getent ahostsv4 "$host" 2>/dev/null | awk 'NR == 1 { print $1 }') || true
address="${ip:-$host}:${port}"
unset TEMPORAL_ADDRESS # the CLI would read it too; pass the resolved address explicitly

echo "Waiting for Temporal at ${address} (up to ${MAX_ATTEMPTS} attempts)..."
attempt=0
until temporal operator cluster health --address "$address" >/dev/null 2>&1; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
    echo "Temporal at ${address} is not healthy after ${attempt} attempts" >&2
    exit 1
  fi
  sleep 2
done
echo "Temporal is healthy"

if temporal operator namespace describe --namespace "$NAMESPACE" --address "$address" >/dev/null 2>&1; then
  echo "Namespace ${NAMESPACE} exists"
else
  echo "Creating namespace ${NAMESPACE} (retention ${RETENTION})"
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" --address "$address"
fi

# A new namespace can take a moment to be visible to the search-attribute API.
attempt=0
until existing=$(temporal operator search-attribute list --namespace "$NAMESPACE" --address "$address" 2>&1); do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
    echo "Cannot list search attributes of ${NAMESPACE}: ${existing}" >&2
    exit 1
  fi
  sleep 2
done

for name in $SEARCH_ATTRIBUTES; do
  if printf '%s\n' "$existing" | awk -v n="$name" '$1 == n { found = 1 } END { exit !found }'; then
    echo "Search attribute ${name} exists"
  else
    echo "Creating search attribute ${name} (Keyword)"
    temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type Keyword --address "$address"
  fi
done

echo "Namespace ${NAMESPACE} is ready"
