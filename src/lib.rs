//! prise — BSD sockets with a Rust core and a C face.
//!
//! The safe core (`addr`, `socket`, `io`, `resolve`, `course`) does the work on top of
//! `libc`/`nix`; `ffi` exports it to C through `extern "C"` functions documented in the
//! generated `include/prise.h`. See DESIGN notes in the repository's README.

pub mod activation;
pub mod addr;
pub mod course;
pub mod error;
pub mod events;
pub mod ffi;
pub mod fdpass;
pub mod inet;
pub mod line;
pub mod io;
pub mod options;
pub mod resolve;
pub mod serve;
pub mod socket;
pub mod unix;

pub use addr::SockAddr;
pub use error::{Error, Result};

#[cfg(test)]
mod abi_checks {
    use std::path::Path;

    /// The header committed in include/ must be what cbindgen makes of the sources now.
    #[test]
    fn committed_header_is_up_to_date() {
        let fresh = std::fs::read_to_string(env!("PRISE_GENERATED_HEADER")).unwrap();
        let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/prise.h");
        let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
        assert!(
            fresh == committed,
            "include/prise.h differs from a fresh cbindgen run: run `make header` and commit it"
        );
    }

    /// Every exported function runs its body inside the panic boundary.
    #[test]
    fn every_export_uses_the_boundary() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut exports = 0;
        let mut missing = Vec::new();
        for file in walk(&dir) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (index, _) in text.match_indices("#[no_mangle]\npub extern \"C\" fn ") {
                let rest = &text[index + "#[no_mangle]\npub ".len()..];
                let name: String = rest["extern \"C\" fn ".len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let body_start = rest.find('{').expect("function body");
                let body = &rest[body_start + 1..];
                let first_statement = body.trim_start();
                exports += 1;
                // ffi_boundary!(…) or course_boundary!(…), or a helper of its file that is
                // itself one call of the boundary (the course's shared entry points).
                let callee: String = first_statement
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '!')
                    .collect();
                if !(callee == "ffi_boundary!"
                    || callee == "course_boundary!"
                    || (callee.ends_with("_boundary") && file.ends_with("course.rs")))
                {
                    missing.push(format!("{}: {name}", file.display()));
                }
            }
        }
        assert!(exports >= 30, "found only {exports} exported functions");
        assert!(missing.is_empty(), "not inside the boundary: {missing:#?}");
    }

    /// include/prise_course.h is written by hand (macros cannot be generated): each of
    /// its prototypes must match the Rust function exported under that name, and every
    /// course function exported must be declared there.
    #[test]
    fn course_header_matches_the_exported_functions() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let rust = std::fs::read_to_string(root.join("src/ffi/course.rs")).unwrap();
        let header = std::fs::read_to_string(root.join("include/prise_course.h")).unwrap();
        let c_type = |rust_type: &str| -> String {
            let rust_type = rust_type.trim();
            let (pointer, base) = match rust_type.strip_prefix("*mut ") {
                Some(base) => ("*", base),
                None => match rust_type.strip_prefix("*const ") {
                    Some(base) => ("*", base),
                    None => ("", rust_type),
                },
            };
            let constant = if rust_type.starts_with("*const ") {
                "const "
            } else {
                ""
            };
            let base = match base {
                "c_int" => "int",
                "c_char" => "char",
                other => return format!("{constant}struct {other} {pointer}").trim().into(),
            };
            format!("{constant}{base} {pointer}").trim().into()
        };
        let mut exported = std::collections::BTreeMap::new();
        for (index, _) in rust.match_indices("pub extern \"C\" fn ") {
            let rest = &rust[index + "pub extern \"C\" fn ".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let params_text = &rest[rest.find('(').unwrap() + 1..rest.find(')').unwrap()];
            let params: Vec<String> = params_text
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| c_type(p.split(':').nth(1).unwrap()))
                .collect();
            let after = &rest[rest.find(')').unwrap() + 1..rest.find('{').unwrap()];
            let result = c_type(after.trim().trim_start_matches("->"));
            exported.insert(name, format!("{result}({})", params.join(", ")));
        }
        // C prototypes, "type name(type name, ...);" with optional parentheses round the
        // name, once comments, preprocessor lines and function bodies are set aside.
        let mut code = String::new();
        let mut rest = header.as_str();
        while let Some(start) = rest.find("/*") {
            code.push_str(&rest[..start]);
            rest = &rest[start + rest[start..].find("*/").unwrap() + 2..];
        }
        code.push_str(rest);
        let mut continued = false;
        let code: Vec<&str> = code
            .lines()
            .filter(|line| {
                let directive = continued || line.trim_start().starts_with('#');
                continued = directive && line.ends_with('\\');
                !directive
            })
            .collect();
        let mut declared = std::collections::BTreeMap::new();
        for statement in code.join(" ").split(';') {
            let statement = statement.rsplit(['{', '}']).next().unwrap().trim();
            if statement.starts_with("return") || !statement.ends_with(')') {
                continue;
            }
            // The parameter list opens at the '(' matching the last ')'.
            let Some(open) = statement.rfind('(') else {
                continue;
            };
            let head = statement[..open].replace(['(', ')'], " ");
            let head = head.trim();
            let split = head.rfind([' ', '*']).unwrap() + 1;
            let (result, name) = head.split_at(split);
            let params: Vec<&str> = statement[open + 1..statement.len() - 1]
                .split(',')
                .map(|p| {
                    let p = p.trim();
                    p[..p.rfind([' ', '*']).unwrap() + 1].trim()
                })
                .collect();
            declared.insert(
                name.to_string(),
                format!("{}({})", result.trim(), params.join(", ")),
            );
        }
        let normal = |s: &str| s.replace(' ', "");
        for (name, signature) in &exported {
            let c = declared
                .get(name)
                .unwrap_or_else(|| panic!("{name} is not declared in prise_course.h"));
            assert_eq!(
                normal(c),
                normal(signature),
                "prise_course.h's {name} differs from the Rust function"
            );
        }
        assert!(
            exported.len() >= 12,
            "found only {} course functions",
            exported.len()
        );
    }

    /// The code of a source file without its unit tests.
    fn code_of(file: &Path) -> String {
        let text = std::fs::read_to_string(file).unwrap();
        match text.find("#[cfg(test)]") {
            Some(tests) => text[..tests].to_string(),
            None => text,
        }
    }

    /// The core owns the descriptors it makes (OwnedFd, closed by drop) and only src/ffi
    /// turns them into numbers for C: no core function returns a raw descriptor, so no
    /// early return can leak one.
    #[test]
    fn only_the_c_face_hands_out_raw_descriptors() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        for file in walk(&src) {
            if file.starts_with(src.join("ffi")) {
                continue;
            }
            let code = code_of(&file);
            for pattern in ["Result<RawFd>", "Result<(RawFd", "into_raw_fd", "-> RawFd"] {
                if code.contains(pattern) {
                    found.push(format!("{}: {pattern}", file.display()));
                }
            }
        }
        assert!(
            found.is_empty(),
            "raw descriptors handed out by the core: {found:#?}"
        );
    }

    /// Printing macros panic when stderr or stdout cannot be written (a full disk, a
    /// closed pipe); prise prints through io::print_stderr only.
    #[test]
    fn no_printing_macro_that_panics() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        for file in walk(&src) {
            let code = code_of(&file);
            for pattern in [
                "println!",
                "print!(",
                "eprint!(",
                "eprintln!",
                "dbg!",
                "std::io::stderr",
                "std::io::stdout",
            ] {
                if code.contains(pattern) {
                    found.push(format!("{}: {pattern}", file.display()));
                }
            }
        }
        assert!(
            found.is_empty(),
            "printing that can panic or raise SIGPIPE: {found:#?}"
        );
    }

    /// One system-call layer: the socket and descriptor calls are made in src/socket.rs
    /// only (through its `syscall!`), and the layer depends on nothing above it.
    #[test]
    fn socket_system_calls_are_made_in_one_module() {
        const CALLS: &[&str] = &[
            "socket",
            "socketpair",
            "bind",
            "listen",
            "accept",
            "accept4",
            "connect",
            "send",
            "sendto",
            "sendmsg",
            "recv",
            "recvfrom",
            "recvmsg",
            "read",
            "write",
            "readv",
            "writev",
            "shutdown",
            "close",
            "getsockname",
            "getpeername",
            "setsockopt",
            "getsockopt",
            "fcntl",
            "poll",
            "epoll_create1",
            "epoll_ctl",
            "epoll_wait",
            "dup",
            "signalfd",
        ];
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        for file in walk(&src) {
            if file.ends_with("socket.rs") {
                let text = std::fs::read_to_string(&file).unwrap();
                assert!(
                    !text.contains("crate::io"),
                    "the layer must not depend on io"
                );
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            for call in CALLS {
                if code.contains(&format!("libc::{call}(")) {
                    found.push(format!("{}: libc::{call}", file.display()));
                }
            }
        }
        assert!(
            found.is_empty(),
            "system calls outside src/socket.rs: {found:#?}"
        );
    }

    fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
        files
    }
}
