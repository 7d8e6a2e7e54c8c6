//! QR codes rendered on the server as inline SVG (no image round trip, works before hydration).

/// An SVG QR code of `data`, error correction level M, at least 240 px square.
pub fn svg(data: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(240, 240).quiet_zone(true).build(),
        Err(_) => String::new(),
    }
}
