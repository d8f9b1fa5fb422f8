//! Compiles the C test programs in tests/c/ against include/prise.h and the built
//! library, runs each over loopback, and requires every check in it to pass.

mod common;

use std::time::Duration;

use common::{compile_test_program, expect_success, run};

fn run_test_program(name: &str, env: &[(&str, &str)]) -> String {
    let program = compile_test_program(name);
    let output = run(&program, &[], env, Duration::from_secs(60));
    let stdout = expect_success(name, &output);
    let summary = stdout.lines().last().unwrap_or_default().to_string();
    assert!(
        summary.ends_with(" passed, 0 failed") && !summary.starts_with("0 passed"),
        "{name}: unexpected summary {summary:?}"
    );
    stdout
}

#[test]
fn primitives_over_ipv4_ipv6_and_unix() {
    run_test_program("primitives", &[]);
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
