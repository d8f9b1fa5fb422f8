//! The course's programs of every generation, as students write them: tests/course/
//! holds programs in the style of each generation of the course's helper, laid out as
//! the course lays out its own (helper/helperSO.h, lib/wrsock.h, a wrsock.h beside the
//! program). They are built the way `make examples` builds a course folder, with no
//! warning allowed (-Werror, -Werror=implicit-function-declaration), under several C
//! standards and compilers, and run end to end over loopback.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::{expect_success, make, repo, run, run_client, start_server, Process};

/// Builds tests/course/ with `make course-programs` for one compiler and C standard;
/// returns the build directory. Fails on any warning.
fn build_variant(compiler: &str, standard: &str) -> PathBuf {
    let out = repo().join(format!("target/course/{compiler}-{standard}"));
    make(&[
        "course-programs",
        &format!("CC={compiler}"),
        &format!("COURSE_STD={standard}"),
        &format!("COURSE_BUILD={}", out.display()),
    ]);
    out
}

/// The build the end-to-end tests run (the system compiler, gnu11).
fn programs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build_variant("cc", "gnu11"))
}

fn program(name: &str) -> PathBuf {
    programs().join(name)
}

fn has_compiler(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs the program built against its own generation-1 header; returns its stderr.
fn run_own_generation1(dir: &Path) -> String {
    let output = run(
        &dir.join("own_gen1/selftest"),
        &[],
        &[],
        Duration::from_secs(20),
    );
    let stdout = expect_success("own_gen1/selftest", &output);
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.ends_with(" passed, 0 failed") && !summary.starts_with("0 "),
        "{stdout}"
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn every_generation_compiles_without_a_warning_under_each_standard_and_compiler() {
    let mut variants = vec![("cc", "gnu99"), ("cc", "gnu17")];
    if has_compiler("clang") {
        variants.extend([("clang", "gnu99"), ("clang", "gnu11"), ("clang", "gnu17")]);
    } else {
        eprintln!("clang is not installed: only the system compiler is checked");
    }
    for (compiler, standard) in variants {
        let dir = build_variant(compiler, standard);
        // Each build works, not only compiles.
        run_own_generation1(&dir);
    }
}

#[test]
fn generation3_echo_fork_and_thread_servers_with_a_multi_file_service() {
    let input = "bonjour\nune ligne un peu plus longue que la premiere\n\nfin\n";
    for server in ["echo/srv_fork", "echo/srv_thread"] {
        let (_server, port) = start_server(&program(server), &["0"]);
        let port = port.to_string();
        // Several clients at once: each gets its own lines back.
        let clients: Vec<_> = (0..8)
            .map(|id| {
                let port = port.clone();
                let lines = format!("client {id}\n{input}");
                std::thread::spawn(move || {
                    let stdout = run_client(&program("echo/cli"), &["127.0.0.1", &port], &lines);
                    assert_eq!(stdout, lines);
                })
            })
            .collect();
        for client in clients {
            client.join().expect("a client failed");
        }
    }
}

#[test]
fn generation1_udp_client_against_a_generation3_udp_server() {
    let (_server, port) = start_server(&program("echo/udp_srv"), &["0"]);
    let stdout = run_client(
        &program("echo/udp_cli"),
        &["localhost", &port.to_string()],
        "salut\nencore\n",
    );
    assert_eq!(stdout, "recu : salut\nrecu : encore\n");
}

fn assert_is_a_date(text: &str) {
    let bytes = text.as_bytes();
    let shape = "dddd-dd-dd dd:dd:dd UTC\n";
    assert!(
        bytes.len() == shape.len()
            && shape.bytes().zip(bytes).all(|(s, &b)| if s == b'd' {
                b.is_ascii_digit()
            } else {
                s == b
            }),
        "not a date: {text:?}"
    );
}

#[test]
fn daytime_of_generations_1_and_2_across_each_other() {
    let (_server2, port2) = start_server(&program("daytime2/server"), &["0"]);
    let (_server1, port1) = start_server(&program("daytime1/server"), &["0"]);
    for (client, port) in [
        ("daytime2/client", port2),
        ("daytime1/client", port2),
        ("daytime1/client", port1),
        ("daytime2/client", port1),
    ] {
        let output = run(
            &program(client),
            &["127.0.0.1", &port.to_string()],
            &[],
            Duration::from_secs(20),
        );
        assert_is_a_date(&expect_success(client, &output));
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "{client}");
    }
}

#[test]
fn minichat_relay_and_clients_with_sockudp_and_creersockaddr() {
    let (_relay, port) = start_server(&program("minichat/relay"), &["0"]);
    let port = port.to_string();
    // A sends one line and waits for two messages: its own, then B's.
    let mut alice = Process::spawn(
        Command::new(program("minichat/client"))
            .args(["127.0.0.1", &port, "A", "2"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    );
    {
        use std::io::Write;
        let mut stdin = alice.child.stdin.take().unwrap();
        stdin.write_all(b"un\n").unwrap();
    } // closed: A stops reading its input and listens
    assert_eq!(alice.read_line(Duration::from_secs(10)), "A: un");
    let bob = run_client(
        &program("minichat/client"),
        &["localhost", &port, "B", "1"],
        "deux\n",
    );
    assert_eq!(bob, "B: deux\n");
    assert_eq!(alice.read_line(Duration::from_secs(10)), "B: deux");
    assert!(alice.wait(Duration::from_secs(10)).status.success());
}

#[test]
fn a_program_built_against_its_own_generation1_header_links_and_runs() {
    let stderr = run_own_generation1(programs());
    // One line per failure the program provokes, naming the real cause; reads and
    // writes never print, as the course's never did.
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(
        lines[0].starts_with("bindedSocket: bind socket ")
            && lines[0].contains("Address already in use"),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("creerSockAddr: ")
            && lines[1].contains("nosuchhost.invalid")
            && lines[1].contains("using 0.0.0.0 instead"),
        "{stderr}"
    );
    assert_eq!(
        lines[2],
        "creerSockAddr: port 70000 is not a port number (0 to 65535)"
    );
    assert_eq!(
        lines[3],
        "creerSockAddr: port -1 is not a port number (0 to 65535)"
    );
}

#[test]
fn the_odd_forms_students_write_do_what_their_generation_did() {
    let output = run(&program("forms/forms"), &[], &[], Duration::from_secs(20));
    let stdout = expect_success("forms", &output);
    assert!(stdout.ends_with(" passed, 0 failed\n"), "{stdout}");
    // The generation-1 fallbacks and refusals say why, one line each.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 4, "{stderr}");
    assert!(
        stderr.lines().all(|l| l.starts_with("bindedSocket: ")
            || l.starts_with("SockUdp: ")
            || l.starts_with("creerSockAddr: ")),
        "{stderr}"
    );
}

#[test]
fn a_folder_with_its_own_copy_of_the_helper_gets_prises() {
    // Built as make builds a copied course folder: its wrsock.c is left out and prise's
    // header put first, so the copy's three-argument prototype is not what is called.
    let output = run(
        &program("own_copy/server"),
        &[],
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(
        expect_success("own_copy/server", &output),
        "prise's helper bound port 1\n"
    );
}
