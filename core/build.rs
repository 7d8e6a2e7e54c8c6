//! The migrations the store applies (`store::migrations`), embedded in the build: each engine's
//! directory under `migrations/` listed into `$OUT_DIR/migrations.rs` as its files' versions,
//! names and `include_str!` contents, in version order.
//!
//! sqlx's `migrate!` macro did this before, at the price of building sqlx's proc-macro crates and
//! with them a second copy of both drivers, tokio and sqlx-core for the compiler's own use
//! (issue 17 §4: about 4 minutes of a cold test build on a slow machine, estimated from its
//! fingerprints, `docs/performance.md`). A file is taken as
//! sqlx's own directory reader takes it (`<VERSION>_<DESCRIPTION>.sql`, any other name passed
//! over), and a version that is not a number stops the build, as it stopped the macro.

use std::error::Error;
use std::fmt::Write;
use std::path::Path;
use std::{env, fs};

const ENGINES: [(&str, &str); 2] = [("SQLITE_FILES", "migrations/sqlite"), ("POSTGRES_FILES", "migrations/postgres")];

fn main() -> Result<(), Box<dyn Error>> {
    let root = env::var("CARGO_MANIFEST_DIR")?;
    let mut out = String::new();
    for (name, dir) in ENGINES {
        println!("cargo:rerun-if-changed={dir}");
        let mut files = Vec::new();
        for entry in fs::read_dir(Path::new(&root).join(dir))? {
            let entry = entry?;
            let file = entry.file_name().to_string_lossy().into_owned();
            if !entry.metadata()?.is_file() {
                continue;
            }
            let Some((version, rest)) = file.split_once('_') else { continue };
            if !rest.ends_with(".sql") {
                continue;
            }
            let version: i64 = version
                .parse()
                .map_err(|_| format!("{dir}/{file}: a migration's name starts with its version number"))?;
            files.push((version, file.clone(), entry.path()));
        }
        files.sort();
        writeln!(out, "pub(super) const {name}: &[(i64, &str, &str)] = &[")?;
        for (version, file, path) in files {
            let path = path.to_str().ok_or_else(|| format!("{}: not UTF-8", path.display()))?;
            writeln!(out, "    ({version}, {file:?}, include_str!({path:?})),")?;
        }
        writeln!(out, "];")?;
    }
    fs::write(Path::new(&env::var("OUT_DIR")?).join("migrations.rs"), out)?;
    Ok(())
}
