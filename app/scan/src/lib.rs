//! The wallet's camera decoder where the browser has no `BarcodeDetector` (iOS Safari, Firefox;
//! issue 16 §7): QR codes through `rqrr`, and the presented number's Code 128-C barcode
//! (issue 16 §8) read here from a few scan lines. It is a WASM module of its own that
//! `app/js/wallet.js` fetches only on such a browser, so no other wallet downloads it.
//!
//! Everything works on a greyscale frame; the browser hands over the RGBA of a canvas.

mod code128;

/// The text of the first QR code in a greyscale frame (`width × height`, one byte a pixel, row
/// by row), else the digits of the first Code 128-C barcode; `None` when the frame holds
/// neither (or is not `width × height`).
pub fn decode_luma(luma: &[u8], width: usize, height: usize) -> Option<String> {
    if width == 0 || height == 0 || width.checked_mul(height) != Some(luma.len()) {
        return None;
    }
    qr(luma, width, height).or_else(|| code128::read(luma, width, height))
}

fn qr(luma: &[u8], width: usize, height: usize) -> Option<String> {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| luma[y * width + x]);
    image.detect_grids().into_iter().find_map(|grid| grid.decode().ok().map(|(_, text)| text))
}

/// RGBA pixels to grey (ITU-R BT.601 weights, in integers).
pub fn luma_of_rgba(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4)
        .map(|p| ((299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2])) / 1000) as u8)
        .collect()
}

/// What the wallet calls with a canvas's `ImageData`: [`decode_luma`] of its pixels.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn decode_rgba(rgba: &[u8], width: u32, height: u32) -> Option<String> {
    let (width, height) = (width as usize, height as usize);
    if width.checked_mul(height).and_then(|n| n.checked_mul(4)) != Some(rgba.len()) {
        return None;
    }
    decode_luma(&luma_of_rgba(rgba), width, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A QR code of `text` drawn `scale` pixels a module with a four-module quiet zone, on a
    /// grey page `pad` pixels wider on each side.
    fn qr_frame(text: &str, scale: usize, pad: usize) -> (Vec<u8>, usize) {
        let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
        let modules = code.width();
        let colors = code.to_colors();
        let side = (modules + 8) * scale + 2 * pad;
        let mut luma = vec![200u8; side * side];
        for y in 0..side {
            for x in 0..side {
                let (mx, my) = (
                    (x as isize - pad as isize) / scale as isize - 4,
                    (y as isize - pad as isize) / scale as isize - 4,
                );
                let inside = x >= pad && y >= pad && x < side - pad && y < side - pad;
                if inside {
                    let dark = mx >= 0
                        && my >= 0
                        && (mx as usize) < modules
                        && (my as usize) < modules
                        && colors[my as usize * modules + mx as usize] == qrcode::Color::Dark;
                    luma[y * side + x] = if dark { 20 } else { 240 };
                }
            }
        }
        (luma, side)
    }

    #[test]
    fn a_login_link_is_read_from_a_frame() {
        let link = "https://ecert.example.cn/wallet/login?code=Zx9_kQ-3mUeV0aBcDeFgHiJkLmNoPqRsTuVwXyZ012";
        let (luma, side) = qr_frame(link, 4, 30);
        assert_eq!(decode_luma(&luma, side, side).as_deref(), Some(link));
    }

    #[test]
    fn rgba_is_read_as_grey() {
        assert_eq!(luma_of_rgba(&[255, 255, 255, 255, 0, 0, 0, 255, 255, 0, 0, 255]), [255, 0, 76]);
    }

    #[test]
    fn an_empty_or_misshapen_frame_reads_nothing() {
        assert_eq!(decode_luma(&[128; 100 * 80], 100, 80), None);
        assert_eq!(decode_luma(&[0; 10], 4, 4), None);
        assert_eq!(decode_luma(&[], 0, 0), None);
    }
}
