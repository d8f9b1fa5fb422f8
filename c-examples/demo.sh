#!/bin/sh
# make demo: start the echo server on an ephemeral loopback port, run the client with a
# few lines of input, show the exchange, stop the server.
set -eu
bin=${1:-build/examples}
out=$(mktemp)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$out"' EXIT INT TERM

"$bin/echo/echo_server_fork" 0 >"$out" &
server=$!
port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's/^listening on ADDRESS .*:\([0-9]*\)$/\1/p' "$out")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "demo: the echo server did not start" >&2; exit 1; }
echo "server: $(cat "$out")"

printf 'bonjour\nhello, prise\nla prise est branchée\n' >"$out.in"
echo "client sends:"
sed 's/^/  > /' "$out.in"
echo "client receives:"
"$bin/echo/echo_client" 127.0.0.1 "$port" <"$out.in" | sed 's/^/  < /'
rm -f "$out.in"
echo "demo: exchange complete"
