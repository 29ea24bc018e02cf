//! Embeds the console (built by `scripts/build-console.sh` into `console/dist/`) in the binary.
//! Without a build, the binary serves a page that says how to make one.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

const FILES: [&str; 4] = ["boot.js", "gatehouse_console.js", "gatehouse_console_bg.wasm", "style.css"];

fn main() {
    println!("cargo:rerun-if-env-changed=GATEHOUSE_CONSOLE_DIST");
    let dist = std::env::var_os("GATEHOUSE_CONSOLE_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../console/dist"));
    // Cargo reruns a build script on every build while a path it watches does not exist, so
    // watch only what exists: the directory (cargo scans it, a file added later counts) or,
    // until there is one, its parent (where it will be created).
    match (dist.is_dir(), dist.parent()) {
        (true, _) => println!("cargo:rerun-if-changed={}", dist.display()),
        (false, Some(parent)) if parent.is_dir() => println!("cargo:rerun-if-changed={}", parent.display()),
        _ => {}
    }
    let mut names: Vec<String> = Vec::new();
    for name in FILES {
        for candidate in [name.to_owned(), format!("{name}.gz")] {
            let path = dist.join(&candidate);
            if path.is_file() {
                names.push(candidate);
            }
        }
    }
    let complete = FILES.iter().all(|f| names.iter().any(|n| n == f));
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("console_assets.rs");
    let mut file = std::fs::File::create(&out).expect("create console_assets.rs");
    if !complete {
        println!(
            "cargo:warning=console/dist is incomplete: this build serves no console (run scripts/build-console.sh)"
        );
        writeln!(file, "pub const VERSION: &str = \"\";\npub static FILES: &[(&str, &[u8])] = &[];").unwrap();
        return;
    }
    let mut hash = Sha256::new();
    for name in FILES {
        hash.update(std::fs::read(dist.join(name)).expect("read console file"));
    }
    let version: String = hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    writeln!(file, "pub const VERSION: &str = \"{version}\";\npub static FILES: &[(&str, &[u8])] = &[").unwrap();
    for name in names {
        let path = std::fs::canonicalize(dist.join(&name)).expect("canonical path");
        writeln!(file, "    ({name:?}, include_bytes!({:?})),", path.display().to_string()).unwrap();
    }
    writeln!(file, "];").unwrap();
}
