#!/usr/bin/env bash
# Serves every function with `cargo lambda watch`, against moto on this machine: starts moto
# (from the test tools, tests/run.sh installs them) unless one answers at $MOTO_URL, makes the
# tables, queues and keys with caliper-admin, writes their environment to target/watch.env, and
# runs `cargo lambda watch` with it. Then, in another terminal, `cargo lambda invoke` the payloads
# in events/ (README, "Invoking the functions").
set -euo pipefail
cd "$(dirname "$0")/.."

tools=target/test-venv/bin
MOTO_URL=${MOTO_URL:-http://127.0.0.1:5000}
if ! command -v cargo-lambda > /dev/null; then
    [ -x "$tools/cargo-lambda" ] || { echo "cargo-lambda not found: pip install cargo-lambda (or run tests/run.sh once)" >&2; exit 1; }
    PATH="$PWD/$tools:$PATH"
fi

if ! curl -sf "$MOTO_URL/moto-api/" > /dev/null; then
    moto=$(command -v moto_server || echo "$tools/moto_server")
    [ -x "$moto" ] || { echo "moto_server not found: pip install 'moto[server]' (or run tests/run.sh once)" >&2; exit 1; }
    port=${MOTO_URL##*:}
    echo "==> starting moto on 127.0.0.1:$port (log: target/moto-watch.log)"
    "$moto" -H 127.0.0.1 -p "$port" > target/moto-watch.log 2>&1 &
    trap 'kill $! 2>/dev/null || true' EXIT
    for _ in $(seq 100); do curl -sf "$MOTO_URL/moto-api/" > /dev/null && break; sleep 0.1; done
fi

# Dummy credentials: moto accepts any.
export AWS_ENDPOINT_URL=$MOTO_URL AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
echo "==> making the tables, queues and keys"
{
    cargo run -q --locked -p caliper-admin -- resources
    echo "AWS_ENDPOINT_URL=$MOTO_URL"
    echo "AWS_REGION=us-east-1"
    echo "AWS_ACCESS_KEY_ID=test"
    echo "AWS_SECRET_ACCESS_KEY=test"
    # The webhook example may then deliver to a receiver on this machine.
    echo "CALIPER_WEBHOOK_ALLOW_PRIVATE=true"
} > target/watch.env
cat target/watch.env
echo "==> cargo lambda watch (Ctrl-C stops it, and moto if this script started it)"
cargo lambda watch --env-file target/watch.env
