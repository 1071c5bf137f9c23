#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a used one: installs what the tests need into
# target/test-venv (moto, pytest, cfn-lint, aws-sam-cli, cargo-lambda with zig, schemathesis, the
# official timeback-caliper client) and Debian's chromium, checks formatting and lints (rustfmt, clippy with
# warnings as errors), starts moto_server on a free 127.0.0.1 port, runs every Rust and Python test, stops
# moto again, and builds every function for Lambda (arm64, release).
set -euo pipefail
cd "$(dirname "$0")/.."

# The official Timeback client needs Python 3.12: $PYTHON, else pyenv's 3.12, else python3.12.
python=${PYTHON:-$(ls -d "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.12*/bin/python3.12 2>/dev/null | tail -1 || true)}
python=${python:-python3.12}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    echo "tests/run.sh needs Python 3.12 or later (for the official timeback-caliper client); set PYTHON" >&2
    exit 1
fi

venv=target/test-venv
if [ ! -x "$venv/bin/moto_server" ] || ! cmp -s tests/requirements.txt "$venv/requirements.txt"; then
    echo "==> installing test tools into $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements.txt
    cp tests/requirements.txt "$venv/requirements.txt"
fi

# The docs page is tested in Debian's Chromium; the README's walk-through uses curl and jq.
missing=$(for tool in chromium curl jq; do command -v "$tool" > /dev/null || echo "$tool"; done)
if [ -n "$missing" ]; then
    echo "==> installing" $missing "(Debian)"
    sudo=$([ "$(id -u)" -eq 0 ] || echo sudo)
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing > /dev/null
fi

port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "==> starting moto_server on 127.0.0.1:$port"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" > target/moto.log 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/moto-api/" > /dev/null && break
    sleep 0.1
done
export CALIPER_TEST_MOTO_URL="http://127.0.0.1:$port"

echo "==> cargo fmt --check, cargo clippy (warnings are errors)"
rustup component add rustfmt clippy > /dev/null 2>&1 || true
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo test"
cargo test --workspace --locked

echo "==> end-to-end tests: caliper-local, the function binaries under a Lambda Runtime API, the SAM template"
cargo build --locked --bins
"$venv/bin/python" -m pytest -q tests/e2e tests/template

echo "==> every function for Lambda: arm64 release build (cargo lambda, through zig)"
rustup target add aarch64-unknown-linux-gnu > /dev/null
functions=()
for crate in functions/*/; do functions+=(-p "$(basename "$crate")"); done
PATH="$PWD/$venv/bin:$PATH" cargo lambda build --release --arm64 --locked --output-format zip "${functions[@]}"
for crate in functions/*/; do
    name=$(basename "$crate")
    printf '%-16s %5d KiB zipped\n' "$name" $(( $(stat -c %s "target/lambda/$name/bootstrap.zip") / 1024 ))
done
