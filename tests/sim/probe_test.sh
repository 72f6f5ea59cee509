#!/bin/sh
# sim: ../shared/real-target/probe.py, a stdlib-only Python NVMe/TCP host that shares none of
# our C++ codec, against the simulated target: discovery with referrals, bring-up, I/O through
# both ports (in-capsule and R2T), AEN after an `ana` on the control socket, digests on and off,
# SQ flow control disabled. Exit 77 (skipped) when probe.py or python3 is missing.
B=$1
PROBE=$2
[ -x "$(command -v python3)" ] && [ -f "$PROBE" ] || { echo "skipped: no python3 or $PROBE"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
log=$(mktemp); trap 'rm -f "$log"; kill $pid 2>/dev/null' EXIT
"$B" --ctl-port 0 --r2t-chunk 16K --c2h-chunk 8K > "$log" 2>&1 &
pid=$!
i=0; while [ $i -lt 50 ] && ! grep -q ports= "$log"; do sleep 0.1; i=$((i + 1)); done
line=$(cat "$log")
ports=${line##*ports=}; ports=${ports%% *}
port1=${ports%%,*}
ctl=${line##*ctl=}
[ -n "$port1" ] && [ -n "$ctl" ] || fail "start line: $line"
for opts in "--io --big-io 64 --aen" "--io --big-io 64 --aen --digest" "--io --no-sqflow"; do
  # shellcheck disable=SC2086
  out=$(timeout 60 python3 "$PROBE" --port "$port1" --ctl-port "$ctl" $opts 2>&1) || fail "probe.py $opts: $out"
  case $out in *"probe: OK (2 path(s)"*) ;; *) fail "probe.py $opts: $out" ;; esac
  echo "probe.py $opts: OK"
done
