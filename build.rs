//! Generates the C header with cbindgen (into OUT_DIR; `make header` copies it to
//! include/prise.h, and a test fails when the committed copy differs), compiles the one
//! C file of the library (src/serve_handler.c: see there why it is C) and gives the
//! shared library its soname.

use std::env;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    let minor = env::var("CARGO_PKG_VERSION_MINOR").unwrap();
    let patch = env::var("CARGO_PKG_VERSION_PATCH").unwrap();

    // rustc-link-arg, not rustc-cdylib-link-arg: cargo passes the latter on to the
    // cdylibs of dependent packages too (prise-run's library would take this soname and
    // stand in for libprise.so.0). Test executables get the soname too; nothing loads them.
    println!("cargo:rustc-link-arg=-Wl,-soname,libprise.so.{major}");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src");

    cc::Build::new()
        .file(crate_dir.join("src/serve_handler.c"))
        .flag("-pthread")
        .warnings_into_errors(true)
        .compile("prise_serve_handler");

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable");
    let version = format!(
        "\n#define PRISE_VERSION_MAJOR {major}\n#define PRISE_VERSION_MINOR {minor}\n\
         #define PRISE_VERSION_PATCH {patch}\n#define PRISE_VERSION_STRING \"{major}.{minor}.{patch}\"\n"
    );
    config.after_includes = Some(version + config.after_includes.as_deref().unwrap_or(""));

    let header = out_dir.join("prise.h");
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write_to_file(&header);
    println!(
        "cargo:rustc-env=PRISE_GENERATED_HEADER={}",
        header.display()
    );
}
