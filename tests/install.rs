//! `make install` into a staging directory: the files a C user expects (shared library
//! with its soname links, static library, the headers, prise.pc and prise-course.pc,
//! prise-run and its library), a program built with `pkg-config --cflags --libs prise`
//! that runs (and runs under the installed prise-run), a course program built in place
//! with its own copy of the course's header through prise-course, a static link, and
//! `make uninstall`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{expect_success, library_dir, repo, run};

fn make(args: &[&str]) {
    let status = Command::new("make")
        .args(args)
        .current_dir(repo())
        .status()
        .expect("make runs");
    assert!(status.success(), "make {args:?} failed");
}

fn pkg_config(stage: &Path, prefix: &str, package: &str, args: &[&str]) -> Vec<String> {
    // --define-prefix: the staged .pc files give paths under the stage, -include's too.
    let output = Command::new("pkg-config")
        .arg("--define-prefix")
        .args(args)
        .arg(package)
        .env(
            "PKG_CONFIG_PATH",
            stage
                .join(prefix.trim_start_matches('/'))
                .join("lib/pkgconfig"),
        )
        .output()
        .expect("pkg-config runs");
    assert!(output.status.success(), "pkg-config {args:?} failed");
    String::from_utf8(output.stdout)
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect()
}

#[test]
fn install_pkg_config_static_link_and_uninstall() {
    library_dir(); // built once, before make looks at it
    let stage = repo().join(format!("target/install-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&stage);
    let prefix = "/opt/prise";
    let destdir = format!("DESTDIR={}", stage.display());
    let prefix_arg = format!("PREFIX={prefix}");
    make(&[
        "--no-print-directory",
        "-s",
        "lib",
        "prise-run",
        "install",
        &destdir,
        &prefix_arg,
    ]);

    let root = stage.join(prefix.trim_start_matches('/'));
    for file in [
        "lib/libprise.so",
        "lib/libprise.so.0",
        "lib/libprise.a",
        "include/prise.h",
        "include/prise_course.h",
        "include/helperSO.h",
        "include/wrsock.h",
        "lib/pkgconfig/prise.pc",
        "lib/pkgconfig/prise-course.pc",
        "bin/prise-run",
        "lib/libprise_run.so",
    ] {
        assert!(root.join(file).exists(), "{file} is not installed");
    }
    let soname = Command::new("readelf")
        .args(["-d"])
        .arg(root.join("lib/libprise.so"))
        .output()
        .expect("readelf runs");
    assert!(String::from_utf8_lossy(&soname.stdout).contains("[libprise.so.0]"));

    let source = stage.join("hello.c");
    std::fs::write(
        &source,
        "#include <prise.h>\n#include <helperSO.h>\n#include <string.h>\n\
         int main(void) {\n\
           int fd = bindedSocket(\"127.0.0.1\", \"0\", SOCK_STREAM, NULL);\n\
           if (fd < 0 || prise_close(fd) != 0) return 1;\n\
           printf(\"prise %s\\n\", prise_version());\n\
           return strcmp(prise_version(), PRISE_VERSION_STRING) != 0;\n}\n",
    )
    .unwrap();

    // Shared: the flags pkg-config gives, nothing else.
    let shared = stage.join("hello_shared");
    let status = Command::new("cc")
        .args(["-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&shared)
        .arg(&source)
        .args(pkg_config(&stage, prefix, "prise", &["--cflags", "--libs"]))
        .status()
        .unwrap();
    assert!(status.success());
    let output = run(
        &shared,
        &[],
        &[("LD_LIBRARY_PATH", root.join("lib").to_str().unwrap())],
        Duration::from_secs(10),
    );
    assert!(expect_success("hello_shared", &output).starts_with("prise "));

    // A course program of generation 2 built in place, beside its own copy of the
    // course's header (three-argument bindedSocket, no system includes): prise-course
    // puts prise's header first, so the call reaches the generation-2 function.
    let course_dir = stage.join("daytime");
    std::fs::create_dir_all(&course_dir).unwrap();
    std::fs::write(
        course_dir.join("wrsock.h"),
        "#ifndef WRSOCK_H\n#define WRSOCK_H\nint bindedSocket(char *, char *, int);\n\
         int reads(int, char *, int);\n#endif\n",
    )
    .unwrap();
    std::fs::write(
        course_dir.join("serveur.c"),
        "#include <stdio.h>\n#include <sys/socket.h>\n#include <netinet/in.h>\n\
         #include \"wrsock.h\"\n\
         int main(void) {\n\
           struct sockaddr_in a; socklen_t len = sizeof a;\n\
           int fd = bindedSocket(NULL, \"0\", SOCK_STREAM);\n\
           if (fd < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0) return 1;\n\
           printf(\"bound port %d\\n\", ntohs(a.sin_port) != 0);\n\
           return 0;\n}\n",
    )
    .unwrap();
    let course_program = stage.join("serveur");
    let status = Command::new("cc")
        .args(["-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&course_program)
        .arg("serveur.c")
        .args(pkg_config(
            &stage,
            prefix,
            "prise-course",
            &["--cflags", "--libs"],
        ))
        .current_dir(&course_dir)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the course program did not build in place"
    );
    let output = run(
        &course_program,
        &[],
        &[("LD_LIBRARY_PATH", root.join("lib").to_str().unwrap())],
        Duration::from_secs(10),
    );
    assert_eq!(expect_success("serveur", &output), "bound port 1\n");

    // The installed prise-run finds its library in ../lib and sees inside bindedSocket.
    let traced = run(
        &root.join("bin/prise-run"),
        &[shared.to_str().unwrap()],
        &[("LD_LIBRARY_PATH", root.join("lib").to_str().unwrap())],
        Duration::from_secs(10),
    );
    expect_success("prise-run hello_shared", &traced);
    let trace = String::from_utf8_lossy(&traced.stderr);
    let lines: Vec<&str> = trace.lines().collect();
    assert!(
        lines[0].starts_with("prise: bindedSocket(\"127.0.0.1\", \"0\", SOCK_STREAM")
            && lines[0].ends_with(") = 3")
            && lines[1].starts_with("prise:   getaddrinfo("),
        "{trace}"
    );

    // Static: libprise.a and the private libraries pkg-config lists.
    let fixed = stage.join("hello_static");
    let mut libs = pkg_config(&stage, prefix, "prise", &["--static", "--libs"]);
    libs.retain(|flag| flag != "-lprise");
    let status = Command::new("cc")
        .args(["-Wall", "-o"])
        .arg(&fixed)
        .arg(&source)
        .args(pkg_config(&stage, prefix, "prise", &["--cflags"]))
        .arg(root.join("lib/libprise.a"))
        .args(libs)
        .status()
        .unwrap();
    assert!(status.success());
    expect_success(
        "hello_static",
        &run(&fixed, &[], &[], Duration::from_secs(10)),
    );

    make(&[
        "--no-print-directory",
        "-s",
        "uninstall",
        &destdir,
        &prefix_arg,
    ]);
    assert!(!root.join("lib/libprise.so.0").exists());
    assert!(!root.join("include/prise.h").exists());
    assert!(!root.join("include/prise_course.h").exists());
    assert!(!root.join("lib/pkgconfig/prise-course.pc").exists());
    assert!(!root.join("bin/prise-run").exists());
    std::fs::remove_dir_all(&stage).unwrap();
}

/// `make` alone builds everything (`make && sudo make install` is the README's way): its
/// goal must be `all`, not the first program rule the course-style trees define.
#[test]
fn plain_make_builds_all() {
    let output = Command::new("make")
        .args(["--no-print-directory", "-pn"])
        .current_dir(repo())
        .output()
        .expect("make runs");
    let database = String::from_utf8_lossy(&output.stdout);
    let goal = database
        .lines()
        .find(|line| line.starts_with(".DEFAULT_GOAL :="))
        .unwrap_or("no .DEFAULT_GOAL line");
    assert_eq!(goal.trim(), ".DEFAULT_GOAL := all");
}
