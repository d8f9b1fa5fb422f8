//! prise — BSD sockets with a Rust core and a C face.
//!
//! The safe core (`addr`, `socket`, `io`, `resolve`, `course`) does the work on top of
//! `libc`/`nix`; `ffi` exports it to C through `extern "C"` functions documented in the
//! generated `include/prise.h`. See DESIGN notes in the repository's README.

pub mod addr;
pub mod course;
pub mod error;
pub mod ffi;
pub mod helpers;
pub mod io;
pub mod resolve;
pub mod serve;
pub mod socket;

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
            for (index, _) in text.match_indices("extern \"C\" fn ") {
                let rest = &text[index..];
                let name: String = rest["extern \"C\" fn ".len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let body_start = rest.find('{').expect("function body");
                let body = &rest[body_start + 1..];
                let first_statement = body.trim_start();
                exports += 1;
                // boundary(…), or a helper of this file that is itself one call of it.
                let callee: String = first_statement
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !(callee.starts_with("boundary") || callee.ends_with("_boundary")) {
                    missing.push(format!("{}: {name}", file.display()));
                }
            }
        }
        assert!(exports >= 30, "found only {exports} exported functions");
        assert!(missing.is_empty(), "not inside the boundary: {missing:#?}");
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
