//! The presented number as a Code 128 barcode (character set C: two digits a symbol), drawn as
//! inline SVG on the server. Counter scanner guns read it and type the number followed by Enter.

/// Quiet zone on each side, in modules (the standard asks for at least 10).
const QUIET: usize = 10;
const HEIGHT: usize = 60;

/// An SVG Code 128-C barcode of an even number of digits; empty if `digits` is not that.
pub fn svg(digits: &str) -> String {
    if digits.is_empty() || !digits.len().is_multiple_of(2) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return String::new();
    }
    let Ok(code) = barcoders::sym::code128::Code128::new(format!("\u{0106}{digits}")) else {
        return String::new();
    };
    let modules = code.encode();
    let mut path = String::new();
    let mut x = 0;
    while x < modules.len() {
        if modules[x] == 1 {
            let start = x;
            while x < modules.len() && modules[x] == 1 {
                x += 1;
            }
            path.push_str(&format!("M{} 0h{}v{HEIGHT}h-{}z", start + QUIET, x - start, x - start));
        } else {
            x += 1;
        }
    }
    let width = modules.len() + 2 * QUIET;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {HEIGHT}" preserveAspectRatio="none" shape-rendering="crispEdges" role="img"><rect width="{width}" height="{HEIGHT}" fill="#fff"/><path fill="#000" d="{path}"/></svg>"##
    )
}
