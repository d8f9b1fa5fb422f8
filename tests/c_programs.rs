//! Compiles the C test programs in tests/c/ against include/prise.h and the built
//! library, runs each over loopback, and requires every check in it to pass.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{compile_test_program, expect_success, run, Process};

fn run_test_program(name: &str, env: &[(&str, &str)]) -> String {
    run_test_program_output(name, env).0
}

/// Runs a test program; returns its stdout and stderr.
fn run_test_program_output(name: &str, env: &[(&str, &str)]) -> (String, String) {
    let program = compile_test_program(name);
    let output = run(&program, &[], env, Duration::from_secs(60));
    let stdout = expect_success(name, &output);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let summary = stdout.lines().last().unwrap_or_default().to_string();
    assert!(
        summary.ends_with(" passed, 0 failed") && !summary.starts_with("0 passed"),
        "{name}: unexpected summary {summary:?}"
    );
    (stdout, stderr)
}

#[test]
fn primitives_over_ipv4_ipv6_and_unix() {
    // The prise_* functions never print, even when most calls fail on purpose.
    let (_, stderr) = run_test_program_output("primitives", &[]);
    assert_eq!(stderr, "");
}

#[test]
fn prise_trace_prints_one_decoded_line_per_call() {
    let (_, stderr) = run_test_program_output("primitives", &[("PRISE_TRACE", "1")]);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines.iter().all(|l| l.starts_with("prise: ")), "{stderr}");
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(
        has("prise: socket(AF_INET6, SOCK_STREAM, 0) = "),
        "{stderr}"
    );
    assert!(has("prise: bind(") && has(", 127.0.0.1:0) = 0"), "{stderr}");
    assert!(has(", [::1]:0) = 0"), "{stderr}");
    assert!(
        lines.iter().any(|l| l.starts_with("prise: connect(")
            && l.contains("= -1 ECONNREFUSED (Connection refused)")
            && l.contains("is a server listening on 127.0.0.1:")),
        "{stderr}"
    );
    assert!(
        has("prise: close(-1) = -1 EBADF (Bad file descriptor)"),
        "{stderr}"
    );
}

#[test]
fn resolution_and_errors() {
    run_test_program("resolution", &[]);
}

#[test]
fn course_api_fixed_where_the_course_is_broken() {
    // Course functions print their failures; the checks provoke many on purpose.
    let stdout = run_test_program("course", &[("PRISE_QUIET", "1")]);
    assert!(stdout.contains("1000000 calls each"), "{stdout}");
}

#[test]
fn high_level_helpers() {
    run_test_program("helpers", &[]);
}

#[test]
fn helpers_for_real_networks() {
    // Happy Eyeballs, socket options, prise_serve_events, socket activation (the program
    // execs itself as the activated server); the prise_* functions print nothing.
    let (_, stderr) = run_test_program_output("network", &[]);
    assert_eq!(stderr, "");
}

#[test]
fn edges_of_every_helper() {
    // Nothing printed: no failed check, no abort message from a child whose handler
    // called pthread_exit.
    let (_, stderr) = run_test_program_output("edges", &[("PRISE_QUIET", "1")]);
    assert_eq!(stderr, "");
}

/// `edges printing` (course failures and PRISE_TRACE lines) with stderr on `stderr`.
fn run_printing(args: &[&str], stderr: Stdio) -> Output {
    let program = compile_test_program("edges");
    let mut command = Command::new(program);
    command
        .arg("printing")
        .args(args)
        .env("PRISE_TRACE", "1")
        .env_remove("PRISE_QUIET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr);
    Process::spawn(&mut command).wait(Duration::from_secs(30))
}

#[test]
fn printing_to_a_full_disk_or_a_closed_pipe_never_kills() {
    let full = || {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        Stdio::from(file)
    };
    let closed_pipe = || {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        Stdio::from(writer)
    };
    let runs = [
        ("/dev/full", run_printing(&[], full())),
        (
            "a closed pipe, SIGPIPE default",
            run_printing(&[], closed_pipe()),
        ),
        (
            "a closed pipe, SIGPIPE ignored",
            run_printing(&["ignore"], closed_pipe()),
        ),
    ];
    for (stderr, output) in runs {
        assert!(
            output.status.success(),
            "stderr on {stderr}: {:?}, stdout {:?}",
            output.status,
            String::from_utf8_lossy(&output.stdout)
        );
        assert_eq!(output.stdout, b"printing: ok\n", "stderr on {stderr}");
    }
}

#[test]
fn names_cannot_forge_trace_or_course_lines() {
    let output = run_printing(&[], Stdio::piped());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let course = ["creerSockAddr: ", "getNameInfo: ", "bindedSocket: "];
    for line in stderr.lines() {
        let known = line.starts_with("prise: ") || course.iter().any(|c| line.starts_with(c));
        assert!(
            known && !line.starts_with("prise: forged"),
            "forged line {line:?}"
        );
    }
    assert!(
        stderr.contains(r#"tcp_connect("x\nprise: forged() = 0", "99999")"#),
        "{stderr}"
    );
    assert!(
        stderr.contains(r#"creerSockAddr: resolve host "y\nforged line""#),
        "{stderr}"
    );
}

#[test]
fn calls_from_an_atexit_handler_work() {
    let program = compile_test_program("edges");
    let output = run(
        &program,
        &["atexit"],
        &[("PRISE_QUIET", "1")],
        Duration::from_secs(30),
    );
    let stdout = expect_success("edges atexit", &output);
    assert_eq!(stdout, "atexit: ok\n");
}
