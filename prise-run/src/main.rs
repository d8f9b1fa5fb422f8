//! prise-run: runs a program unchanged with libprise_run.so preloaded, so that its
//! socket calls are traced with prise's explanations and, on request, meet the faults
//! of real networks. The launcher checks what it can before it runs anything (the
//! program exists, is dynamically linked, the fault specification reads), sets the
//! environment the library reads, and executes the program in its own place: the exit
//! status and the signals are the program's.

mod options;

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use options::Faults;

const PRELOAD_NAME: &str = "libprise_run.so";

const HELP: &str = "\
NAME
    prise-run - see inside any socket program, unchanged

SYNOPSIS
    prise-run [OPTION]... [--] PROGRAM [ARGUMENT]...

DESCRIPTION
    Runs PROGRAM, a dynamically linked program (a C program using the C library's
    sockets, a course program linked with its helper or with prise, python3, curl…),
    without changing it, and prints one line per socket call it makes on stderr, in
    PRISE_TRACE's format: the address bound (the port the kernel chose included), the
    peer accepted, the bytes moved, and for every failure prise's sentence with the
    usual cause (\"is a server listening on 127.0.0.1:2023?\").

        prise: socket(AF_INET, SOCK_STREAM, 0) = 3
        prise: bind(3, 0.0.0.0:0) = 0, bound 0.0.0.0:41263
        prise: connect(4, 127.0.0.1:9) = -1 ECONNREFUSED (Connection refused): ...

    Calls on files, pipes and terminals are not traced and cost nothing measurable.
    A process that forks or runs threads shows its pid (and thread id) on each line:
    prise[4711]: or prise[4711/4712]:. A call of prise's course API or helpers shows
    as one line with the socket calls it made indented beneath it.

    A write to a peer that has closed the connection returns -1 with EPIPE, and the
    line says that without prise-run SIGPIPE would have killed the program (a program
    that handles or blocks SIGPIPE still gets it).

OPTIONS
    --trace             trace the socket calls (the default)
    --no-trace          do not trace (faults and the SIGPIPE rule still apply)
    -o, --output FILE   write the trace to FILE instead of stderr
    --data[=N]          show the first N bytes (64 without N) of every transfer,
                        as escaped text
    --fault SPEC        inject faults into socket calls, each marked [injected]
    --seed N            the seed of the faults: the same seed, program and input
                        give the same faults (without it a seed is chosen and shown)
    --sigpipe           let a write to a closed peer raise SIGPIPE, as without
                        prise-run
    --no-follow         do not trace the programs PROGRAM executes
    -h, --help          this text
    --version           prise-run's version

FAULTS
    SPEC is a comma-separated list of NAME=VALUE; P is a probability per call from
    0 to 1, or a percentage (10%):
{faults}
    Example: --fault short-write=0.5,eintr=0.1 --seed 7

EXIT STATUS
    The program's own. Before it runs: 2 for a usage error, 126 when PROGRAM cannot
    be traced (statically linked, another architecture) or executed, 127 when it
    is not found.

ENVIRONMENT
    prise-run passes its settings in PRISE_RUN_* variables and LD_PRELOAD.
    PRISE_RUN_PRELOAD names the interposition library to use instead of the one
    installed beside prise-run.

LIMITS
    Statically linked programs and set-user-ID programs cannot be interposed
    (the dynamic loader does not run, or ignores LD_PRELOAD). Calls made with
    syscall(2) or inside the C library itself (its DNS queries), and sendfile,
    splice, sendmmsg and recvmmsg, are not seen.
    Programs executed with an environment of their own choosing (env -i) are not
    traced. A socket call made in a signal handler that interrupted malloc may
    deadlock while it is traced.
";

fn help() -> String {
    let faults: Vec<String> = options::FAULT_NAMES
        .iter()
        .map(|(name, what)| format!("        {name:<15} {what}"))
        .collect();
    HELP.replace("{faults}", &faults.join("\n"))
}

/// What the command line asked for.
struct Request {
    trace: bool,
    output: Option<PathBuf>,
    data_bytes: usize,
    faults: Faults,
    seed: Option<u64>,
    sigpipe: bool,
    follow: bool,
    program: OsString,
    arguments: Vec<OsString>,
}

/// A reason to stop before running the program, and the exit status that says it.
struct Refusal {
    status: u8,
    message: String,
}

fn usage(message: impl Into<String>) -> Refusal {
    Refusal {
        status: 2,
        message: format!("{} (prise-run --help tells more)", message.into()),
    }
}

enum Parsed {
    Run(Request),
    Print(String),
}

fn parse(args: Vec<OsString>) -> Result<Parsed, Refusal> {
    let mut request = Request {
        trace: true,
        output: None,
        data_bytes: 0,
        faults: Faults::default(),
        seed: None,
        sigpipe: false,
        follow: true,
        program: OsString::new(),
        arguments: Vec::new(),
    };
    let mut fault_specs: Vec<String> = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy().into_owned();
        if text == "--" || !text.starts_with('-') || text == "-" {
            let program = if text == "--" { args.next() } else { Some(arg) };
            let Some(program) = program else {
                return Err(usage("no program to run"));
            };
            request.program = program;
            request.arguments = args.collect();
            break;
        }
        let (name, inline) = match text.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_string(), Some(value.to_string()))
            }
            _ => (text.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, Refusal> {
            match inline.clone() {
                Some(value) => Ok(value),
                None => args
                    .next()
                    .map(|v| v.to_string_lossy().into_owned())
                    .ok_or_else(|| usage(format!("{name} needs {what}"))),
            }
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Parsed::Print(help())),
            "--version" => {
                return Ok(Parsed::Print(format!(
                    "prise-run {}\n",
                    env!("CARGO_PKG_VERSION")
                )))
            }
            "--trace" => request.trace = true,
            "--no-trace" => request.trace = false,
            "-o" | "--output" => request.output = Some(PathBuf::from(value("a file name")?)),
            "--data" => {
                request.data_bytes = match &inline {
                    None => options::DEFAULT_DATA_BYTES,
                    Some(count) => count
                        .parse()
                        .map_err(|_| usage(format!("--data={count}: give a number of bytes")))?,
                }
            }
            "--fault" => fault_specs.push(value("a fault specification")?),
            "--seed" => {
                let seed = value("a number")?;
                request.seed = Some(seed.parse().map_err(|_| {
                    usage(format!(
                        "--seed {seed}: the seed is a whole number from 0 to {}",
                        u64::MAX
                    ))
                })?);
            }
            "--sigpipe" => request.sigpipe = true,
            "--no-follow" => request.follow = false,
            _ => return Err(usage(format!("unknown option {name}"))),
        }
        if inline.is_some()
            && !matches!(name.as_str(), "--output" | "--data" | "--fault" | "--seed")
        {
            return Err(usage(format!("{name} takes no value")));
        }
    }
    if request.program.is_empty() {
        return Err(usage("no program to run"));
    }
    request.faults = Faults::parse(&fault_specs.join(","))
        .map_err(|reason| usage(format!("--fault: {reason}")))?;
    Ok(Parsed::Run(request))
}

/// Finds the program as execvp would: a name with a slash as it is, else along PATH.
fn locate(program: &OsStr) -> Result<PathBuf, Refusal> {
    let not_found = || Refusal {
        status: 127,
        message: format!("{}: no such program", program.to_string_lossy()),
    };
    if program.as_bytes().contains(&b'/') {
        let path = PathBuf::from(program);
        return if path.exists() {
            Ok(path)
        } else {
            Err(not_found())
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .ok_or_else(not_found)
}

/// Refuses a program the preloaded library could not see: statically linked, or of
/// another word size. A script is judged by its interpreter.
fn check_traceable(path: &Path, depth: u32) -> Result<(), Refusal> {
    let cannot = |why: String| Refusal {
        status: 126,
        message: format!("{}: {why}", path.display()),
    };
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .map_err(|e| cannot(format!("cannot be read ({e})")))?;
    if let Some(line) = head.strip_prefix(b"#!") {
        let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
        let interpreter = line
            .split(|b| b.is_ascii_whitespace())
            .find(|word| !word.is_empty())
            .map(|word| PathBuf::from(OsStr::from_bytes(word)));
        return match interpreter {
            Some(interpreter) if depth < 4 => check_traceable(&interpreter, depth + 1),
            _ => Ok(()),
        };
    }
    let Some(elf) = Elf::read(&head) else {
        return Ok(()); // not ELF: exec will say what it is
    };
    if elf.class_64 != cfg!(target_pointer_width = "64") {
        return Err(cannot(format!(
            "is a {}-bit program and prise-run's library is {}-bit: the loader would not load it",
            if elf.class_64 { 64 } else { 32 },
            usize::BITS
        )));
    }
    if !elf.has_interpreter {
        return Err(cannot(
            "is statically linked: no dynamic loader runs for it, so prise-run cannot see its \
             calls (link it without -static, or use strace -f)"
                .into(),
        ));
    }
    Ok(())
}

/// What the ELF header and program headers say (64- or 32-bit, little-endian).
struct Elf {
    class_64: bool,
    has_interpreter: bool,
}

impl Elf {
    fn read(bytes: &[u8]) -> Option<Elf> {
        if bytes.get(..4)? != b"\x7fELF" || *bytes.get(5)? != 1 {
            return None;
        }
        let class_64 = *bytes.get(4)? == 2;
        let u16_at = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
        let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
        let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
        let (table, entry_size, count) = if class_64 {
            (
                u64_at(0x20)? as usize,
                u16_at(0x36)? as usize,
                u16_at(0x38)? as usize,
            )
        } else {
            (
                u32_at(0x1c)? as usize,
                u16_at(0x2a)? as usize,
                u16_at(0x2c)? as usize,
            )
        };
        const PT_INTERP: u32 = 3;
        // The program headers sit right after the ELF header in every linker's output;
        // a table beyond the bytes read counts as "interpreter unknown" (assume one).
        let has_interpreter = (0..count).try_fold(false, |found, index| {
            let kind = u32_at(table + index * entry_size)?;
            Some(found || kind == PT_INTERP)
        });
        Some(Elf {
            class_64,
            has_interpreter: has_interpreter.unwrap_or(true),
        })
    }
}

/// The interposition library: PRISE_RUN_PRELOAD, beside an installed prise-run
/// (`../lib`), or beside this executable (the build tree).
fn preload_library() -> Result<PathBuf, Refusal> {
    let missing = |why: String| Refusal {
        status: 126,
        message: why,
    };
    let candidates: Vec<PathBuf> = match std::env::var_os("PRISE_RUN_PRELOAD") {
        Some(path) => vec![PathBuf::from(path)],
        None => {
            let exe = std::env::current_exe()
                .map_err(|e| missing(format!("cannot find where prise-run is ({e})")))?;
            let dir = exe.parent().unwrap_or(Path::new("/")).to_path_buf();
            vec![
                dir.join("../lib").join(PRELOAD_NAME),
                dir.join(PRELOAD_NAME),
            ]
        }
    };
    let found = candidates
        .iter()
        .find(|path| path.is_file())
        .ok_or_else(|| {
            let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            missing(format!(
                "the interposition library is missing (looked for {})",
                tried.join(", ")
            ))
        })?;
    let absolute = found
        .canonicalize()
        .map_err(|e| missing(format!("{}: {e}", found.display())))?;
    // LD_PRELOAD separates its entries with spaces and colons.
    if absolute
        .as_os_str()
        .as_bytes()
        .iter()
        .any(|b| matches!(b, b' ' | b':'))
    {
        return Err(missing(format!(
            "{}: the path has a space or a colon, which LD_PRELOAD cannot carry; install prise-run elsewhere",
            absolute.display()
        )));
    }
    Ok(absolute)
}

/// Creates (empties) the output file now, so a bad path is said before the run.
fn prepare_output(path: &Path) -> Result<PathBuf, Refusal> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    std::fs::File::create(&absolute).map_err(|e| Refusal {
        status: 2,
        message: format!("--output {}: {e}", path.display()),
    })?;
    Ok(absolute)
}

/// A seed nobody chose: the clock and the pid.
fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (nanos ^ (u64::from(std::process::id()) << 32)) % 1_000_000_000
}

fn run(request: Request) -> Result<std::convert::Infallible, Refusal> {
    let path = locate(&request.program)?;
    check_traceable(&path, 0)?;
    let metadata = path.metadata().map_err(|e| Refusal {
        status: 126,
        message: format!("{}: {e}", path.display()),
    })?;
    let preload = preload_library()?;
    if metadata.permissions().mode() & 0o6000 != 0 {
        eprintln!(
            "prise-run: {} is set-user-ID or set-group-ID: the loader ignores LD_PRELOAD for it, \
             so its calls will not be traced",
            path.display()
        );
    }

    let mut command = std::process::Command::new(&path);
    command.arg0(&request.program).args(&request.arguments);
    let preload_text = preload.as_os_str().to_os_string();
    let preload_value = match std::env::var_os("LD_PRELOAD") {
        Some(existing)
            if existing
                .as_bytes()
                .split(|b| matches!(b, b' ' | b':'))
                .any(|e| e == preload_text.as_bytes()) =>
        {
            existing
        }
        Some(existing) if !existing.is_empty() => {
            let mut joined = existing;
            joined.push(":");
            joined.push(&preload_text);
            joined
        }
        _ => preload_text,
    };
    command.env("LD_PRELOAD", preload_value);
    command.env(options::ENV_TRACE, if request.trace { "1" } else { "0" });
    command.env(options::ENV_DATA, request.data_bytes.to_string());
    command.env(
        options::ENV_SIGPIPE,
        if request.sigpipe { "1" } else { "0" },
    );
    command.env(options::ENV_FOLLOW, if request.follow { "1" } else { "0" });
    command.env(options::ENV_ROOT, std::process::id().to_string());
    let output = match &request.output {
        Some(file) => {
            let absolute = prepare_output(file)?;
            command.env(options::ENV_OUTPUT, &absolute);
            Some(absolute)
        }
        None => {
            command.env_remove(options::ENV_OUTPUT);
            None
        }
    };
    if request.faults.any() {
        let seed = request.seed.unwrap_or_else(fresh_seed);
        command.env(options::ENV_FAULT, request.faults.to_string());
        command.env(options::ENV_SEED, seed.to_string());
        let announce = format!(
            "prise-run: injecting {} with seed {seed} (--seed {seed} replays them)\n",
            request.faults
        );
        match output.as_ref().filter(|_| request.trace) {
            Some(file) => {
                let _ = std::fs::OpenOptions::new()
                    .append(true)
                    .open(file)
                    .and_then(|mut f| std::io::Write::write_all(&mut f, announce.as_bytes()));
            }
            None => eprint!("{announce}"),
        }
    } else {
        command
            .env_remove(options::ENV_FAULT)
            .env_remove(options::ENV_SEED);
    }

    let error = command.exec();
    Err(Refusal {
        status: if error.kind() == std::io::ErrorKind::NotFound {
            127
        } else {
            126
        },
        message: format!("{}: {error}", path.display()),
    })
}

fn main() -> ExitCode {
    let outcome = parse(std::env::args_os().skip(1).collect()).and_then(|parsed| match parsed {
        Parsed::Print(text) => {
            print!("{text}");
            Ok(())
        }
        Parsed::Run(request) => run(request).map(|never| match never {}),
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(refusal) => {
            eprintln!("prise-run: {}", refusal.message);
            ExitCode::from(refusal.status)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Result<Parsed, Refusal> {
        parse(args.iter().map(OsString::from).collect())
    }

    #[test]
    fn options_stop_at_the_program() {
        let Ok(Parsed::Run(request)) = parsed(&[
            "--data=8",
            "--fault",
            "eintr=0.5",
            "--seed=3",
            "prog",
            "--no-trace",
            "x",
        ]) else {
            panic!("parse failed");
        };
        assert_eq!(request.program, "prog");
        assert_eq!(request.arguments, ["--no-trace", "x"]);
        assert!(request.trace);
        assert_eq!(request.data_bytes, 8);
        assert_eq!(request.faults.eintr, 0.5);
        assert_eq!(request.seed, Some(3));
    }

    #[test]
    fn mistakes_are_usage_errors() {
        for args in [
            &["--bogus", "prog"][..],
            &["--seed", "x", "prog"],
            &["--fault", "lose=1", "prog"],
            &[],
            &["--no-trace"],
            &["--sigpipe=1", "prog"],
            &["--output"],
        ] {
            match parsed(args) {
                Err(refusal) => assert_eq!(refusal.status, 2, "{args:?}: {}", refusal.message),
                Ok(_) => panic!("{args:?} accepted"),
            }
        }
    }

    #[test]
    fn elf_headers_are_read() {
        let this = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let elf = Elf::read(&this[..4096.min(this.len())]).unwrap();
        assert!(elf.class_64);
        assert!(elf.has_interpreter, "the test binary is dynamically linked");
        assert!(Elf::read(b"#!/bin/sh\n").is_none());
    }
}
