#!/usr/bin/env bash
# The console over a slow SSH link (benches/link.rs): installs openssh-server where it is
# missing, then runs the benchmark, which starts its own sshd on 127.0.0.1 and stops it.
# Ports: ONDECK_LINK_SSHD_PORT (default 61522) and ONDECK_LINK_PROXY_PORT (default 61523).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/sbin/sshd ]; then
  echo "installing: openssh-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null
fi

cargo bench --locked --bench link
