//! The C examples and course-style programs: compiled the way a student would (only
//! the course's headers, -Wall -Wextra, no warning allowed), linked with -lprise alone,
//! and run end to end over loopback.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{
    compile_test_program, expect_success, make_program, repo, run, run_client, start_server,
    Process,
};

fn example(topic: &str, name: &str) -> std::path::PathBuf {
    make_program(&format!("build/examples/{topic}/{name}"))
}

#[test]
fn course_style_program_compiles_with_only_the_course_header() {
    let program = compile_test_program("course_style");
    let stdout = expect_success(
        "course_style",
        &run(&program, &[], &[], Duration::from_secs(20)),
    );
    assert!(stdout.contains("serveur sur 0.0.0.0 port "), "{stdout}");
    assert!(
        stdout.contains("salut recu de ADDRESS 127.0.0.1:"),
        "{stdout}"
    );
}

#[test]
fn echo_client_and_forking_server_exchange_lines() {
    let server_program = example("echo", "echo_server_fork");
    let client_program = example("echo", "echo_client");
    let (_server, port) = start_server(&server_program, &["0"]);

    let input = "bonjour\nhello, prise\n\nthe last line\n";
    let stdout = run_client(&client_program, &["127.0.0.1", &port.to_string()], input);
    assert_eq!(
        stdout, input,
        "the client ends at EOF with every line echoed"
    );
}

#[test]
fn examples_print_usage_and_clear_errors() {
    let client = example("echo", "echo_client");
    let output = run(&client, &[], &[], Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage:"));

    let output = run(
        &client,
        &["nosuchhost.invalid", "7"],
        &[],
        Duration::from_secs(10),
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("creerSock") && stderr.contains("nosuchhost.invalid"),
        "{stderr}"
    );

    let output = run(
        &client,
        &["127.0.0.1", "99999"],
        &[],
        Duration::from_secs(10),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("0 to 65535"));
}

/// Runs a client program with `input` on stdin; returns its stdout (success required).
/// `clients` concurrent TCP clients, each sending `chunks` pieces of 4 KiB of its own
/// pattern and checking every byte of the echo. Returns the bytes checked.
fn concurrent_echo(port: u16, clients: usize, chunks: usize) -> usize {
    use std::io::{Read, Write as _};
    let threads: Vec<_> = (0..clients)
        .map(|id| {
            std::thread::spawn(move || {
                let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(20)))
                    .unwrap();
                let mut checked = 0;
                for chunk in 0..chunks {
                    let data: Vec<u8> = (0..4096)
                        .map(|i| (i * 31 + id * 7 + chunk * 13) as u8)
                        .collect();
                    stream.write_all(&data).unwrap();
                    let mut back = vec![0u8; data.len()];
                    stream.read_exact(&mut back).unwrap();
                    assert_eq!(back, data, "client {id} chunk {chunk}");
                    checked += back.len();
                }
                checked
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).sum()
}

#[test]
fn fifty_concurrent_clients_on_every_tcp_echo_server() {
    for (topic, name, args) in [
        ("echo", "echo_server_threads", &["0"][..]),
        ("echo", "echo_server_fork", &["0"]),
        ("evented", "echo_epoll", &["0"]),
        ("serve", "echo_serve", &["--fork", "0"]),
        ("serve", "echo_serve", &["--threads", "0"]),
        ("serve", "echo_serve", &["--events", "0"]),
    ] {
        let (_server, port) = start_server(&example(topic, name), args);
        let checked = concurrent_echo(port, 50, 16);
        assert_eq!(checked, 50 * 16 * 4096, "{name}");
    }
}

#[test]
fn serve_examples_stop_cleanly_on_sigterm() {
    for model in ["--fork", "--threads", "--events"] {
        let name = format!("echo_serve {model}");
        let (mut server, port) = start_server(&example("serve", "echo_serve"), &[model]);
        assert_eq!(concurrent_echo(port, 3, 2), 3 * 2 * 4096);
        // SAFETY: kill(2) on the server we started.
        unsafe { libc::kill(server.child.id() as libc::pid_t, libc::SIGTERM) };
        let status = common::wait_bounded(&mut server.child, Duration::from_secs(10));
        assert!(status.success(), "{name} ended with {status:?}");
    }
}

#[test]
fn udp_echo_over_ipv4_and_ipv6() {
    let (_server, port) = start_server(&example("echo", "udp_echo_server"), &["0"]);
    let client = example("echo", "udp_echo_client");
    let input = "one datagram\nanother one\n";
    for host in ["127.0.0.1", "::1"] {
        assert_eq!(
            run_client(&client, &[host, &port.to_string()], input),
            input
        );
    }
}

#[test]
fn daytime_pair() {
    let (_server, port) = start_server(&example("daytime", "daytime_server"), &["0"]);
    let client = example("daytime", "daytime_client");
    let stdout = run_client(&client, &["localhost", &port.to_string()], "");
    let year = 1970
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 31_556_952;
    assert!(stdout.ends_with("\r\n"), "{stdout:?}");
    assert!(
        stdout.contains(&year.to_string()) || stdout.contains(&(year + 1).to_string()),
        "{stdout:?}"
    );
}

#[test]
fn lookup_shows_every_helper() {
    let program = example("lookup", "lookup");
    let stdout = expect_success(
        "lookup",
        &run(&program, &["localhost", "80"], &[], Duration::from_secs(20)),
    );
    assert!(stdout.contains("getaddrinfo localhost"), "{stdout}");
    assert!(stdout.contains("127.0.0.1:80"), "{stdout}");
    assert!(stdout.contains("reverse: "), "{stdout}");
    assert!(
        stdout.contains("gethostbyname localhost: name "),
        "{stdout}"
    );
    assert!(stdout.contains("IPv4  127.0.0.1"), "{stdout}");
    let output = run(
        &program,
        &["nosuchhost.invalid"],
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nosuchhost.invalid"));
}

#[test]
fn unix_stream_echo_and_datagram_request_reply() {
    let dir = std::env::temp_dir();
    let stream_path = dir.join(format!("prise-example-{}.sock", std::process::id()));
    let stream_path = stream_path.to_str().unwrap().to_string();
    let (_server, _) = start_server_unix(&example("unix", "unix_echo_server"), &stream_path);
    let input = "over a Unix socket\nsecond line\n";
    assert_eq!(
        run_client(&example("unix", "unix_echo_client"), &[&stream_path], input),
        input
    );

    let abstract_name = format!("@prise-example-{}", std::process::id());
    let (_dgram, _) = start_server_unix(&example("unix", "unix_dgram_server"), &abstract_name);
    assert_eq!(
        run_client(
            &example("unix", "unix_dgram_client"),
            &[&abstract_name],
            "shout this\n"
        ),
        "SHOUT THIS\n"
    );
}

/// Starts a Unix-domain server that prints "listening on unix:PATH" first.
fn start_server_unix(program: &std::path::Path, path: &str) -> (Process, String) {
    let mut server = Process::spawn(
        Command::new(program)
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    );
    let line = server.read_line(Duration::from_secs(10));
    assert_eq!(line, format!("listening on unix:{path}"));
    (server, line)
}

#[test]
fn chat_relay_forwards_to_every_member() {
    let (_relay, port) = start_server(&example("chat", "chat_relay"), &["0"]);
    let client = example("chat", "chat_client");
    let port = port.to_string();
    let spawn_member = || {
        Process::spawn(
            Command::new(&client)
                .args(["127.0.0.1", &port])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit()),
        )
    };
    let mut alice = spawn_member();
    let mut bob = spawn_member();
    let mut alice_in = alice.child.stdin.take().unwrap();
    let mut bob_in = bob.child.stdin.take().unwrap();
    // Bob speaks first so that the relay knows him, then waits for his own echo.
    bob_in.write_all(b"bob joins\n").unwrap();
    assert!(bob
        .read_line(Duration::from_secs(10))
        .ends_with("] bob joins"));
    alice_in.write_all(b"hello from alice\n").unwrap();
    assert!(alice
        .read_line(Duration::from_secs(10))
        .ends_with("] hello from alice"));
    let line = bob.read_line(Duration::from_secs(10));
    // The relay is dual stack: an IPv4 client shows as an IPv4-mapped IPv6 address.
    assert!(
        line.starts_with("[127.0.0.1:") || line.starts_with("[[::ffff:127.0.0.1]:"),
        "{line}"
    );
    assert!(line.ends_with("] hello from alice"), "{line}");
    drop(alice_in);
    drop(bob_in);
    assert!(alice.wait(Duration::from_secs(10)).status.success());
    assert!(bob.wait(Duration::from_secs(10)).status.success());
}

#[test]
fn every_example_prints_usage_on_wrong_arguments() {
    let too_many = ["a", "b", "c", "d"];
    for entry in std::fs::read_dir(repo().join("c-examples")).unwrap() {
        let topic = entry.unwrap().path();
        if !topic.is_dir() {
            continue;
        }
        for source in std::fs::read_dir(&topic).unwrap() {
            let source = source.unwrap().path();
            if source.extension().is_none_or(|e| e != "c") {
                continue;
            }
            let name = source.file_stem().unwrap().to_str().unwrap().to_string();
            let topic_name = topic.file_name().unwrap().to_str().unwrap();
            let program = example(topic_name, &name);
            let output = run(&program, &too_many, &[], Duration::from_secs(10));
            assert_eq!(output.status.code(), Some(2), "{name}");
            assert!(
                String::from_utf8_lossy(&output.stderr).starts_with("usage: "),
                "{name}"
            );
        }
    }
}
