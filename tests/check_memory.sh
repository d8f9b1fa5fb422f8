#!/bin/sh
# make check-memory: the C test programs and the examples under valgrind memcheck.
# Every run must end with 0 bytes definitely or indirectly lost and no invalid access.
#   tests/check_memory.sh TESTS_DIR EXAMPLES_DIR [COURSE_CALLS]
set -eu
tests=$1
examples=$2
calls=${3:-20000}
work=$(mktemp -d)
servers=""
cleanup() {
    for pid in $servers; do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
vg="valgrind --quiet --fair-sched=yes --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect --error-exitcode=99"
export PRISE_QUIET=1

check() { # name command...: runs it under valgrind, fails on any error
    name=$1
    shift
    if $vg --log-file="$work/$name.log" "$@" >"$work/$name.out" 2>&1; then
        echo "check-memory: $name clean"
    else
        echo "check-memory: $name FAILED" >&2
        cat "$work/$name.log" "$work/$name.out" >&2
        exit 1
    fi
}

start_server() { # name program [option]: a server under valgrind; sets $port and $server
    $vg --log-file="$work/$1.log" "$2" ${3:-} 0 >"$work/$1.out" 2>&1 &
    server=$!
    servers="$servers $server"
    port=""
    for _ in $(seq 1 200); do
        # The background shell may not have made the file yet: no port yet, not an error.
        port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/$1.out" 2>/dev/null || true)
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "check-memory: $1 did not start" >&2
    cat "$work/$1.log" >&2
    exit 1
}

stop_server() { # name: SIGTERM, then the valgrind log must be clean
    { kill -TERM "$server"; wait "$server" || true; } 2>/dev/null
    if grep -Eq "(definitely|indirectly) lost: [1-9]|Invalid (read|write)|uninitialised" "$work/$1.log"; then
        echo "check-memory: $1 FAILED" >&2
        cat "$work/$1.log" >&2
        exit 1
    fi
    echo "check-memory: $1 clean"
}

check primitives "$tests/primitives"
check resolution "$tests/resolution"
check helpers "$tests/helpers"
check network "$tests/network"
check course "$tests/course" "$calls" 50000 memcheck
check course_style "$tests/course_style"
check edges "$tests/edges" all 20 memcheck

start_server echo_serve_threads "$examples/serve/echo_serve" --threads
printf 'one\ntwo\nthree\n' >"$work/lines"
check echo_client "$examples/echo/echo_client" 127.0.0.1 "$port" <"$work/lines"
cmp -s "$work/lines" "$work/echo_client.out" || { echo "check-memory: echo mismatch" >&2; exit 1; }
stop_server echo_serve_threads

start_server echo_serve_events "$examples/serve/echo_serve" --events
check echo_client_events "$examples/echo/echo_client" 127.0.0.1 "$port" <"$work/lines"
cmp -s "$work/lines" "$work/echo_client_events.out" || { echo "check-memory: echo mismatch" >&2; exit 1; }
stop_server echo_serve_events

start_server daytime_server "$examples/daytime/daytime_server"
check daytime_client "$examples/daytime/daytime_client" 127.0.0.1 "$port"
stop_server daytime_server

start_server echo_server_fork "$examples/echo/echo_server_fork"
check echo_client_course "$examples/echo/echo_client" localhost "$port" <"$work/lines"
stop_server echo_server_fork
echo "check-memory: every run clean"
