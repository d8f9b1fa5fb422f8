//! The interposition library links the prise core (for its formatting and its
//! explanations), and rustc exports every `#[no_mangle]` function of a dependency from a
//! cdylib. Preloaded, those copies would take the place of the program's own libprise
//! or course helper library. A version script keeps them local: it names each exported
//! function of prise's sources (a wildcard would lose to rustc's own explicit list).

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let core_sources = manifest.join("../src");
    println!("cargo:rerun-if-changed={}", core_sources.display());

    let mut names = Vec::new();
    collect_exports(&core_sources, &mut names);
    names.sort();
    names.dedup();
    assert!(
        names.len() >= 30,
        "found only {} exported functions in {}",
        names.len(),
        core_sources.display()
    );
    let script = format!("{{ local: {}; }};\n", names.join("; "));
    let path = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("hide-prise.map");
    std::fs::write(&path, script).unwrap();
    println!(
        "cargo:rustc-link-arg-cdylib=-Wl,--version-script={}",
        path.display()
    );
    println!("cargo:rustc-link-arg-cdylib=-Wl,-soname,libprise_run.so");
}

/// The names of the `#[no_mangle]` functions of every Rust file under `dir` (other
/// `extern "C" fn`s, callbacks handed over by pointer, are not exported).
fn collect_exports(dir: &Path, names: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_exports(&path, names);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (index, _) in text.match_indices("#[no_mangle]") {
                // The attribute on a line of its own, the function on the next one.
                let rest = &text[index..];
                let Some(next_line) = rest.lines().nth(1) else {
                    continue;
                };
                let Some(at) = next_line.find(" fn ") else {
                    continue;
                };
                let name: String = next_line[at + " fn ".len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    names.push(name);
                }
            }
        }
    }
}
