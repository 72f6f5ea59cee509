#!/bin/sh
# sim: in-band authentication (DH-HMAC-CHAP) of nvme-mpath-simtarget against
# ../shared/real-target/probe.py, a stdlib-only Python host that shares none of our code (its own
# HMAC, RFC 7919 groups and message layouts): discovery as an allowed host, then every admin and
# I/O queue (--io) on both ports authenticates, one-way and both ways, for SHA-256/384/512 with
# the null group and ffdhe2048 (and one ffdhe3072 / ffdhe8192 pass). A wrong host key gets
# AUTH_Failure1 reason 1; another host finds no subsystem; without a key the target answers
# Authentication Required. Keys are random per run and never appear in the target's verbose
# log or its status. Exit 77 (skipped) when probe.py or python3 is missing.
B=$1
PROBE=$2
[ -x "$(command -v python3)" ] && [ -f "$PROBE" ] || { echo "skipped: no python3 or $PROBE"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
log=$(mktemp); trap 'rm -f "$log"; kill $pid 2>/dev/null' EXIT
"$B" --ctl-port 0 -v > "$log" 2>&1 &
pid=$!
i=0; while [ $i -lt 50 ] && ! grep -q ports= "$log"; do sleep 0.1; i=$((i + 1)); done
line=$(grep -m1 ports= "$log")
ports=${line##*ports=}; ports=${ports%% *}
port1=${ports%%,*}
ctl=${line##*ctl=}
[ -n "$port1" ] && [ -n "$ctl" ] || fail "start line: $line"

# One control line; prints the answer lines, exit 0 on OK.
ctl() {
  python3 - "$ctl" "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode() + b"\n")
out = []
for line in s.makefile():
    out.append(line.rstrip("\n"))
    if line.startswith(("OK", "ERR")):
        break
print("\n".join(out))
sys.exit(0 if out and out[-1] == "OK" else 1)
EOF
}
# A random DH-HMAC-CHAP secret: XX 01/02/03 with a 32/48/64-byte key (what 6.1-era kernels need).
secret() {
  python3 -c 'import base64,os,struct,sys,zlib; n={1:32,2:48,3:64}[int(sys.argv[1])]; k=os.urandom(n)
print("DHHC-1:%02d:%s:" % (int(sys.argv[1]), base64.b64encode(k + struct.pack("<I", zlib.crc32(k))).decode()))' "$1"
}
body() { b=${1#DHHC-1:??:}; echo "${b%:}"; }

HOST=nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000a0a0
KEY=$(secret 1); CKEY=$(secret 2); KEY3=$(secret 3); OTHER=$(secret 1)
runs=0
for hash in sha256 sha384 sha512; do
  for group in null ffdhe2048; do
    for dir in one two; do
      if [ $dir = one ]; then ck=-; else ck=$CKEY; fi
      ctl "auth-host $HOST $KEY $ck hmac($hash) $group" > /dev/null || fail "auth-host $hash $group"
      if [ $dir = one ]; then
        out=$(timeout 60 python3 "$PROBE" --port "$port1" --ctl-port "$ctl" --hostnqn "$HOST" --dhchap-secret "$KEY" --io 2>&1)
        want="DH-HMAC-CHAP hmac($hash) $group, unidirectional: authenticated"
      else
        out=$(timeout 60 python3 "$PROBE" --port "$port1" --ctl-port "$ctl" --hostnqn "$HOST" --dhchap-secret "$KEY" \
              --dhchap-ctrl-secret "$CKEY" --io 2>&1)
        want="DH-HMAC-CHAP hmac($hash) $group, bidirectional: authenticated"
      fi
      case $out in *"probe: OK (2 path(s)"*) ;; *) fail "probe.py $hash $group $dir-way: $out" ;; esac
      case $out in *"$want"*) ;; *) fail "probe.py $hash $group $dir-way: no '$want' in: $out" ;; esac
      # Admin queues of both paths and the I/O queues (one per path) authenticated.
      n=$(printf '%s\n' "$out" | grep -c "ATR set, the controller requires in-band authentication; $want")
      [ "$n" -eq 4 ] || fail "probe.py $hash $group $dir-way: $n queue(s) authenticated, want 4: $out"
      runs=$((runs + 1))
    done
  done
done
echo "probe.py: $runs hash x group x direction runs with --io: OK"

# A 64-byte key (XX 03) with the larger groups, both ways.
for group in ffdhe3072 ffdhe8192; do
  ctl "auth-host $HOST $KEY3 $CKEY sha512 $group" > /dev/null || fail "auth-host sha512 $group"
  out=$(timeout 60 python3 "$PROBE" --port "$port1" --ctl-port "$ctl" --hostnqn "$HOST" --dhchap-secret "$KEY3" \
        --dhchap-ctrl-secret "$CKEY" --io 2>&1)
  case $out in *"DH-HMAC-CHAP hmac(sha512) $group, bidirectional: authenticated"*"probe: OK (2 path(s)"*) ;;
    *) fail "probe.py sha512 $group: $out" ;; esac
done
echo "probe.py: sha512 ffdhe3072 / ffdhe8192 with a 64-byte key: OK"

ctl "auth-host $HOST $KEY - sha256 ffdhe2048" > /dev/null || fail "auth-host"
# A wrong host key: AUTH_Failure1 reason 1 (failed) after the Reply.
out=$(timeout 60 python3 "$PROBE" --port "$port1" --ctl-port "$ctl" --hostnqn "$HOST" --dhchap-secret "$OTHER" 2>&1) &&
  fail "probe.py with a wrong key succeeded: $out"
case $out in *"AUTH_Failure1 reason 1 explanation 1 (authentication failed)"*) ;; *) fail "wrong key: $out" ;; esac
# No key: ATR, then Authentication Required (SCT 1 / SC 0x91, DNR) for Identify.
out=$(timeout 60 python3 "$PROBE" --port "$port1" --ctl-port "$ctl" --hostnqn "$HOST" 2>&1) && fail "no key succeeded: $out"
case $out in *"status 0x4191 (sct 1, sc 0x91, Authentication Required, DNR)"*) ;; *) fail "no key: $out" ;; esac
# Another host: the discovery log has no entry for the subsystem; a direct Connect is refused.
out=$(timeout 60 python3 "$PROBE" --port "$port1" --ctl-port "$ctl" 2>&1) && fail "another host succeeded: $out"
case $out in *"no subsystem in the discovery log"*) ;; *) fail "another host: $out" ;; esac
nqn=$(ctl status | grep -c "host $HOST allowed=1 key=DHHC-1:01 ctrl_key=- hash=hmac(sha256) dhgroup=ffdhe2048")
[ "$nqn" -eq 1 ] || fail "status: $(ctl status)"
out=$(timeout 60 python3 "$PROBE" --port "$port1" --ctl-port "$ctl" --subnqn nqn.2026-01.io.example:sim 2>&1) &&
  fail "another host's Connect succeeded: $out"
case $out in *"sct 1, sc 0x84"*) ;; *) fail "another host's Connect: $out" ;; esac
echo "probe.py: wrong key, no key, another host: refused as nvmet does"

# auth-off: everyone again, without authentication.
ctl auth-off > /dev/null || fail "auth-off"
out=$(timeout 60 python3 "$PROBE" --port "$port1" --ctl-port "$ctl" --io 2>&1) || fail "after auth-off: $out"

# No secret in the verbose log or the status.
status=$(ctl status)
for k in "$KEY" "$CKEY" "$KEY3" "$OTHER"; do
  b=$(body "$k")
  grep -qF "$b" "$log" && fail "a key is in the target's log"
  case $status in *"$b"*) fail "a key is in the status" ;; esac
done
grep -q "DH-HMAC-CHAP" "$log" || fail "the target's verbose log says nothing about the exchanges"
echo "no key in the target's verbose log ($(wc -l < "$log") lines) or status: OK"
