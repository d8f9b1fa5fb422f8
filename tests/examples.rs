//! The C examples and course-style programs: compiled the way a student would (only
//! the course's headers, -Wall -Wextra, no warning allowed), linked with -lprise alone,
//! and run end to end over loopback.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{compile, expect_success, repo, run, Process};

fn example(topic: &str, name: &str) -> std::path::PathBuf {
    let source = repo().join(format!("c-examples/{topic}/{name}.c"));
    compile(name, &[source], &[repo().join("c-examples")], &[])
}

/// Starts a server that prints "listening on ... :PORT" first; returns it and the port.
fn start_server(program: &std::path::Path, args: &[&str]) -> (Process, u16) {
    let mut server = Process::spawn(
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    );
    let line = server.read_line(Duration::from_secs(10));
    let port = line
        .rsplit(':')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no port in the server's first line {line:?}"));
    (server, port)
}

#[test]
fn course_style_program_compiles_with_only_the_course_header() {
    let program = compile(
        "course_style",
        &[repo().join("tests/c/course_style.c")],
        &[repo().join("c-examples")],
        &[],
    );
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
    let mut client = Process::spawn(
        Command::new(&client_program)
            .args(["127.0.0.1", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    client
        .child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = client.wait(Duration::from_secs(20));
    let stdout = expect_success("echo_client", &output);
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
