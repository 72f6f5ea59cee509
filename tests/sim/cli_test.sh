#!/bin/sh
# sim: the nvme-mpath-simtarget binary: bad arguments exit 2 with one line naming them; a good
# start prints the ports on one line, answers on its control port, and exits 0 on SIGTERM.
B=$1
fail() { echo "FAIL: $*"; exit 1; }
for args in "--port abc" "--lba-size 1000" "--ns-size 12Q" "--bogus" "--cpda 40" "--maxh2cdata 1000" \
            "--namespaces 0" "--r2t-chunk 3" "--mqes 0" "--mqes 70000"; do
  # shellcheck disable=SC2086
  out=$("$B" $args 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] || fail "'$args' exited $rc, want 2"
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "'$args' printed more than one line: $out"
  opt=${args%% *}
  case $out in *"$opt"*) ;; *) fail "'$args': message does not name $opt: $out" ;; esac
done
log=$(mktemp); trap 'rm -f "$log"; kill $pid 2>/dev/null' EXIT
"$B" --port 0 --port 0 --port 0 --ctl-port 0 > "$log" 2>&1 &
pid=$!
i=0; while [ $i -lt 50 ] && ! grep -q ports= "$log"; do sleep 0.1; i=$((i + 1)); done
line=$(cat "$log")
case $line in *"ports="*,*,*" ctl="*) ;; *) fail "start line: $line" ;; esac
ctl=${line##*ctl=}
answer=$(python3 -c "
import socket,sys
s=socket.create_connection(('127.0.0.1',int(sys.argv[1])),5)
s.sendall(b'ping\nnonsense\n'); s.settimeout(5); d=b''
while d.count(b'\n')<3: d+=s.recv(4096)
print(d.decode(),end='')" "$ctl") || fail "control socket"
[ "$answer" = "pong
OK
ERR unknown command 'nonsense'" ] || fail "control answers: $answer"
kill -TERM $pid; wait $pid; rc=$?
[ $rc -eq 0 ] || fail "exit $rc after SIGTERM"
echo "cli ok"
