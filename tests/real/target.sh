#!/usr/bin/env bash
# ctest fixture for the real-target VM: `target.sh start` / `target.sh stop`.
# Outside CI a VM that cannot start is not a failure here: the reason goes to
# $REAL_TARGET_DIR/run/unavailable and every real test then exits 77 (skipped) and prints it.
# With CI=true the VM must start: a failure to start fails this test (and the real tests).
set -uo pipefail
scripts=${NVMEMP_REAL_TARGET_SCRIPTS:?}
run=${REAL_TARGET_DIR:?}/run
case ${1:-} in
  start)
    mkdir -p "$run"
    rm -f "$run/unavailable"
    if [[ ! -x $scripts/start.sh ]]; then
      reason="no real-target scripts at $scripts (is ../shared beside the checkout?)"
    elif out=$("$scripts/start.sh" 2>&1); then
      echo "$out"
      exit 0
    else
      reason="real-target VM did not start: $(echo "$out" | tail -n 15)"
    fi
    echo "$reason" >&2
    echo "$reason" >"$run/unavailable"
    [[ ${CI:-} == true ]] && exit 1
    exit 0
    ;;
  stop)
    [[ -x $scripts/stop.sh ]] && "$scripts/stop.sh"
    exit 0
    ;;
  *)
    echo "usage: target.sh start|stop" >&2
    exit 2
    ;;
esac
