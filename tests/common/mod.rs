//! Shared by the integration tests: build the release library once, compile C programs
//! with the `cc` crate's idea of the system compiler (-Wall -Wextra -Werror), run them
//! with a time bound, and kill every process a test starts.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding libprise.so, libprise.so.0 and libprise.a, built once per test
/// binary with `cargo build --release` (a no-op when `make` built it already).
pub fn library_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let status = Command::new(option_env!("CARGO").unwrap_or("cargo"))
            .args(["build", "--release", "--lib", "--quiet"])
            .current_dir(repo())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build --release failed");
        let dir = repo().join("target/release");
        let soname = dir.join("libprise.so.0");
        let _ = std::fs::remove_file(&soname);
        std::os::unix::fs::symlink("libprise.so", &soname).expect("soname link");
        dir
    })
}

/// Builds a C program with make: the one way the project builds them (the Makefile's
/// rules and flags, for cargo test, valgrind and the sanitizers alike). `target` is a
/// make target such as `build/tests/primitives` or `build/examples/echo/echo_client`;
/// a compiler warning fails the test. One make at a time within a test binary, so that
/// no test runs a program another one is still writing.
pub fn make_program(target: &str) -> PathBuf {
    make(&[target]);
    repo().join(target)
}

/// Runs make with `args` (targets, VAR=value) once the library is built; a failure or a
/// compiler warning fails the test. One make at a time within a test binary.
pub fn make(args: &[&str]) {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let lib = library_dir();
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let output = Command::new("make")
        .args(["--no-print-directory", "-s", "-o"])
        .arg(lib.join("libprise.so")) // built above: make need not ask cargo again
        .args(args)
        .current_dir(repo())
        .output()
        .expect("make runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && !stderr.contains("warning"),
        "make {args:?} failed or warned:\n{stderr}"
    );
}

/// Builds one test program of tests/c/ (build/tests/<name>).
pub fn compile_test_program(name: &str) -> PathBuf {
    make_program(&format!("build/tests/{name}"))
}

/// A started process that is killed (and reaped) when dropped.
pub struct Process {
    pub child: Child,
}

impl Process {
    /// Starts the program in a process group of its own, so that it and every process
    /// it forks can be killed together.
    pub fn spawn(command: &mut Command) -> Process {
        use std::os::unix::process::CommandExt;
        Process {
            child: command
                .process_group(0)
                .spawn()
                .expect("the program starts"),
        }
    }

    fn kill_group(&mut self) {
        // SAFETY: kill(2) on the process group this Process created.
        unsafe { libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL) };
    }

    /// Reads one line of the process's stdout (it must be piped), within `limit`.
    pub fn read_line(&mut self, limit: Duration) -> String {
        let stdout = self.child.stdout.as_mut().expect("stdout is piped");
        let deadline = Instant::now() + limit;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while Instant::now() < deadline {
            match stdout.read(&mut byte) {
                Ok(1) if byte[0] == b'\n' => break,
                Ok(1) => line.push(byte[0]),
                _ => break,
            }
        }
        String::from_utf8_lossy(&line).into_owned()
    }

    /// Waits for the process to end by itself within `limit`; kills it otherwise.
    pub fn wait(mut self, limit: Duration) -> Output {
        let status = wait_bounded(&mut self.child, limit);
        // Children left behind must not hold the output pipes open.
        self.kill_group();
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        if let Some(mut out) = self.child.stdout.take() {
            out.read_to_end(&mut stdout).ok();
        }
        if let Some(mut err) = self.child.stderr.take() {
            err.read_to_end(&mut stderr).ok();
        }
        Output {
            status,
            stdout,
            stderr,
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill_group();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait works") {
            return status;
        }
        if Instant::now() >= deadline {
            // SAFETY: kill(2) on the process group the child leads.
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = child.kill();
            panic!("process {} did not end within {limit:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs a program to its end (killed after `limit`), capturing its output.
pub fn run(program: &Path, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    Process::spawn(&mut command).wait(limit)
}

/// Asserts a program's success and returns its stdout.
pub fn expect_success(name: &str, output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} failed ({:?})\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Starts a server that prints a line ending in its port first ("listening on
/// ADDRESS 0.0.0.0:PORT", "daytime sur le port PORT"); returns it and the port.
pub fn start_server(program: &Path, args: &[&str]) -> (Process, u16) {
    let mut server = Process::spawn(
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    );
    let line = server.read_line(Duration::from_secs(10));
    let digits: String = line
        .trim_end()
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    let port = digits
        .chars()
        .rev()
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no port at the end of the server's first line {line:?}"));
    (server, port)
}

/// Runs a client with `input` on its stdin to its end (20 s at most); returns its stdout
/// after checking that it succeeded.
pub fn run_client(program: &Path, args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut client = Process::spawn(
        Command::new(program)
            .args(args)
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
    expect_success(&program.display().to_string(), &output)
}
