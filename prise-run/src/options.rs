//! What the launcher tells the interposition library: environment variables, read by
//! every process of the program (they pass through fork and exec with LD_PRELOAD), and
//! the fault specification both of them parse.

use std::fmt;

/// "0" turns the trace off (on when absent: a bare LD_PRELOAD traces).
pub const ENV_TRACE: &str = "PRISE_RUN_TRACE";
/// Where trace lines go (appended); stderr when absent.
pub const ENV_OUTPUT: &str = "PRISE_RUN_OUTPUT";
/// How many bytes of each transfer the trace shows, as escaped text (0: none).
pub const ENV_DATA: &str = "PRISE_RUN_DATA";
/// The fault specification, as `--fault` takes it.
pub const ENV_FAULT: &str = "PRISE_RUN_FAULT";
/// The seed of the fault decisions.
pub const ENV_SEED: &str = "PRISE_RUN_SEED";
/// "1": a write to a closed peer raises SIGPIPE as it would without prise-run.
pub const ENV_SIGPIPE: &str = "PRISE_RUN_SIGPIPE";
/// "0": programs the program executes are not traced.
pub const ENV_FOLLOW: &str = "PRISE_RUN_FOLLOW";
/// The process id of the program prise-run started: other processes show their pid.
pub const ENV_ROOT: &str = "PRISE_RUN_ROOT";

/// Bytes shown by `--data` without a count.
#[allow(dead_code)] // the launcher's
pub const DEFAULT_DATA_BYTES: usize = 64;

/// The faults to inject: each a probability per eligible call, and a delay.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Faults {
    /// A write or send on a stream socket moves only part of the bytes.
    pub short_write: f64,
    /// A read or recv on a stream socket returns only part of what it could.
    pub short_read: f64,
    /// A transfer, accept, poll, select or epoll_wait fails with EINTR, as if a signal
    /// had arrived.
    pub eintr: f64,
    /// A call on a non-blocking socket fails with EAGAIN.
    pub eagain: f64,
    /// The connection is reset: ECONNRESET (the peer sees a reset too).
    pub reset: f64,
    /// connect fails with ECONNREFUSED.
    pub refuse: f64,
    /// Every socket transfer, connect and accept waits this long first.
    pub delay_ms: u64,
}

/// Each fault's name in a specification, and what it is.
pub const FAULT_NAMES: [(&str, &str); 7] = [
    (
        "short-write=P",
        "a write/send on a stream socket moves only part of the bytes",
    ),
    (
        "short-read=P",
        "a read/recv on a stream socket returns only part of the bytes",
    ),
    (
        "eintr=P",
        "a socket call fails with EINTR, as if a signal had arrived",
    ),
    (
        "eagain=P",
        "a call on a non-blocking socket fails with EAGAIN",
    ),
    (
        "reset=P",
        "the connection is reset: ECONNRESET, and the peer sees the reset",
    ),
    ("refuse=P", "connect fails with ECONNREFUSED"),
    (
        "delay=MS",
        "every socket transfer, connect and accept waits MS milliseconds first",
    ),
];

impl Faults {
    pub fn any(&self) -> bool {
        *self != Faults::default()
    }

    /// Reads `short-write=0.3,eintr=10%,delay=5`: a probability from 0 to 1 (or a
    /// percentage) per fault, and a delay in milliseconds.
    pub fn parse(spec: &str) -> Result<Faults, String> {
        let mut faults = Faults::default();
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| format!("fault `{item}` has no value: write NAME=VALUE"))?;
            let slot = match name.trim() {
                "short-write" => &mut faults.short_write,
                "short-read" => &mut faults.short_read,
                "eintr" => &mut faults.eintr,
                "eagain" => &mut faults.eagain,
                "reset" => &mut faults.reset,
                "refuse" => &mut faults.refuse,
                "delay" => {
                    faults.delay_ms = value.trim().parse().map_err(|_| {
                        format!("delay `{value}` is not a whole number of milliseconds")
                    })?;
                    continue;
                }
                other => {
                    let known: Vec<&str> = FAULT_NAMES
                        .iter()
                        .map(|(n, _)| n.split('=').next().unwrap_or(n))
                        .collect();
                    return Err(format!(
                        "unknown fault `{other}`: the faults are {}",
                        known.join(", ")
                    ));
                }
            };
            *slot = probability(value.trim())
                .ok_or_else(|| format!("{name} `{value}` is not a probability from 0 to 1"))?;
            // A program that retries these as it should would retry forever.
            if matches!(name.trim(), "eintr" | "eagain") && *slot >= 1.0 {
                return Err(format!(
                    "{name} at 1 fails every retry too: a program that retries \
                     (as it should) never ends; give a probability below 1"
                ));
            }
        }
        Ok(faults)
    }
}

/// `0.25` or `25%`.
fn probability(text: &str) -> Option<f64> {
    let value = match text.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().ok()? / 100.0,
        None => text.parse::<f64>().ok()?,
    };
    (0.0..=1.0).contains(&value).then_some(value)
}

/// The canonical specification, faults that are off left out.
impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (name, value) in [
            ("short-write", self.short_write),
            ("short-read", self.short_read),
            ("eintr", self.eintr),
            ("eagain", self.eagain),
            ("reset", self.reset),
            ("refuse", self.refuse),
        ] {
            if value > 0.0 {
                parts.push(format!("{name}={value}"));
            }
        }
        if self.delay_ms > 0 {
            parts.push(format!("delay={}", self.delay_ms));
        }
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specifications_round_trip() {
        let faults = Faults::parse("short-write=0.5, eintr=10%,delay=3").unwrap();
        assert_eq!(faults.short_write, 0.5);
        assert_eq!(faults.eintr, 0.1);
        assert_eq!(faults.delay_ms, 3);
        assert_eq!(Faults::parse(&faults.to_string()).unwrap(), faults);
        assert!(!Faults::parse("").unwrap().any());
    }

    #[test]
    fn bad_specifications_say_what_is_wrong() {
        for (spec, needle) in [
            ("short-write", "has no value"),
            ("short-write=2", "not a probability"),
            ("short-write=-0.1", "not a probability"),
            ("eintr=abc", "not a probability"),
            ("eintr=1", "fails every retry"),
            ("eagain=100%", "fails every retry"),
            ("delay=1.5", "whole number"),
            ("lose=0.1", "unknown fault `lose`"),
        ] {
            let error = Faults::parse(spec).unwrap_err();
            assert!(error.contains(needle), "{spec}: {error}");
        }
    }
}
