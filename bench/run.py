#!/usr/bin/env python3
"""make bench: every benchmark side by side in one run, written to BENCHMARKS.md.

Variants alternate within each round (the order rotates every round, so that no variant
is always first or last); medians, min-max, and ratios taken round by round against the
baseline. Transfer benchmarks run pinned to one core (taskset -c 0): across two cores an
idle core's wake-up dominates (METHOD below says why, in the report too). All traffic is
on loopback; every process started is stopped.

    bench/run.py [--smoke] [--out FILE]
--smoke runs each program once with tiny sizes (make test uses it so they cannot rot).
"""

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "build", "bench")
EXAMPLES = os.path.join(ROOT, "build", "examples")
PIN = ["taskset", "-c", "0"] if shutil.which("taskset") else []


# How to read the report: written into BENCHMARKS.md so that it stands on its own.
METHOD = """### How these numbers are taken

- **Where the two ends run decides the result.** On a small virtual machine, with both
  processes on one core a loopback round trip costs a few microseconds; with one end on
  each core, an idle core halts between messages and takes tens of microseconds to wake,
  which swamps what is measured. Unpinned runs jump between the two cases from run to run.
  So transfers run pinned to one core (`taskset -c 0`); a ratio never mixes a pinned and
  an unpinned figure.
- **Ratios, not absolute figures**: each variant runs in the same round as its baseline,
  the order of variants rotates every round (none is always first or last), and the ratio
  is taken round by round; the median and the min-max of those ratios are shown. Between
  two identical variants this method shows about +/-2.5 % on bulk transfers and +/-0.5 %
  on ping-pong, so smaller differences are noise.
- **UDP unpaced**: the sender outruns a receiver on the same core and the kernel drops
  datagrams; sent, received and lost are all reported.
- **Instruction counts** (valgrind's callgrind) are exact whatever the noise: they are the
  measure of what the ABI layer adds to a call."""


def measure(command, timeout=300):
    """Runs one measuring program; returns its key=value line as a dict of floats."""
    env = dict(os.environ)
    env.pop("PRISE_TRACE", None)
    out = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if out.returncode != 0:
        raise SystemExit("bench: %s failed:\n%s" % (" ".join(command), out.stderr))
    values = {}
    for field in out.stdout.split():
        key, _, value = field.partition("=")
        values[key] = float(value)
    return values


def rounds(variants, count):
    """{name: [result, ...]} with the variants' order rotated every round."""
    names = list(variants)
    results = {name: [] for name in names}
    for index in range(count):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            results[name].append(measure(variants[name]))
    return results


def spread(values):
    return statistics.median(values), min(values), max(values)


def table(results, key, unit, baseline, digits=2):
    """Markdown rows: median and min-max of `key`, and the per-round ratio to baseline."""
    rows = ["| variant | median %s | min–max | ratio to %s (median, min–max) |" % (unit, baseline),
            "|---|---|---|---|"]
    ratios = {}
    for name, runs in results.items():
        med, lo, hi = spread([r[key] for r in runs])
        if name == baseline:
            ratio = "1 (baseline)"
        else:
            per_round = [r[key] / b[key] for r, b in zip(runs, results[baseline])]
            ratios[name] = spread(per_round)
            ratio = "%.3f (%.3f–%.3f)" % ratios[name]
        rows.append("| %s | %.*f | %.*f–%.*f | %s |" % (name, digits, med, digits, lo, digits, hi, ratio))
    return rows, ratios


class Server:
    """An example server on an ephemeral loopback port, killed on exit (with every
    process it forked: it leads a session of its own)."""

    def __init__(self, path, pin=(), args=()):
        self.process = subprocess.Popen(list(pin) + [os.path.join(EXAMPLES, path)] + list(args) + ["0"],
                                        stdout=subprocess.PIPE, text=True, start_new_session=True)
        line = self.process.stdout.readline()
        self.port = int(line.rsplit(":", 1)[1])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


def instructions_per_call(command, calls, env=None):
    """User-space instructions per call of `command COUNT` (callgrind, COUNT = calls
    minus COUNT = 0, so that start-up cancels out)."""
    totals = []
    for count in (0, calls):
        cg = os.path.join(ROOT, "target", "callgrind.%d.%d" % (os.getpid(), count))
        traced = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + cg]
                                + command + [str(count)], capture_output=True, text=True,
                                timeout=600, env=env)
        collected = [line for line in traced.stderr.splitlines() if "Collected" in line]
        totals.append(int(collected[-1].split(":")[-1].strip()))
        os.remove(cg)
    return (totals[1] - totals[0]) / calls


def prise_run_section(smoke, n, section, targets):
    """prise-run's cost: a program run without a trace against the same program alone
    (a socket transfer and a file copy), and the cost of each traced call."""
    tool = os.path.join(ROOT, "build", "bin", "prise-run")
    quiet = [tool, "--no-trace"]
    size = (8 if smoke else 512) << 20
    bulk = rounds({"alone": PIN + [BENCH, "bulk", "libc", str(size)],
                   "prise-run --no-trace": PIN + quiet + [BENCH, "bulk", "libc", str(size)]}, n)
    bulk_rows, bulk_ratios = table(bulk, "seconds", "seconds", "alone", 4)

    scratch = "/dev/shm" if os.path.isdir("/dev/shm") else os.path.join(ROOT, "target")
    source = os.path.join(scratch, "prise-bench-%d.src" % os.getpid())
    copy = source[:-4] + ".dst"
    file_size = (4 if smoke else 256) << 20
    with open(source, "wb") as handle:
        handle.write(os.urandom(1 << 20) * (file_size >> 20))
    try:
        files = rounds({"alone": PIN + [BENCH, "filecopy", source, copy, "4096"],
                        "prise-run --no-trace": PIN + quiet + [BENCH, "filecopy", source, copy, "4096"]}, n)
    finally:
        for path in (source, copy):
            if os.path.exists(path):
                os.remove(path)
    file_rows, file_ratios = table(files, "seconds", "seconds", "alone", 4)

    calls = 2000 if smoke else 200000
    trace_file = os.path.join(ROOT, "target", "prise-bench-%d.trace" % os.getpid())
    traced = rounds({"--no-trace": PIN + quiet + [BENCH, "calls", "libc", str(calls)],
                     "traced": PIN + [tool, "--output", trace_file, BENCH, "calls", "libc", str(calls)]}, n)
    os.remove(trace_file)
    lines = calls + calls // 64  # the sends and the drains
    per_call = [(t["seconds"] - q["seconds"]) / lines * 1e6 for t, q in zip(traced["traced"], traced["--no-trace"])]
    cost = spread(per_call)

    report = ["### TCP bulk, %d MiB in 64 KiB writes (libc), without and under `prise-run --no-trace`"
              % (size >> 20), ""] + bulk_rows + [
        "", "### File copy, %d MiB in 4 KiB `read`/`write` calls, without and under "
        "`prise-run --no-trace`" % (file_size >> 20), ""] + file_rows + [
        "", "### Cost of a traced call",
        "", "%d one-byte `send`s and %d drains, traced into a file against `--no-trace`: "
        "%.2f µs more per traced call (median; %.2f–%.2f)." % ((calls, calls // 64) + cost)]
    if shutil.which("valgrind"):
        count = 100 if smoke else 20000
        env = dict(os.environ, LD_PRELOAD=os.path.join(ROOT, "build", "lib", "libprise_run.so"),
                   PRISE_RUN_TRACE="0")
        alone = instructions_per_call([BENCH, "calls", "libc"], count)
        under = instructions_per_call([BENCH, "calls", "libc"], count, env)
        report += ["", "Callgrind: a one-byte `send` (with a drain every 64) costs %.1f user-space "
                   "instructions alone and %.1f under prise-run without a trace: %.1f more per "
                   "socket call." % (alone, under, under - alone)]
    section("prise-run", report)
    targets.append(("prise-run --no-trace: bulk time ratio ≤ 1.02", bulk_ratios["prise-run --no-trace"][0],
                    bulk_ratios["prise-run --no-trace"][0] <= 1.02))
    targets.append(("prise-run --no-trace: file copy time ratio ≤ 1.02", file_ratios["prise-run --no-trace"][0],
                    file_ratios["prise-run --no-trace"][0] <= 1.02))


def group_pss_kib(group):
    """The proportional set size (KiB) of every process of a process group: memory a
    forking server shares with its children counts once, split between them."""
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[2]) != group:
                    continue
            with open("/proc/%s/smaps_rollup" % name) as rollup:
                total += sum(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
        except (OSError, ValueError, IndexError):
            pass  # ended meanwhile
    return total


def hold_and_measure(server, count):
    """Opens `count` connections to the server, each echoing a byte, and measures the
    server's memory (all its processes) while they are held: (result, bytes each)."""
    before = group_pss_kib(server.process.pid)
    holder = subprocess.Popen([BENCH, "hold", str(server.port), str(count), "wait"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        line = holder.stdout.readline()
        held = {key: float(value) for key, _, value in (f.partition("=") for f in line.split())}
        if "echoed" not in held:
            raise SystemExit("bench: hold printed %r" % line)
        time.sleep(0.3)  # the last children or threads settle
        during = group_pss_kib(server.process.pid)
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(300)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
    return held, (during - before) * 1024.0 / max(held["opened"], 1)


def machine():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip() or "unknown"
    return "%s, %d cores, Linux %s, Python %s, commit %s" % (
        model, os.cpu_count() or 0, platform.release(), platform.python_version(), commit)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round")
    parser.add_argument("--out", default=None, help="where to write the report")
    args = parser.parse_args()
    smoke = args.smoke
    out = args.out or os.path.join(ROOT, "target" if smoke else "", "bench-smoke.md" if smoke else "BENCHMARKS.md")
    n = 1 if smoke else 9
    started = time.time()
    report = ["# prise benchmarks", "",
              "Machine: %s.  " % machine(),
              "Command: `make bench` (`bench/run.py`), %s; %d rounds, variants alternating with "
              "the order rotated each round; ratios are taken round by round." %
              (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), n),
              "Transfers run pinned to one core (`taskset -c 0`, both ends on core 0), as parity "
              "ratios need; connection rates are given pinned and unpinned.", "", METHOD, ""]
    targets = []

    def section(title, lines):
        report.extend(["## " + title, ""] + lines + [""])
        print("\n".join(["## " + title] + lines), flush=True)

    # TCP bulk, 64 KiB chunks.
    size = (8 if smoke else 512) << 20
    bulk = rounds({v: PIN + [BENCH, "bulk", v, str(size)] for v in ("libc", "prise", "course")}, n)
    rows, ratios = table(bulk, "seconds", "seconds", "libc", 4)
    gbit = {v: statistics.median(r["gbit_per_s"] for r in runs) for v, runs in bulk.items()}
    section("TCP bulk throughput, %d MiB in 64 KiB writes" % (size >> 20), rows + [
        "", "Median Gbit/s: " + ", ".join("%s %.1f" % (v, g) for v, g in gbit.items()) + ".",
        "libc: `write`/`read` loops; prise: `prise_write_all`/`prise_read_full`; "
        "course: `writes`/`reads`."])
    targets.append(("bulk: prise/libc time ratio ≤ 1.02", ratios["prise"][0], ratios["prise"][0] <= 1.02))

    # TCP ping-pong.
    trips = 200 if smoke else 20000
    for message in (1, 100):
        pong = rounds({v: PIN + [BENCH, "pingpong", v, str(message), str(trips)]
                       for v in ("libc", "prise", "course")}, n)
        rows, ratios = table(pong, "us_per_round_trip", "µs per round trip", "libc", 3)
        section("TCP ping-pong, %d-byte messages, %d round trips" % (message, trips), rows + [
            "", "libc: `send`/`recv`; prise: `prise_send`/`prise_recv`; course: `writes`/`reads`."])
        targets.append(("ping-pong %d B: prise/libc ratio ≤ 1.02" % message, ratios["prise"][0],
                        ratios["prise"][0] <= 1.02))

    # UDP datagram rate.
    datagrams = 2000 if smoke else 200000
    udp = rounds({v: PIN + [BENCH, "udp", v, str(datagrams)] for v in ("libc", "prise")}, n)
    rows, _ = table(udp, "seconds", "seconds to send", "libc", 4)
    detail = ["| %s | sent %d | received %d (median) | lost %d (median) | %.0f datagrams/s sent |" % (
        v, statistics.median(r["sent"] for r in runs), statistics.median(r["received"] for r in runs),
        statistics.median(r["lost"] for r in runs), statistics.median(r["sent_per_s"] for r in runs))
        for v, runs in udp.items()]
    section("UDP, %d datagrams of 64 bytes, unpaced" % datagrams, rows + [
        "", "| variant | sent | received | lost | rate |", "|---|---|---|---|---|"] + detail + [
        "", "libc: `sendto`/`recvfrom`; prise: `prise_sendto`/`prise_recvfrom`. The receiver "
        "shares the core: losses are the kernel's (RcvbufErrors), not the library's."])

    # Connection rate against the example servers: pinned (server and client on core 0,
    # the parity measurement) and unpinned (the servers may use both cores).
    seconds = 0.2 if smoke else 2.0
    servers = [("fork", "echo/echo_server_fork", ()), ("threads", "echo/echo_server_threads", ()),
               ("epoll", "evented/echo_epoll", ()), ("prise_serve_fork", "serve/echo_serve", ("--fork",)),
               ("prise_serve_threads", "serve/echo_serve", ("--threads",)),
               ("prise_serve_events", "serve/echo_serve", ("--events",))]
    rate_rows = ["| server | pinned, 1 client thread | pinned, 4 client threads | "
                 "unpinned, 1 client thread | unpinned, 4 client threads |",
                 "|---|---|---|---|---|"]
    rates = {}
    for label, path, args in servers:
        cells = []
        for pin in (PIN, []):
            with Server(path, pin, args) as server:
                for threads in (1, 4):
                    runs = [measure(pin + [BENCH, "connect", str(server.port), str(threads), str(seconds)])
                            for _ in range(1 if smoke else 3)]
                    med = statistics.median(r["per_s"] for r in runs)
                    failed = sum(r["failed"] for r in runs)
                    rates[(label, bool(pin), threads)] = med
                    cells.append("%.0f%s" % (med, " (%d failed)" % failed if failed else ""))
        rate_rows.append("| %s | %s |" % (label, " | ".join(cells)))
    # The three models held side by side: prise's one-call servers (echo_serve).
    held_count = 100 if smoke else 10000
    held = {}
    for model in ("fork", "threads", "events"):
        with Server("serve/echo_serve", args=("--" + model,)) as server:
            held[model] = hold_and_measure(server, held_count)

    def ratio(server, baseline, pinned):
        return min(rates[(server, pinned, t)] / rates[(baseline, pinned, t)] for t in (1, 4))

    pinned_ratio, unpinned_ratio = ratio("epoll", "fork", True), ratio("epoll", "fork", False)
    events_ratio = ratio("prise_serve_events", "prise_serve_fork", True)
    model_rows = ["| model (`echo_serve`) | connections/s, pinned, 1 client thread | connections/s, "
                  "unpinned, 4 client threads | connections held at once (echoing) | server memory per "
                  "held connection |", "|---|---|---|---|---|"]
    for model in ("fork", "threads", "events"):
        result, per_connection = held[model]
        model_rows.append("| %s | %.0f | %.0f | %d of %d (%d) | %.1f KiB |" % (
            model, rates[("prise_serve_" + model, True, 1)], rates[("prise_serve_" + model, False, 4)],
            result["opened"], held_count, result["echoed"], per_connection / 1024))
    section("Connection rate (connect, 1-byte echo, close), connections/s, %.1f s per measurement"
            % seconds, rate_rows + [
                "", "fork, threads, epoll: the hand-written examples (`echo/`, `evented/`); prise_serve_*: "
                "`serve/echo_serve --fork|--threads|--events`, each server model as one prise call.",
                "", "epoll/fork, the lower of 1 and 4 client threads: pinned %.2f×, unpinned %.2f× "
                "(unpinned, the forking server spreads its children over both cores while the epoll "
                "server is one thread); prise_serve_events/prise_serve_fork, pinned: %.2f×."
                % (pinned_ratio, unpinned_ratio, events_ratio),
                "", "### The three server models side by side", ""] + model_rows + [
                "", "Each server held %d connections opened one after the other, each echoing a byte "
                "(descriptor limits raised in the benchmark and the server). Memory: the growth of "
                "the proportional set size (PSS, `/proc/PID/smaps_rollup`) of all the server's "
                "processes while they are held, divided by their number: a child process per "
                "client (fork), a thread stack per client (threads), a few hundred bytes of "
                "prise's per-connection state (events). The kernel's socket buffers, the same "
                "for every model, are not in it." % held_count])
    targets.append(("epoll server ≥ 3× the forking server's connections/s (pinned)", pinned_ratio,
                    pinned_ratio >= 3))
    targets.append(("prise_serve_events ≥ 3× prise_serve_fork's connections/s (pinned)", events_ratio,
                    events_ratio >= 3))
    events_held = held["events"][0]["echoed"]
    targets.append(("prise_serve_events holds ≥ 10,000 connections", events_held, events_held >= 10000))

    # Resolution.
    lines = []
    for name, count in (("127.0.0.1", 1000 if smoke else 300000), ("localhost", 100 if smoke else 30000)):
        res = rounds({v: [BENCH, "resolve", v, name, str(count)] for v in ("libc", "prise", "course")},
                     1 if smoke else 5)
        rows, _ = table(res, "calls_per_s", "calls/s", "libc", 0)
        lines += ["### %s, %d calls" % (name, count), ""] + rows + [""]
    section("Name resolution", lines + [
        "libc: `getaddrinfo`; prise: `prise_getaddrinfo` (adds the port check and the "
        "bracket handling); course: `getAddrInfo` (AF_INET, passive). Ratios here are rates: "
        "above 1 is faster."])

    # Instructions per call of the ABI.
    if shutil.which("valgrind"):
        calls = 100 if smoke else 20000
        counts = {variant: instructions_per_call([BENCH, "calls", variant], calls)
                  for variant in ("libc", "prise")}
        overhead = counts["prise"] - counts["libc"]
        section("Cost of the ABI per call (callgrind, user-space instructions)", [
            "| call | instructions per call |", "|---|---|",
            "| `send` of 1 byte (libc) | %.1f |" % counts["libc"],
            "| `prise_send` of 1 byte | %.1f |" % counts["prise"],
            "| prise's overhead | %.1f |" % overhead, "",
            "Exact counts whatever the noise: the difference of two runs (%d calls and none) per "
            "variant. It includes the panic boundary, the pointer checks, the `PRISE_TRACE` test "
            "(one load and a branch when unset) and the `Result` plumbing." % calls])
        targets.append(("ABI overhead ≤ 100 instructions per call", overhead, overhead <= 100))

    # Python.
    py = [sys.executable, os.path.join(ROOT, "bench", "py_bench.py")]
    size = (4 if smoke else 256) << 20
    pybulk = rounds({k: PIN + py + ["bulk", k, str(size)] for k in ("socket", "prise")}, n)
    rows, bulk_ratio = table(pybulk, "seconds", "seconds", "socket", 4)
    throughput = {k: statistics.median(r["gbit_per_s"] for r in runs) for k, runs in pybulk.items()}
    pytrips = 200 if smoke else 20000
    pypong = rounds({k: PIN + py + ["pingpong", k, str(pytrips)] for k in ("socket", "prise")}, n)
    prow, pong_ratio = table(pypong, "us_per_round_trip", "µs per round trip", "socket", 2)
    lines = ["### bulk, %d MiB, 64 KiB `sendall`/`recv_into`" % (size >> 20), ""] + rows + [
        "", "Median Gbit/s: socket %.1f, prise %.1f." % (throughput["socket"], throughput["prise"]),
        "", "### ping-pong, 1 byte, %d round trips (`sendall`/`recv`)" % pytrips, ""] + prow
    if shutil.which("valgrind"):
        steps = 100 if smoke else 20000
        variants = ("socket", "ctypes", "ctypes_use_errno", "ctypes_argtypes", "prise",
                    "prise_sendall_recv_into")
        # The smoke run only checks that the measurement works: two variants, few steps.
        cost = {v: instructions_per_call(py + ["calls", v], steps) / 2
                for v in (("socket", "prise") if smoke else variants)}
        cost = {v: cost.get(v, float("nan")) for v in variants}
        lines += ["", "### Cost per call (callgrind, user-space instructions; a 1-byte send "
                  "and a 1-byte receive on a socketpair, counted per call)", "",
                  "| calls | instructions per call | over socket's |", "|---|---|---|"]
        for label, variant in (
                ("socket.socket `send`, `recv`", "socket"),
                ("ctypes alone: `prise_send`, `prise_recv`, no argtypes, no use_errno", "ctypes"),
                ("… with `use_errno=True`", "ctypes_use_errno"),
                ("… with argtypes declared", "ctypes_argtypes"),
                ("prise.Socket `send`, `recv`", "prise"),
                ("prise.Socket `sendall`, `recv_into`", "prise_sendall_recv_into")):
            lines.append("| %s | %.0f | %+.0f |" % (label, cost[variant], cost[variant] - cost["socket"]))
        lines += ["", "The ctypes call itself (argument conversion, libffi, the GIL released and "
                  "taken back, the result) is the floor; prise.Socket's own Python adds %.0f "
                  "instructions per call over it (the method call, argument checks, the buffer)."
                  % (cost["prise"] - cost["ctypes"])]
    section("Python: prise.Socket against socket.socket", lines)
    targets.append(("Python bulk: prise/socket time ratio ≤ 1.03", bulk_ratio["prise"][0],
                    bulk_ratio["prise"][0] <= 1.03))
    targets.append(("Python ping-pong 1 B: prise/socket ratio ≤ 1.25", pong_ratio["prise"][0],
                    pong_ratio["prise"][0] <= 1.25))

    prise_run_section(smoke, n, section, targets)

    lines = ["| target | measured | met |", "|---|---|---|"]
    for label, value, met in targets:
        lines.append("| %s | %.3f | %s |" % (label, value, "yes" if met else "**no**"))
    section("Targets", lines + ["", "Total time of this run: %.0f s." % (time.time() - started)])
    with open(out, "w") as handle:
        handle.write("\n".join(report) + "\n")
    print("bench: wrote %s" % out)


if __name__ == "__main__":
    main()
