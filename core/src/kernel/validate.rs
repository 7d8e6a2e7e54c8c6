//! Checks of identifiers and free text, shared by the server and the browser.

use crate::error::{FieldError, Problem};

/// The 31 characters of GB 32100-2015 (no I, O, Z, S, V), in the order of their values.
const CREDIT_CODE_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_CODE_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// A unified social credit code (统一社会信用代码) per GB 32100-2015: 18 characters whose last is
/// a check character over the first 17. Lower-case input is accepted and upper-cased.
pub fn credit_code(field: &str, input: &str) -> Result<String, FieldError> {
    let code = input.trim().to_ascii_uppercase();
    if code.is_empty() {
        return Err(FieldError::new(field, Problem::Required));
    }
    let values: Option<Vec<u32>> =
        code.bytes().map(|b| CREDIT_CODE_CHARSET.iter().position(|&c| c == b).map(|p| p as u32)).collect();
    let Some(values) = values.filter(|v| v.len() == 18) else {
        return Err(FieldError::new(field, Problem::BadFormat));
    };
    let sum: u32 = values[..17].iter().zip(CREDIT_CODE_WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    if values[17] != check {
        return Err(FieldError::new(field, Problem::BadCheckCharacter));
    }
    Ok(code)
}

/// The check character a 17-character credit-code prefix needs (for test data and seeding).
pub fn credit_code_check_char(prefix17: &str) -> Option<char> {
    let values: Option<Vec<u32>> =
        prefix17.bytes().map(|b| CREDIT_CODE_CHARSET.iter().position(|&c| c == b).map(|p| p as u32)).collect();
    let values = values.filter(|v| v.len() == 17)?;
    let sum: u32 = values.iter().zip(CREDIT_CODE_WEIGHTS).map(|(v, w)| v * w).sum();
    Some(CREDIT_CODE_CHARSET[((31 - sum % 31) % 31) as usize] as char)
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// An 18-digit resident identity number per GB 11643-1999: region, a real birth date, sequence
/// and an ISO 7064 MOD 11-2 check character. A lower-case `x` is accepted and upper-cased.
pub fn resident_id(field: &str, input: &str) -> Result<String, FieldError> {
    let id = input.trim().to_ascii_uppercase();
    if id.is_empty() {
        return Err(FieldError::new(field, Problem::Required));
    }
    let bytes = id.as_bytes();
    let well_formed = bytes.len() == 18
        && bytes[..17].iter().all(u8::is_ascii_digit)
        && (bytes[17].is_ascii_digit() || bytes[17] == b'X')
        && (b'1'..=b'9').contains(&bytes[0]);
    if !well_formed || !is_real_date(&id[6..14]) {
        return Err(FieldError::new(field, Problem::BadFormat));
    }
    if bytes[17] != resident_id_check_char(&id[..17]).map(|c| c as u8).unwrap_or(0) {
        return Err(FieldError::new(field, Problem::BadCheckCharacter));
    }
    Ok(id)
}

/// The check character of a 17-digit resident-ID prefix.
pub fn resident_id_check_char(prefix17: &str) -> Option<char> {
    let digits: Option<Vec<u32>> = prefix17.chars().map(|c| c.to_digit(10)).collect();
    let digits = digits.filter(|d| d.len() == 17)?;
    let sum: u32 = digits.iter().zip(ID_WEIGHTS).map(|(d, w)| d * w).sum();
    Some(ID_CHECK[(sum % 11) as usize] as char)
}

fn is_real_date(yyyymmdd: &str) -> bool {
    let (Ok(y), Ok(m), Ok(d)) =
        (yyyymmdd[0..4].parse::<u32>(), yyyymmdd[4..6].parse::<u32>(), yyyymmdd[6..8].parse::<u32>())
    else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1900..=2100).contains(&y) && (1..=days).contains(&d)
}

/// A mainland mobile number: 11 digits starting with 13–19.
pub fn mobile(field: &str, input: &str) -> Result<String, FieldError> {
    let m = input.trim();
    if m.is_empty() {
        return Err(FieldError::new(field, Problem::Required));
    }
    let b = m.as_bytes();
    if b.len() == 11 && b.iter().all(u8::is_ascii_digit) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
        Ok(m.to_owned())
    } else {
        Err(FieldError::new(field, Problem::BadFormat))
    }
}

/// Required free text, trimmed, at most `max` characters (not bytes).
pub fn text(field: &str, input: &str, max: usize) -> Result<String, FieldError> {
    let t = input.trim();
    if t.is_empty() {
        Err(FieldError::new(field, Problem::Required))
    } else if t.chars().count() > max {
        Err(FieldError::new(field, Problem::TooLong { max }))
    } else if t.chars().any(char::is_control) {
        Err(FieldError::new(field, Problem::BadFormat))
    } else {
        Ok(t.to_owned())
    }
}

/// Required free text of several lines (a form's text area): as [`text`], line breaks (`\n`,
/// `\r\n`) allowed.
pub fn lines(field: &str, input: &str, max: usize) -> Result<String, FieldError> {
    if input.trim().is_empty() {
        return Err(FieldError::new(field, Problem::Required));
    }
    optional_text(field, input, max, true)
}

/// Optional free text, trimmed, at most `max` characters; line breaks (`\n`, `\r\n`) where
/// `lines` allows them, no other control character.
pub fn optional_text(field: &str, input: &str, max: usize, lines: bool) -> Result<String, FieldError> {
    let t = input.trim();
    if t.chars().count() > max {
        Err(FieldError::new(field, Problem::TooLong { max }))
    } else if t.chars().any(|c| c.is_control() && !(lines && matches!(c, '\n' | '\r'))) {
        Err(FieldError::new(field, Problem::BadFormat))
    } else {
        Ok(t.to_owned())
    }
}

/// Collects field checks so that one submission reports every bad field at once.
#[derive(Default)]
pub struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value of a passing check; records the failure and yields a default otherwise.
    pub fn take<T: Default>(&mut self, result: Result<T, FieldError>) -> T {
        result.unwrap_or_else(|e| {
            self.errors.push(e);
            T::default()
        })
    }

    pub fn finish(self) -> Result<(), crate::DomainError> {
        if self.errors.is_empty() { Ok(()) } else { Err(crate::DomainError::Validation(self.errors)) }
    }
}

/// A person's real name: 2–30 characters, CJK or Latin letters, with `·` or spaces between parts.
pub fn person_name(field: &str, input: &str) -> Result<String, FieldError> {
    let n = input.trim();
    if n.is_empty() {
        return Err(FieldError::new(field, Problem::Required));
    }
    let count = n.chars().count();
    let ok = (2..=30).contains(&count)
        && n.chars().all(|c| c.is_alphabetic() || matches!(c, '·' | '•' | ' ' | '.'))
        && n.chars().next().is_some_and(char::is_alphabetic);
    if ok { Ok(n.to_owned()) } else { Err(FieldError::new(field, Problem::BadFormat)) }
}

/// A sign-in name: 3–32 letters, digits, `.`, `_` or `-`.
pub fn username(field: &str, input: &str) -> Result<String, FieldError> {
    let u = input.trim();
    if u.is_empty() {
        return Err(FieldError::new(field, Problem::Required));
    }
    let ok_chars = u.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok_chars || u.len() < 3 || u.len() > 32 {
        return Err(FieldError::new(field, Problem::BadFormat));
    }
    Ok(u.to_owned())
}

/// A password chosen by a person: 10 to 128 characters.
pub fn new_password(field: &str, input: &str) -> Result<String, FieldError> {
    match input.chars().count() {
        0 => Err(FieldError::new(field, Problem::Required)),
        n if n < 10 => Err(FieldError::new(field, Problem::TooShort { min: 10 })),
        n if n > 128 => Err(FieldError::new(field, Problem::TooLong { max: 128 })),
        _ => Ok(input.to_owned()),
    }
}

/// A 6-digit administrative division code (GB/T 2260).
pub fn region_code(field: &str, input: &str) -> Result<String, FieldError> {
    let r = input.trim();
    if r.len() == 6 && r.bytes().all(|b| b.is_ascii_digit()) && !r.starts_with('0') {
        Ok(r.to_owned())
    } else {
        Err(FieldError::new(field, Problem::BadFormat))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_codes_are_checked_per_gb_32100() {
        // Published codes of real organisations.
        assert_eq!(credit_code("c", "91350100M000100Y43").as_deref(), Ok("91350100M000100Y43"));
        assert_eq!(credit_code_check_char("91350100M000100Y4"), Some('3'));
        let prefix = "12110000400001034";
        let code = format!("{prefix}{}", credit_code_check_char(prefix).unwrap());
        assert_eq!(credit_code("c", &code), Ok(code.clone()));
        assert_eq!(credit_code("c", " 91350100m000100y43 ").as_deref(), Ok("91350100M000100Y43"));
        assert_eq!(credit_code("c", "91350100M000100Y44").unwrap_err().problem, Problem::BadCheckCharacter);
        assert_eq!(credit_code("c", "91350100M000100Y4").unwrap_err().problem, Problem::BadFormat);
        // I, O, Z, S, V are not in the character set.
        assert_eq!(credit_code("c", "91350100I000100Y43").unwrap_err().problem, Problem::BadFormat);
        assert_eq!(credit_code("c", "").unwrap_err().problem, Problem::Required);
    }

    #[test]
    fn resident_ids_are_checked_per_gb_11643() {
        // The standard's own example.
        assert_eq!(resident_id("i", "11010519491231002X").as_deref(), Ok("11010519491231002X"));
        assert_eq!(resident_id("i", "11010519491231002x").as_deref(), Ok("11010519491231002X"));
        assert_eq!(resident_id("i", "110105194912310021").unwrap_err().problem, Problem::BadCheckCharacter);
        assert_eq!(resident_id("i", "110105194902300025").unwrap_err().problem, Problem::BadFormat, "30 February");
        assert_eq!(resident_id("i", "11010519491231002").unwrap_err().problem, Problem::BadFormat);
        assert_eq!(resident_id("i", "A1010519491231002X").unwrap_err().problem, Problem::BadFormat);
        assert_eq!(resident_id_check_char("11010519491231002"), Some('X'));
    }

    #[test]
    fn mobiles_and_text_are_checked() {
        assert!(mobile("m", "13812345678").is_ok());
        assert_eq!(mobile("m", "12812345678").unwrap_err().problem, Problem::BadFormat);
        assert_eq!(mobile("m", "1381234567").unwrap_err().problem, Problem::BadFormat);
        assert_eq!(text("name", "  北京大学  ", 10).as_deref(), Ok("北京大学"));
        assert_eq!(text("name", "一二三四五六", 5).unwrap_err().problem, Problem::TooLong { max: 5 });
        assert_eq!(text("name", "a\u{0}b", 5).unwrap_err().problem, Problem::BadFormat);
        // A text area's lines (an annual report's section, a purpose): breaks kept, nothing else.
        assert_eq!(text("s", "一\n二", 5).unwrap_err().problem, Problem::BadFormat);
        assert_eq!(lines("s", " 一\r\n二\n三 ", 10).as_deref(), Ok("一\r\n二\n三"));
        assert_eq!(lines("s", " \n ", 10).unwrap_err().problem, Problem::Required);
        assert_eq!(lines("s", "一\t二", 10).unwrap_err().problem, Problem::BadFormat);
        assert_eq!(lines("s", "一二三四五六", 5).unwrap_err().problem, Problem::TooLong { max: 5 });
    }
}
