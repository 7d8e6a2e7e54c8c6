//! `ecert-site`: turns the app's WASM, as cargo built it for `wasm32-unknown-unknown`, into the
//! site the server serves (`target/site`), without cargo-leptos (issue 17 §4: building
//! cargo-leptos took 25 to 40 of a cold test run's minutes; this crate builds in about two).
//!
//! ```text
//! ecert-site build --wasm FILE --site-root DIR [--name ecert] [--style FILE] [--assets DIR] [--minify-css]
//! ecert-site bindgen --wasm FILE --out-dir DIR
//! ecert-site precompress DIR
//! ```
//!
//! `build` empties the site root (a build that fails leaves it empty, not stale), then:
//! - cuts the module along the `#[lazy]` split points Leptos's routes leave in it (each lazy
//!   route a `.wasm` of its own, the code routes share in `chunk_N.wasm`), beside a JavaScript
//!   link module and `__wasm_split_manifest.json`, which the server's `HydrationScripts` reads
//!   to preload a route's files;
//! - binds the main module to JavaScript for `<script type=module>` (`pkg/NAME.js`,
//!   `pkg/NAME.wasm`: the names the server's hydration scripts ask for when it was built with
//!   `LEPTOS_OUTPUT_NAME=NAME`);
//! - writes the stylesheet to `pkg/NAME.css` (comments and spare white space dropped with
//!   `--minify-css`), and copies the assets directory into the site root.
//!
//! `bindgen` binds a module without splitting (the wallet's camera decoder), and `precompress`
//! writes a `.br` (quality 11) and a `.gz` beside each file where they are smaller, which the
//! server's static files serve to browsers that accept them.
//!
//! It does not run cargo or `wasm-opt`: `scripts/lib.sh` runs those around it, with the
//! toolchain's flags.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What went wrong, for the person running the build.
type Result<T> = std::result::Result<T, String>;

/// The file the split's link module is written to, as Leptos's `HydrationScripts` names it when
/// files are not hashed.
const SPLIT_LINK: &str = "./__wasm_split.______________________.js";
const SPLIT_MANIFEST: &str = "__wasm_split_manifest.json";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ecert-site: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let (command, rest) = args.split_first().ok_or_else(usage)?;
    let mut options = Options::parse(rest)?;
    match command.as_str() {
        "build" => {
            let site_root = options.path("--site-root")?;
            let wasm = options.path("--wasm")?;
            let name = options.value("--name").unwrap_or_else(|| "ecert".to_owned());
            let style = options.value("--style").map(PathBuf::from);
            let assets = options.value("--assets").map(PathBuf::from);
            let minify_css = options.flag("--minify-css");
            options.done()?;
            empty_dir(&site_root)?;
            let pkg = site_root.join("pkg");
            let files = front(&wasm, &pkg, &name)?;
            println!("{} WASM files in {}", files.len(), pkg.display());
            if let Some(style) = style {
                let css = read_text(&style)?;
                let css = if minify_css { minify_css_text(&css) } else { css };
                write(&pkg.join(format!("{name}.css")), css.as_bytes())?;
            }
            if let Some(assets) = assets {
                copy_dir(&assets, &site_root)?;
            }
            Ok(())
        }
        "bindgen" => {
            let wasm = options.path("--wasm")?;
            let out_dir = options.path("--out-dir")?;
            options.done()?;
            bindgen(&wasm, &out_dir, None)
        }
        "precompress" => {
            let dir = options.positional()?;
            options.done()?;
            let (files, saved) = precompress(&dir)?;
            println!("precompressed {files} files in {} ({saved} bytes of brotli saved)", dir.display());
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{}", usage())),
    }
}

fn usage() -> String {
    "usage: ecert-site build --wasm FILE --site-root DIR [--name NAME] [--style FILE] [--assets DIR] \
     [--minify-css] | bindgen --wasm FILE --out-dir DIR | precompress DIR"
        .to_owned()
}

/// Splits `wasm` into `pkg` and binds its main module as `pkg/NAME.js` and `pkg/NAME.wasm`.
/// Returns every WASM file written, the main module first.
fn front(wasm: &Path, pkg: &Path, name: &str) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(pkg).map_err(|e| format!("cannot create {}: {e}", pkg.display()))?;
    let input = fs::read(wasm).map_err(|e| format!("cannot read {}: {e}", wasm.display()))?;
    let stem = wasm.file_stem().and_then(|s| s.to_str()).unwrap_or("module");
    let main_split = wasm.with_file_name(format!("{stem}_split.wasm"));
    let main_module = format!("./{name}.js");
    let mut options = wasm_split_cli_support::Options::new(&input);
    options.output_dir = pkg;
    options.main_out_path = &main_split;
    options.main_module = &main_module;
    options.link_name = SPLIT_LINK;
    let split =
        wasm_split_cli_support::transform(options).map_err(|e| format!("cannot split {}: {e:#}", wasm.display()))?;
    let manifest = serde_json::to_string_pretty(&split.prefetch_map).map_err(|e| e.to_string())?;
    write(&pkg.join(SPLIT_MANIFEST), manifest.as_bytes())?;
    drop(input);

    bindgen(&main_split, pkg, Some(name))?;
    // wasm-bindgen writes NAME_bg.wasm; the server's hydration scripts ask for NAME.wasm.
    let bound = pkg.join(format!("{name}_bg.wasm"));
    let main = pkg.join(format!("{name}.wasm"));
    fs::rename(&bound, &main).map_err(|e| format!("cannot rename {}: {e}", bound.display()))?;
    let mut files = vec![main];
    files.extend(split.split_modules);
    Ok(files)
}

/// wasm-bindgen for `<script type=module>`: the split's own exports kept and its names as the
/// linker wrote them (the link module finds them by those names), no TypeScript.
fn bindgen(wasm: &Path, out_dir: &Path, name: Option<&str>) -> Result<()> {
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen.input_path(wasm);
    if let Some(name) = name {
        bindgen.out_name(name).keep_lld_exports(true).demangle(false);
    }
    bindgen
        .web(true)
        .map_err(|e| e.to_string())?
        .typescript(false)
        .omit_default_module_path(false)
        .generate(out_dir)
        .map_err(|e| format!("wasm-bindgen on {}: {e:#}", wasm.display()))
}

/// Writes `FILE.br` and `FILE.gz` beside every file under `dir` (recursively) where they are
/// smaller than the file, and removes an earlier run's where they are not (`build` empties the
/// site root first, so no compressed copy outlives its file there). Returns how many files were
/// looked at and the bytes brotli saved.
fn precompress(dir: &Path) -> Result<(usize, u64)> {
    let mut files = 0;
    let mut saved = 0;
    for path in walk(dir)? {
        let text = path.to_string_lossy();
        if text.ends_with(".br") || text.ends_with(".gz") {
            continue;
        }
        let data = fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let br = brotli_bytes(&data)?;
        let gz = gzip_bytes(&data)?;
        for (extension, packed) in [("br", br), ("gz", gz)] {
            let target = PathBuf::from(format!("{text}.{extension}"));
            if packed.len() < data.len() {
                if extension == "br" {
                    saved += (data.len() - packed.len()) as u64;
                }
                write(&target, &packed)?;
            } else if target.exists() {
                fs::remove_file(&target).map_err(|e| format!("cannot remove {}: {e}", target.display()))?;
            }
        }
        files += 1;
    }
    Ok((files, saved))
}

fn brotli_bytes(data: &[u8]) -> Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &data[..], &mut out, &params).map_err(|e| format!("brotli: {e}"))?;
    Ok(out)
}

fn gzip_bytes(data: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).map_err(|e| format!("gzip: {e}"))?;
    encoder.finish().map_err(|e| format!("gzip: {e}"))
}

/// A stylesheet without comments and with white space only where it separates words: the
/// contents of quoted strings are kept as written.
fn minify_css_text(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut chars = css.chars().peekable();
    let mut pending_space = false;
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for d in chars.by_ref() {
                    if last == '*' && d == '/' {
                        break;
                    }
                    last = d;
                }
                pending_space = true;
            }
            c if c.is_whitespace() => pending_space = true,
            '"' | '\'' => {
                push_space(&mut out, pending_space, c);
                pending_space = false;
                out.push(c);
                let mut escaped = false;
                for d in chars.by_ref() {
                    out.push(d);
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == c {
                        break;
                    }
                }
            }
            c => {
                push_space(&mut out, pending_space, c);
                pending_space = false;
                out.push(c);
            }
        }
    }
    out
}

/// A space between the text so far and `next`, unless one of them is punctuation that needs none.
/// Not before `:` (`a :hover` is not `a:hover`), but after it, where a selector cannot have one.
fn push_space(out: &mut String, pending: bool, next: char) {
    const TIGHT: &[char] = &['{', '}', ';', ',', '>'];
    let after_tight = out.chars().last().is_none_or(|c| TIGHT.contains(&c) || c == '(' || c == ':');
    if pending && !after_tight && !TIGHT.contains(&next) && next != ')' {
        out.push(' ');
    }
}

/// Removes what `dir` holds (the directory itself stays, made if missing).
fn empty_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        for entry in fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            let removed = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
            removed.map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        }
    }
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Copies the files under `from` to the same places under `to`.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    for path in walk(from)? {
        let relative = path.strip_prefix(from).map_err(|e| e.to_string())?;
        let target = to.join(relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::copy(&path, &target).map_err(|e| format!("cannot copy {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Every file under `dir`, in a stable order.
fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in fs::read_dir(&d).map_err(|e| format!("cannot read {}: {e}", d.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, data: &[u8]) -> Result<()> {
    fs::write(path, data).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `--name value` options, `--flag`s and at most one positional argument, each taken once.
struct Options {
    pairs: Vec<(String, Option<String>)>,
    positional: Vec<String>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        const FLAGS: &[&str] = &["--minify-css"];
        let (mut pairs, mut positional) = (Vec::new(), Vec::new());
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if FLAGS.contains(&arg.as_str()) {
                pairs.push((arg.clone(), None));
            } else if arg.starts_with("--") {
                let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
                pairs.push((arg.clone(), Some(value.clone())));
            } else {
                positional.push(arg.clone());
            }
        }
        Ok(Options { pairs, positional })
    }

    fn value(&mut self, name: &str) -> Option<String> {
        let at = self.pairs.iter().position(|(n, _)| n == name)?;
        self.pairs.remove(at).1
    }

    fn path(&mut self, name: &str) -> Result<PathBuf> {
        self.value(name).map(PathBuf::from).ok_or_else(|| format!("{name} is needed\n{}", usage()))
    }

    fn flag(&mut self, name: &str) -> bool {
        let at = self.pairs.iter().position(|(n, _)| n == name);
        at.map(|i| self.pairs.remove(i)).is_some()
    }

    fn positional(&mut self) -> Result<PathBuf> {
        if self.positional.len() == 1 {
            Ok(PathBuf::from(self.positional.remove(0)))
        } else {
            Err(format!("one directory is needed\n{}", usage()))
        }
    }

    /// Refuses what was given but not asked for.
    fn done(self) -> Result<()> {
        let unknown: Vec<String> = self.pairs.into_iter().map(|(n, _)| n).chain(self.positional).collect();
        if unknown.is_empty() { Ok(()) } else { Err(format!("unexpected {}\n{}", unknown.join(" "), usage())) }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn minified_css_keeps_words_apart_and_strings_as_written() {
        let css = "/* header */\nbody  {\n  margin : 0;\n  font: 14px/1.5 \"Noto  Sans\", sans-serif;\n}\n\
                   a > b ,\n.x:hover /* why */ .y { content: '/* not a comment */' }\n\
                   @media (max-width: 600px) { .z { padding: 0 1em } }\n";
        assert_eq!(
            minify_css_text(css),
            "body{margin :0;font:14px/1.5 \"Noto  Sans\",sans-serif;}a>b,.x:hover .y{content:'/* not a comment */'}\
             @media (max-width:600px){.z{padding:0 1em}}"
        );
    }

    #[test]
    fn precompressed_files_decompress_to_the_original_and_are_skipped_when_no_smaller() {
        let dir = std::env::temp_dir().join(format!("ecert-site-test-{}", std::process::id()));
        fs::create_dir_all(dir.join("pkg")).unwrap();
        let text = "hydrate the wallet ".repeat(200);
        fs::write(dir.join("pkg/app.js"), &text).unwrap();
        fs::write(dir.join("tiny.txt"), "a").unwrap();
        fs::write(dir.join("tiny.txt.br"), "stale").unwrap();
        let (files, saved) = precompress(&dir).unwrap();
        assert_eq!(files, 2);
        assert!(saved > 0);
        let br = fs::read(dir.join("pkg/app.js.br")).unwrap();
        let mut unpacked = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut unpacked).unwrap();
        assert_eq!(unpacked, text.as_bytes());
        let gz = fs::read(dir.join("pkg/app.js.gz")).unwrap();
        let mut unpacked = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unpacked).unwrap();
        assert_eq!(unpacked, text);
        // One byte does not get smaller: no compressed copy, and the stale one is gone.
        assert!(!dir.join("tiny.txt.br").exists() && !dir.join("tiny.txt.gz").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn assets_are_copied_into_an_emptied_site_root() {
        let base = std::env::temp_dir().join(format!("ecert-site-assets-{}", std::process::id()));
        let (assets, site) = (base.join("public"), base.join("site"));
        fs::create_dir_all(assets.join("icons")).unwrap();
        fs::create_dir_all(site.join("pkg")).unwrap();
        fs::write(site.join("pkg/old.wasm"), "old").unwrap();
        fs::write(assets.join("manifest.webmanifest"), "{}").unwrap();
        fs::write(assets.join("icons/a.svg"), "<svg/>").unwrap();
        empty_dir(&site).unwrap();
        copy_dir(&assets, &site).unwrap();
        assert_eq!(walk(&site).unwrap(), vec![site.join("icons/a.svg"), site.join("manifest.webmanifest")]);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn options_refuse_what_they_do_not_know() {
        let args = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert!(run(&args("precompress")).is_err());
        assert!(run(&args("bindgen --wasm x.wasm")).unwrap_err().contains("--out-dir is needed"));
        assert!(run(&args("bindgen --wasm x.wasm --out-dir o --bogus 1")).unwrap_err().contains("unexpected --bogus"));
        assert!(run(&args("frobnicate")).unwrap_err().contains("unknown command"));
    }
}
