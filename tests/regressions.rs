//! Failures outside attackers found, each kept as a program in tests/regress/ that exits
//! 0 only when prise holds: a server handler that closes its own descriptor, a partial
//! line and a reset, pidfds with SO_PASSPIDFD, recv_fd on a TCP socket, a fork during
//! tcp_connect, lines with stderr closed, a forked handler's stdio, accept errors of one
//! client and EMFILE in the three servers.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{expect_success, make_program, run, Process};

fn holds(name: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let program = make_program(&format!("build/regress/{name}"));
    expect_success(name, &run(&program, args, env, Duration::from_secs(120)))
}

#[test]
fn serve_threads_leaves_a_descriptor_the_handler_closed_itself() {
    holds("f01_serve_threads_handler_closes", &[], &[]);
}

#[test]
fn read_line_returns_the_partial_line_before_a_reset() {
    holds("f02_read_line_blocking_reset", &[], &[]);
}

#[test]
fn recv_fd_closes_the_senders_pidfd() {
    holds("f04_recv_fd_passpidfd_leak", &[], &[]);
}

#[test]
fn recv_fd_refuses_a_tcp_socket_and_takes_nothing() {
    holds("f05_recv_fd_wrong_socket_eats_data", &[], &[]);
}

#[test]
fn tcp_connect_works_in_a_child_forked_during_tcp_connect() {
    holds("f06_fork_tcp_connect_hang", &["60"], &[]);
}

#[test]
fn no_line_goes_into_a_socket_that_took_stderrs_number() {
    holds("f07_trace_into_socket", &["course"], &[]);
    holds("f07_trace_into_socket", &["trace"], &[("PRISE_TRACE", "1")]);
}

#[test]
fn serve_fork_children_flush_what_the_handler_printed() {
    let program = make_program("build/regress/f11_serve_fork_stdio");
    let child = Process::spawn(
        Command::new(program)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let output = child.wait(Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("served a client"))
            .count(),
        10,
        "{stdout}"
    );
}

#[test]
fn accept_errors_of_one_client_are_retried_and_emfile_does_not_sleep_in_serve_events() {
    holds("a14_f06_accept_transient_errors", &[], &[]);
}

#[test]
fn serve_threads_keeps_a_client_accepted_while_out_of_descriptors() {
    holds("a2_serve_threads_emfile", &[], &[]);
}
