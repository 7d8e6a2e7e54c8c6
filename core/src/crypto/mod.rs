//! Secrets and signatures (server only): random ids, tokens and password hashes (`secret`), the
//! sealing of personal fields at rest (`seal`, R16), signed tokens for relying parties (`jws`),
//! and one-time codes (`code`). These modules know no rule of the domain: they are called by it.
//!
//! They must not decide who may do what, nor read the database but through `store`.

pub mod code;
pub mod jws;
pub mod seal;
pub mod secret;

/// `bytes` in lower-case hex, two digits a byte: a digest or a tag as the database and the
/// logs hold it. One allocation; formatting each byte with `format!` took one a byte, and a
/// session's hash is computed on every signed-in request.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_two_lower_case_digits_a_byte() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0x10, 0xa5, 0xff]), "000f10a5ff");
        assert_eq!(super::hex(&[]), "");
        let every: Vec<u8> = (0..=255).collect();
        let expected: String = every.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(super::hex(&every), expected);
    }
}
