#!/usr/bin/env bash
# CI's fuzz step: installs cargo-fuzz (pinned) if missing, builds every
# target, replays every regression input, then fuzzes each target for
# FUZZ_SECONDS (default 60). A target that fails fails CI. If the fuzzer
# cannot be installed, says NOT RUN loudly and leaves the verdict to the
# rest of CI.
set -uo pipefail
cd "$(dirname "$0")/.."
CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION from crates.io"
  if ! cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked >/tmp/cargo-fuzz-install.log 2>&1; then
    tail -n 20 /tmp/cargo-fuzz-install.log
    echo "################################################################"
    echo "## NOT RUN: fuzzing (cargo-fuzz $CARGO_FUZZ_VERSION could not be installed)"
    echo "################################################################"
    exit 0
  fi
fi
export FUZZ_JOBS=${FUZZ_JOBS:-2}
python3 fuzz/seeds.py >/dev/null
exec bash fuzz/run.sh all "${FUZZ_SECONDS:-60}"
