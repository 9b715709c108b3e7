#!/usr/bin/env bash
# Runs every test, including those that need real services. Installs what is missing (Debian
# packages), starts the services on private loopback ports under a temporary directory, runs
# `cargo test` with the ignored tests included, and stops the services whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/services.sh
source scripts/services.sh

services_install
# Set before starting, so that services already up are stopped when a later one fails to start.
trap services_stop EXIT
services_start

cargo test --locked --all-targets -- --include-ignored
