//! prise-run on real programs: a raw-libc program of our own (tests/prise-run/traced.c), the
//! course-style echo programs, a Python socket script, `cat`. Each test runs the
//! program under prise-run over loopback and reads the trace it printed.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{make_program, repo, Process};

const LIMIT: Duration = Duration::from_secs(60);

/// target/release, holding prise-run and libprise_run.so, built once per test binary.
fn prise_run() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        common::library_dir();
        let status = Command::new(option_env!("CARGO").unwrap_or("cargo"))
            .args(["build", "--release", "-p", "prise-run", "--quiet"])
            .current_dir(repo())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build -p prise-run failed");
        repo().join("target/release/prise-run")
    })
}

fn traced_program() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| make_program("build/tests/prise-run/traced"))
        .clone()
}

fn example(topic: &str, name: &str) -> PathBuf {
    make_program(&format!("build/examples/{topic}/{name}"))
}

/// prise-run with `args` (its options, the program and its arguments), to the end.
fn run_under(args: &[&str], stdin: &[u8]) -> Output {
    let mut command = Command::new(prise_run());
    command
        .args(args)
        .env_remove("PRISE_TRACE")
        .env_remove("LD_PRELOAD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut process = Process::spawn(&mut command);
    let mut input = process.child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    process.wait(LIMIT)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The trace lines of a run (stderr lines that start with `prise`).
fn trace(output: &Output) -> Vec<String> {
    text(&output.stderr)
        .lines()
        .filter(|l| l.starts_with("prise:") || l.starts_with("prise["))
        .map(String::from)
        .collect()
}

/// `name=value` from a program's stdout.
fn reported(stdout: &str, name: &str) -> String {
    stdout
        .split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in {stdout}"))
        .to_string()
}

fn has(lines: &[String], predicate: impl Fn(&str) -> bool) -> bool {
    lines.iter().any(|l| predicate(l))
}

fn show(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    )
}

#[test]
fn raw_libc_conversation_shows_addresses_peers_bytes_and_pids() {
    let program = traced_program();
    let output = run_under(&["--data", program.to_str().unwrap(), "conversation"], b"");
    let all = show(&output);
    assert!(output.status.success(), "{all}");
    let stdout = text(&output.stdout);
    let lines = trace(&output);
    let port = reported(&stdout, "port");
    let parent = reported(&stdout, "parent");
    let child = reported(&stdout, "child");

    assert_eq!(
        lines[0], "prise: socket(AF_INET, SOCK_STREAM, 0) = 3",
        "{all}"
    );
    assert_eq!(
        lines[1],
        format!("prise: bind(3, 127.0.0.1:0) = 0, bound 127.0.0.1:{port}"),
        "{all}"
    );
    assert!(lines[2].starts_with("prise: listen(3, 8) = 0"), "{all}");
    // After the fork both processes show their pid.
    let accepted = lines
        .iter()
        .find(|l| l.starts_with(&format!("prise[{parent}]: accept(3) = 4, peer 127.0.0.1:")))
        .unwrap_or_else(|| panic!("no accept line\n{all}"));
    let peer_port = accepted.rsplit(':').next().unwrap();
    assert!(
        has(&lines, |l| l.starts_with(&format!(
            "prise[{parent}]: select(4, [3], [], [], 10 s) = 1, read [3]"
        ))),
        "{all}"
    );
    assert!(
        has(&lines, |l| l
            .contains("epoll_ctl(5, EPOLL_CTL_ADD, 4, EPOLLIN) = 0")),
        "{all}"
    );
    assert!(
        has(&lines, |l| l
            .contains("epoll_wait(5, 1, 10000) = 1, [fd 4 EPOLLIN]")),
        "{all}"
    );
    assert!(
        has(&lines, |l| l
            .starts_with(&format!("prise[{child}]: connect("))
            && l.contains(&format!(
                "127.0.0.1:{port}) = 0, from 127.0.0.1:{peer_port}"
            ))),
        "the client's local port is the peer the server accepted\n{all}"
    );
    assert!(
        has(&lines, |l| l
            .starts_with(&format!("prise[{child}]: write("))
            && l.ends_with(", \"ping\\n\", 5) = 5")),
        "{all}"
    );
    assert!(
        has(&lines, |l| l.starts_with(&format!(
            "prise[{parent}]: read(4, \"ping\\n\", 16) = 5"
        ))),
        "{all}"
    );
    assert!(
        has(&lines, |l| l
            .contains("writev(4, \"pong\\n\", 5 in 2 buffers) = 5")),
        "{all}"
    );
    assert!(
        has(&lines, |l| l.contains("sendto(")
            && l.contains("\"datagram\", 8, 0, 127.0.0.1:")),
        "{all}"
    );
    assert!(
        has(&lines, |l| l.contains("recvfrom(")
            && l.contains(") = 8, from 127.0.0.1:")),
        "{all}"
    );
    assert!(
        has(&lines, |l| l
            .ends_with("gethostbyname(\"localhost\") = 127.0.0.1")),
        "{all}"
    );
    let refused = reported(&stdout, "refused");
    assert!(
        has(&lines, |l| l.contains("connect(")
            && l.contains(&format!(
                "127.0.0.1:{refused}) = -1 ECONNREFUSED (Connection refused): connect socket"
            ))
            && l.ends_with(&format!(
                "(is a server listening on 127.0.0.1:{refused}?)"
            ))),
        "{all}"
    );
    // The program's own output goes to a pipe: never traced.
    assert!(!has(&lines, |l| l.contains("write(1,")), "{all}");
}

/// Reads `path` until `done` holds for its text, within ten seconds.
fn wait_for_file(path: &Path, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let content = std::fs::read_to_string(path).unwrap_or_default();
        if done(&content) || Instant::now() > deadline {
            return content;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn course_echo_session_shows_prise_calls_with_their_inner_calls_beneath() {
    let server_program = example("echo", "echo_server_fork");
    let client_program = example("echo", "echo_client");
    let server_trace =
        std::env::temp_dir().join(format!("prise-run-echo-{}.trace", std::process::id()));
    let mut server = Process::spawn(
        Command::new(prise_run())
            .arg("--output")
            .arg(&server_trace)
            .arg(&server_program)
            .arg("0")
            .env_remove("LD_PRELOAD")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let listening = server.read_line(Duration::from_secs(10));
    let port = listening.rsplit(':').next().unwrap().trim().to_string();
    assert!(port.parse::<u16>().is_ok(), "{listening:?}");

    let client = run_under(
        &[
            "--data",
            client_program.to_str().unwrap(),
            "127.0.0.1",
            &port,
        ],
        b"bonjour\nau revoir\n",
    );
    assert!(client.status.success(), "{}", show(&client));
    assert_eq!(text(&client.stdout), "bonjour\nau revoir\n");
    let lines = trace(&client);
    let all = show(&client);
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("no line starting {needle:?}\n{all}"))
    };
    // The course call, then what it did, indented.
    let creer = at(&format!(
        "prise: creerSock(\"127.0.0.1\", \"{port}\", SOCK_STREAM) = 0x"
    ));
    assert!(
        lines[creer + 1].starts_with("prise:   getaddrinfo(\"127.0.0.1\""),
        "{all}"
    );
    assert!(
        lines[creer + 2].starts_with("prise:   socket(AF_INET, SOCK_STREAM"),
        "{all}"
    );
    at(&format!(
        "prise: connect(3, 127.0.0.1:{port}) = 0, from 127.0.0.1:"
    ));
    let writes = at("prise: writes(3, ");
    assert_eq!(
        lines[writes + 1],
        "prise:   send(3, \"bonjour\\n\", 8, MSG_NOSIGNAL) = 8",
        "{all}"
    );
    let reads = at("prise: reads(3, ");
    assert_eq!(
        lines[reads + 1],
        "prise:   read(3, \"bonjour\\n\", 8) = 8",
        "{all}"
    );
    at("prise: close(3) = 0");

    let server_lines = wait_for_file(&server_trace, |t| {
        t.contains(") = 0\n") && t.matches("close(4) = 0").count() >= 2
    });
    drop(server);
    let _ = std::fs::remove_file(&server_trace);
    let server_lines: Vec<&str> = server_lines.lines().collect();
    let all = server_lines.join("\n");
    assert!(
        server_lines[0].starts_with("prise: bindedSocket(NULL, \"0\", SOCK_STREAM, ")
            && server_lines[0].ends_with(") = 3"),
        "{all}"
    );
    assert!(
        server_lines[1].starts_with(
            "prise:   getaddrinfo(NULL, \"0\", {AF_INET, SOCK_STREAM, AI_PASSIVE}) = 0, 0.0.0.0:0"
        ),
        "{all}"
    );
    assert!(
        server_lines[2].starts_with("prise:   socket(AF_INET, SOCK_STREAM"),
        "{all}"
    );
    assert_eq!(
        server_lines[3], "prise:   setsockopt(3, SOL_SOCKET, SO_REUSEADDR, 1) = 0",
        "{all}"
    );
    assert_eq!(
        server_lines[4],
        format!("prise:   bind(3, 0.0.0.0:0) = 0, bound 0.0.0.0:{port}"),
        "{all}"
    );
    // The forked child that serves the client shows its pid on every line.
    let child_read = server_lines
        .iter()
        .find(|l| l.starts_with("prise[") && l.contains("]: read(4, …, 4096) = 8"))
        .unwrap_or_else(|| panic!("no read of the child\n{all}"));
    let child_pid = &child_read[..child_read.find(']').unwrap() + 1];
    assert!(
        server_lines
            .iter()
            .any(|l| l.starts_with(child_pid) && l.contains("writes(4, ")),
        "{all}"
    );
    assert!(
        server_lines
            .iter()
            .any(|l| l.starts_with(child_pid) && l.contains("  send(4, …, 8, MSG_NOSIGNAL) = 8")),
        "{all}"
    );
}

#[test]
fn the_upload_example_breaks_naive_and_survives_careful_under_the_same_faults() {
    let server_program = example("echo", "echo_server_fork");
    let upload = example("faults", "upload");
    let mut server = Process::spawn(
        Command::new(&server_program)
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let listening = server.read_line(Duration::from_secs(10));
    let port = listening.rsplit(':').next().unwrap().trim().to_string();
    let upload = upload.to_str().unwrap();
    let faults = ["--fault", "short-write=0.5", "--seed", "7"];
    let run = |mode: &str| {
        let mut args = faults.to_vec();
        args.extend([upload, mode, "localhost", &port, "20000"]);
        run_under(&args, b"")
    };
    let naive = run("naive");
    let all = show(&naive);
    assert_eq!(naive.status.code(), Some(1), "{all}");
    assert!(
        text(&naive.stderr).contains("this program does not loop"),
        "{all}"
    );
    assert!(
        has(&trace(&naive), |l| l
            .starts_with("prise: write(3, …, 20000) = ")
            && l.ends_with("[injected]")),
        "{all}"
    );
    let careful = run("careful");
    let all = show(&careful);
    assert!(careful.status.success(), "{all}");
    assert_eq!(
        text(&careful.stdout),
        "upload: 20000 bytes sent and echoed intact\n"
    );
    assert!(
        has(&trace(&careful), |l| l
            .starts_with("prise:   send(3, …, 20000, MSG_NOSIGNAL) = ")
            && l.ends_with("[injected]")),
        "{all}"
    );
    // Replayed: the same seed cuts the same first write at the same place.
    let again = run("naive");
    let first = |o: &Output| trace(o).into_iter().find(|l| l.contains("[injected]"));
    assert_eq!(first(&naive), first(&again));
    drop(server);
}

#[test]
fn python_socket_client_and_server_are_traced() {
    let script = std::env::temp_dir().join(format!("prise-run-{}.py", std::process::id()));
    std::fs::write(
        &script,
        "import socket, threading\n\
         srv = socket.socket()\n\
         srv.bind(('127.0.0.1', 0))\n\
         srv.listen()\n\
         port = srv.getsockname()[1]\n\
         print('port=%d' % port, flush=True)\n\
         def serve():\n\
         \x20   conn, _ = srv.accept()\n\
         \x20   conn.sendall(conn.recv(100).upper())\n\
         \x20   conn.close()\n\
         t = threading.Thread(target=serve)\n\
         t.start()\n\
         with socket.create_connection(('localhost', port), timeout=10) as c:\n\
         \x20   c.sendall(b'bonjour')\n\
         \x20   print(c.recv(100).decode(), flush=True)\n\
         t.join()\n\
         srv.close()\n",
    )
    .unwrap();
    let output = run_under(&["--data", "python3", script.to_str().unwrap()], b"");
    let _ = std::fs::remove_file(&script);
    let all = show(&output);
    assert!(output.status.success(), "{all}");
    let stdout = text(&output.stdout);
    assert!(stdout.contains("BONJOUR"), "{all}");
    let port = reported(&stdout, "port");
    let lines = trace(&output);
    assert!(
        has(&lines, |l| l.ends_with(&format!(
            "bind(3, 127.0.0.1:0) = 0, bound 127.0.0.1:{port}"
        ))),
        "{all}"
    );
    assert!(
        has(&lines, |l| l.contains(&format!(
            "getaddrinfo(\"localhost\", \"{port}\", {{AF_UNSPEC, SOCK_STREAM}}) = 0, "
        ))),
        "{all}"
    );
    // With a timeout, Python connects without blocking and waits in poll.
    assert!(
        has(&lines, |l| l.contains(&format!(
            ", 127.0.0.1:{port}) = -1 EINPROGRESS (Operation now in progress)"
        ))),
        "{all}"
    );
    assert!(
        has(&lines, |l| l.contains("poll([")
            && l.contains(" POLLOUT], 1, 10000) = 1")),
        "{all}"
    );
    assert!(
        has(&lines, |l| l.contains("\"bonjour\", 7, 0) = 7")),
        "{all}"
    );
    // The server thread shows its thread id.
    assert!(
        has(&lines, |l| l.starts_with("prise[")
            && l.contains('/')
            && l.contains("accept4(3, ")
            && l.contains(", peer 127.0.0.1:")),
        "{all}"
    );
    assert!(
        has(&lines, |l| l.contains("\"BONJOUR\", 7, 0) = 7")),
        "{all}"
    );
}

#[test]
fn cat_copies_a_file_byte_identical_and_untraced_even_with_faults() {
    let source = std::env::temp_dir().join(format!("prise-run-cat-{}", std::process::id()));
    let data: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&source, &data).unwrap();
    for options in [
        &[][..],
        &["--fault", "short-write=1,short-read=1,eintr=0.5,reset=0.5"],
    ] {
        // A file, not a pipe, for cat's output: nothing waits for a reader.
        let copy = source.with_extension("copy");
        let output = Process::spawn(
            Command::new(prise_run())
                .args(options)
                .arg("cat")
                .arg(&source)
                .env_remove("LD_PRELOAD")
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&copy).unwrap())
                .stderr(Stdio::piped()),
        )
        .wait(LIMIT);
        assert!(output.status.success(), "{}", show(&output));
        let copied = std::fs::read(&copy).unwrap();
        let _ = std::fs::remove_file(&copy);
        assert!(
            copied == data,
            "cat's copy differs under prise-run {options:?}"
        );
        assert!(trace(&output).is_empty(), "{}", show(&output));
    }
    let _ = std::fs::remove_file(&source);
}

#[test]
fn a_closed_peer_is_epipe_and_the_line_says_sigpipe_would_have_killed() {
    let program = traced_program();
    let program = program.to_str().unwrap();
    // Without prise-run the program dies of SIGPIPE: the test can tell the difference.
    let bare = common::run(Path::new(program), &["epipe"], &[], LIMIT);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(bare.status.signal(), Some(libc::SIGPIPE), "{}", show(&bare));

    let output = run_under(&[program, "epipe"], b"");
    let all = show(&output);
    assert!(output.status.success(), "{all}");
    assert!(
        text(&output.stdout).contains("write=-1 errno=EPIPE"),
        "{all}"
    );
    assert!(
        has(&trace(&output), |l| {
            l.contains("write(3, …, 5) = -1 EPIPE (Broken pipe)")
            && l.contains("(the peer has closed the connection)")
            && l.ends_with("(without prise-run, SIGPIPE would have killed the program here; --sigpipe lets it)")
        }),
        "{all}"
    );

    // Without a trace too (the library's quickest path).
    let quiet = run_under(&["--no-trace", program, "epipe"], b"");
    assert!(quiet.status.success(), "{}", show(&quiet));
    assert!(trace(&quiet).is_empty(), "{}", show(&quiet));

    let killed = run_under(&["--sigpipe", program, "epipe"], b"");
    assert_eq!(
        killed.status.signal(),
        Some(libc::SIGPIPE),
        "{}",
        show(&killed)
    );

    // A program that handles SIGPIPE still gets it, as it would without prise-run.
    let handled = run_under(&[program, "epipe", "handler"], b"");
    assert!(handled.status.success(), "{}", show(&handled));
    assert!(
        text(&handled.stdout).contains("write=-1 errno=EPIPE handler=1"),
        "{}",
        show(&handled)
    );
    assert!(
        !text(&handled.stderr).contains("would have killed"),
        "{}",
        show(&handled)
    );
}

/// Runs `traced transfer WRITER READER BYTES` under the faults.
fn transfer(faults: &str, seed: &str, writer: &str, reader: &str, bytes: &str) -> Output {
    let program = traced_program();
    run_under(
        &[
            "--fault",
            faults,
            "--seed",
            seed,
            program.to_str().unwrap(),
            "transfer",
            writer,
            reader,
            bytes,
        ],
        b"",
    )
}

/// The fault notes of one process's lines, its pid taken off.
fn injected_by(output: &Output, pid: &str) -> Vec<String> {
    trace(output)
        .into_iter()
        .filter(|l| l.starts_with(&format!("prise[{pid}]")) && l.contains("[injected]"))
        .map(|l| l[l.find(':').unwrap()..].to_string())
        .collect()
}

#[test]
fn short_writes_break_a_naive_writer_and_a_looping_one_survives_the_same_seed() {
    let naive = transfer("short-write=1", "7", "naive", "loop", "100000");
    let all = show(&naive);
    assert!(!naive.status.success(), "{all}");
    assert!(text(&naive.stdout).contains("short write: "), "{all}");
    assert!(
        text(&naive.stderr)
            .contains("prise-run: injecting short-write=1 with seed 7 (--seed 7 replays them)"),
        "{all}"
    );
    assert!(
        has(&trace(&naive), |l| l.contains("write(")
            && l.contains("(short write: at most ")
            && l.ends_with("of 100000 bytes) [injected]")),
        "{all}"
    );

    let careful = transfer("short-write=1", "7", "loop", "loop", "100000");
    let all = show(&careful);
    assert!(careful.status.success(), "{all}");
    assert!(text(&careful.stdout).contains("received=100000"), "{all}");
    assert!(
        trace(&careful)
            .iter()
            .filter(|l| l.contains("[injected]"))
            .count()
            > 1,
        "{all}"
    );

    // The same seed gives the same faults; another seed, others.
    let runs: Vec<Vec<String>> = ["42", "42", "43"]
        .iter()
        .map(|seed| {
            let output = transfer("short-write=0.5", seed, "loop", "loop", "200000");
            assert!(output.status.success(), "{}", show(&output));
            injected_by(&output, &reported(&text(&output.stdout), "writer"))
        })
        .collect();
    assert!(!runs[0].is_empty());
    assert_eq!(runs[0], runs[1], "seed 42 twice");
    assert_ne!(runs[0], runs[2], "seeds 42 and 43");
}

#[test]
fn short_reads_break_a_naive_reader() {
    let naive = transfer("short-read=1", "3", "loop", "naive", "1000");
    let all = show(&naive);
    assert!(!naive.status.success(), "{all}");
    assert!(text(&naive.stdout).contains("short read: "), "{all}");
    assert!(
        has(&trace(&naive), |l| l.contains("(short read: at most ")
            && l.ends_with("of 1000 bytes) [injected]")),
        "{all}"
    );
    let careful = transfer("short-read=1", "3", "loop", "loop", "1000");
    assert!(careful.status.success(), "{}", show(&careful));
    // Without faults the naive reader gets its 1000 bytes in one read.
    let quiet = transfer("", "3", "loop", "naive", "1000");
    assert!(quiet.status.success(), "{}", show(&quiet));
}

#[test]
fn eintr_and_resets_are_injected_and_marked() {
    let interrupted = transfer("eintr=0.3", "11", "loop", "loop", "300000");
    let all = show(&interrupted);
    assert!(
        interrupted.status.success(),
        "a program that retries EINTR survives\n{all}"
    );
    assert!(
        has(&trace(&interrupted), |l| l
            .contains("= -1 EINTR (Interrupted system call)")
            && l.ends_with("[injected]")),
        "{all}"
    );
    let naive = transfer("eintr=0.5", "11", "naive", "loop", "300000");
    assert!(!naive.status.success(), "{}", show(&naive));

    let reset = transfer("reset=0.2", "5", "loop", "loop", "300000");
    let all = show(&reset);
    assert!(!reset.status.success(), "{all}");
    assert!(
        has(&trace(&reset), |l| l
            .contains("= -1 ECONNRESET (Connection reset by peer)")
            && l.contains("(the peer reset the connection)")
            && l.ends_with("(connection reset) [injected]")),
        "{all}"
    );
}

#[test]
fn eagain_only_on_nonblocking_sockets_refusals_and_delays() {
    let program = traced_program();
    let program = program.to_str().unwrap();
    let output = run_under(
        &[
            "--fault",
            "eagain=0.5",
            "--seed",
            "9",
            program,
            "nonblocking",
        ],
        b"",
    );
    let all = show(&output);
    assert!(output.status.success(), "{all}");
    assert!(
        has(&trace(&output), |l| l
            .contains("= -1 EAGAIN (Resource temporarily unavailable)")
            && l.ends_with("[injected]")),
        "{all}"
    );
    // Blocking sockets never get EAGAIN.
    let blocking = transfer("eagain=0.99", "9", "naive", "naive", "1000");
    assert!(blocking.status.success(), "{}", show(&blocking));
    assert!(
        !text(&blocking.stderr).contains("[injected]"),
        "{}",
        show(&blocking)
    );

    let refused = run_under(&["--fault", "refuse=1", program, "refused"], b"");
    let all = show(&refused);
    assert!(!refused.status.success(), "{all}");
    assert!(
        text(&refused.stdout).contains("connect=Connection refused"),
        "{all}"
    );
    let port = reported(&text(&refused.stdout), "port");
    assert!(
        has(&trace(&refused), |l| l
            .contains(&format!("127.0.0.1:{port}) = -1 ECONNREFUSED"))
            && l.contains(&format!(
                "(is a server listening on 127.0.0.1:{port}?)"
            ))
            && l.ends_with("[injected]")),
        "{all}"
    );

    let delayed = run_under(&["--fault", "delay=20", program, "refused"], b"");
    assert!(delayed.status.success(), "{}", show(&delayed));
    assert!(
        has(&trace(&delayed), |l| l.contains("connect(")
            && l.ends_with("(delayed 20 ms) [injected]")),
        "{}",
        show(&delayed)
    );
}

#[test]
fn errno_is_the_real_calls_and_reused_descriptor_numbers_are_not_sockets() {
    let program = traced_program();
    let file = std::env::temp_dir().join(format!("prise-run-errno-{}.trace", std::process::id()));
    let output = run_under(
        &[
            "-o",
            file.to_str().unwrap(),
            program.to_str().unwrap(),
            "errno",
        ],
        b"",
    );
    let lines = std::fs::read_to_string(&file).unwrap_or_default();
    let _ = std::fs::remove_file(&file);
    let all = format!("{}\ntrace file:\n{lines}", show(&output));
    assert!(output.status.success(), "{all}");
    assert!(
        text(&output.stdout).contains("errno checks: 0 failed"),
        "{all}"
    );
    assert!(
        trace(&output).is_empty(),
        "--output sends the trace to the file\n{all}"
    );
    assert!(lines.contains("send(3, …, 3, 0) = 3"), "{all}");
    assert!(
        !lines.contains("getsockopt"),
        "a pipe is not a socket\n{all}"
    );
    let pipes = reported(&text(&output.stdout), "pipe-fds");
    let (read_end, write_end) = pipes.split_once(',').unwrap();
    assert!(!lines.contains(&format!("write({write_end}, ")), "{all}");
    assert!(!lines.contains(&format!("read({read_end}, ")), "{all}");
}

#[test]
fn sockets_made_before_main_dupped_and_inherited_across_exec_are_seen() {
    let program = traced_program();
    let program = program.to_str().unwrap();
    let output = run_under(&[program, "early", program], b"");
    let all = show(&output);
    assert!(output.status.success(), "{all}");
    let lines = trace(&output);
    assert_eq!(
        lines[0], "prise: socketpair(AF_UNIX, SOCK_STREAM, 0) = 0, [3, 4]",
        "{all}"
    );
    assert_eq!(lines[1], "prise: write(3, …, 5) = 5", "{all}");
    assert!(has(&lines, |l| l == "prise: write(50, …, 3) = 3"), "{all}");
    // The executed program inherited descriptor 50 and is traced too, with its pid.
    assert!(
        has(&lines, |l| l.starts_with("prise[")
            && l.ends_with("]: write(50, …, 9) = 9")),
        "{all}"
    );

    let unfollowed = run_under(&["--no-follow", program, "early", program], b"");
    let all = show(&unfollowed);
    assert!(unfollowed.status.success(), "{all}");
    assert!(
        has(&trace(&unfollowed), |l| l == "prise: write(50, …, 3) = 3"),
        "{all}"
    );
    assert!(
        !has(&trace(&unfollowed), |l| l.contains("write(50, …, 9)")),
        "{all}"
    );
}

#[test]
fn threads_show_their_ids_and_spawning_is_safe() {
    let program = traced_program();
    let program = program.to_str().unwrap();
    let output = run_under(&[program, "threads"], b"");
    let all = show(&output);
    assert!(output.status.success(), "{all}");
    let main = reported(&text(&output.stdout), "main");
    let threads: std::collections::HashSet<String> = trace(&output)
        .iter()
        .filter(|l| l.starts_with(&format!("prise[{main}/")) && l.contains("send("))
        .map(|l| l[..l.find(':').unwrap()].to_string())
        .collect();
    assert_eq!(threads.len(), 2, "two threads, each with its id\n{all}");

    let output = run_under(&[program, "spawn"], b"");
    let all = show(&output);
    assert!(output.status.success(), "{all}");
    assert!(
        text(&output.stdout).contains("vfork=1 posix_spawn=1"),
        "{all}"
    );
    assert!(
        has(&trace(&output), |l| l.ends_with("send(3, …, 5, 0) = 5")),
        "{all}"
    );
}

#[test]
fn a_signal_handler_sending_on_a_socket_neither_deadlocks_nor_loses_bytes() {
    let program = traced_program();
    let file = std::env::temp_dir().join(format!("prise-run-signals-{}.trace", std::process::id()));
    let output = run_under(
        &[
            "-o",
            file.to_str().unwrap(),
            program.to_str().unwrap(),
            "signals",
        ],
        b"",
    );
    let lines = std::fs::read_to_string(&file).unwrap_or_default();
    let _ = std::fs::remove_file(&file);
    let all = show(&output);
    assert!(output.status.success(), "{all}");
    let stdout = text(&output.stdout);
    assert_eq!(reported(&stdout, "rounds"), "3000", "{all}");
    let alarms: usize = reported(&stdout, "alarms").parse().unwrap();
    assert!(alarms > 0, "the timer fired\n{all}");
    // The handler's sends that did not interrupt the library's own work are traced.
    assert!(lines.contains("send(5, …, 1, MSG_DONTWAIT) = 1"), "{all}");
    assert_eq!(lines.matches("send(3, …, 1, 0) = 1").count(), 3000, "{all}");
}

#[test]
fn static_programs_are_refused_with_the_reason() {
    let program = make_program("build/tests/prise-run/static_socket");
    // It runs by itself; prise-run refuses it before running it.
    assert!(common::run(&program, &[], &[], LIMIT).status.success());
    let output = run_under(&[program.to_str().unwrap()], b"");
    assert_eq!(output.status.code(), Some(126), "{}", show(&output));
    assert!(
        text(&output.stderr).contains("is statically linked: no dynamic loader runs for it"),
        "{}",
        show(&output)
    );
}

#[test]
fn usage_mistakes_say_what_is_wrong() {
    for (args, status, needle) in [
        (
            &["--fault", "lose=0.1", "true"][..],
            2,
            "unknown fault `lose`",
        ),
        (&["--fault", "eintr=2", "true"], 2, "not a probability"),
        (&["--seed"], 2, "--seed needs a number"),
        (&["--bogus", "true"], 2, "unknown option --bogus"),
        (&[], 2, "no program to run"),
        (&["./no-such-program-here"], 127, "no such program"),
    ] {
        let output = run_under(args, b"");
        assert_eq!(
            output.status.code(),
            Some(status),
            "{args:?}: {}",
            show(&output)
        );
        assert!(
            text(&output.stderr).contains(needle),
            "{args:?}: {}",
            show(&output)
        );
    }
    let help = run_under(&["--help"], b"");
    assert!(help.status.success());
    for section in [
        "SYNOPSIS",
        "OPTIONS",
        "FAULTS",
        "short-write=P",
        "EXIT STATUS",
        "LIMITS",
    ] {
        assert!(text(&help.stdout).contains(section), "{section}");
    }
}

#[test]
fn the_library_exports_only_the_functions_it_interposes() {
    prise_run();
    let output = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(repo().join("target/release/libprise_run.so"))
        .output()
        .expect("nm runs");
    let names: Vec<String> = text(&output.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(String::from))
        .collect();
    for name in [
        "socket",
        "connect",
        "read",
        "write",
        "getaddrinfo",
        "poll",
        "prise_run_hook",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} missing from {names:?}"
        );
    }
    // prise's own functions stay private: the program keeps its libprise or helper.
    let leaked: Vec<&String> = names
        .iter()
        .filter(|n| {
            n.starts_with("prise_") && *n != "prise_run_hook"
                || ["bindedSocket", "creerSock", "writes", "reads"].contains(&n.as_str())
        })
        .collect();
    assert!(leaked.is_empty(), "exported: {leaked:?}");
}

#[test]
fn prise_trace_under_prise_run_prints_each_call_once() {
    let program = example("echo", "echo_client");
    let mut command = Command::new(prise_run());
    command
        .args([program.to_str().unwrap(), "127.0.0.1", "1"])
        .env("PRISE_TRACE", "1")
        .env_remove("LD_PRELOAD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = Process::spawn(&mut command).wait(LIMIT);
    let lines = trace(&output);
    let all = show(&output);
    assert_eq!(
        lines.iter().filter(|l| l.contains("creerSock(")).count(),
        1,
        "{all}"
    );
    assert!(
        has(&lines, |l| l
            .contains("connect(3, 127.0.0.1:1) = -1 ECONNREFUSED")),
        "{all}"
    );
}
