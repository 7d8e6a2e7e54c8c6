//! Issue 14 fuzz ("Bars"): property tests of every parser of typed or scanned input — codes and
//! numbers, credit codes, ID numbers, mobiles, dates, base64url keys, signatures and digests,
//! OpenID Connect parameters, language tags, redirect URLs and the requester's browser.
//!
//! Each parser gets (a) arbitrary text — short and up to 4 KiB, any Unicode scalar, control
//! characters, `%00`, full-width digits, bidi marks, invalid UTF-8 read lossily, and mutants of
//! valid values — and must not panic, and (b) a round trip or an invariant: a valid value built
//! here from the standard (not from the code under test) is accepted, a one-character change is
//! refused, and whatever a parser accepts is bounded and well formed.
//!
//! Committed run length (fixed here; `PROPTEST_CASES` does not change it): [`CASES`] = 2,048
//! cases for each of the 42 text properties, [`CRYPTO_CASES`] = 128 for the 2 that make and check
//! P-256 keys and signatures, [`ROUND_TRIP_CASES`] = 512 for the 2 data-key and the 2 signing-time
//! properties: about 86,000 cases, 1.6–1.9 s for the module in a debug build on 2 cores, 4.7 s
//! while another build ran (`cargo test -p ecert-core --test it fuzz`). The run found three
//! faults, each fixed with its property kept here: an empty redirect host, unpadded standard
//! base64 data keys, and a signing time at the ends of i64 that overflowed the staleness check.
//! Failures are not persisted to files: a failing case is printed with its minimal input.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use ecert_core::holder::{self, Role};
use ecert_core::i18n::{LANG_COOKIE, Lang};
use ecert_core::login::requester::{self, AGENT_MAX, Requester};
use ecert_core::oidc::{self, AuthorizeParams, OidcError, PASS_THROUGH_MAX};
use ecert_core::party;
use ecert_core::presentation::{self, NUMBER_DIGITS};
use ecert_core::seal::Vault;
use ecert_core::signing;
use ecert_core::usage::{self, UsageFilter, UsageKind};
use ecert_core::{DomainError, Millis, Problem, device, mask, sms, time, validate};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::support::{T0, domain};

/// Cases per property of a pure text parser.
const CASES: u32 = 2048;
/// Cases per property that makes or checks P-256 keys and signatures (slow in a debug build).
const CRYPTO_CASES: u32 = 128;
/// Cases per property that parses a data key (SHA-256 and an AES key schedule per case).
const ROUND_TRIP_CASES: u32 = 512;

fn config(cases: u32) -> ProptestConfig {
    // A fixed seed: the committed run is the same run everywhere, so CI sees what was run here.
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20261202),
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// Characters that scanners, Chinese input methods and attackers produce.
const NASTY: &[char] = &[
    '0',
    '1',
    '3',
    '7',
    '9',
    'X',
    'x',
    'A',
    'Z',
    'i',
    'O',
    '-',
    '_',
    ' ',
    '\u{3000}',
    '\u{a0}',
    '０',
    '１',
    '９',
    'Ｘ',
    '%',
    '+',
    '=',
    '/',
    '.',
    '~',
    '?',
    '#',
    '@',
    ':',
    '&',
    ';',
    ',',
    '"',
    '[',
    ']',
    '\\',
    '\0',
    '\n',
    '\r',
    '\t',
    '\u{7f}',
    '\u{85}',
    '\u{200b}',
    '\u{200e}',
    '\u{202e}',
    '\u{2066}',
    '\u{feff}',
    '·',
    '张',
    '三',
    '٣',
    '\u{301}',
    'é',
    'İ',
    'ß',
    '😀',
    '\u{10ffff}',
];

fn nasty_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(NASTY), 0..max).prop_map(String::from_iter)
}

/// Anything a person could type, paste or a scanner could read, short or long.
fn input() -> BoxedStrategy<String> {
    prop_oneof![
        4 => nasty_text(48),
        3 => prop::collection::vec(any::<char>(), 0..64).prop_map(String::from_iter),
        1 => prop::collection::vec(any::<char>(), 0..4096).prop_map(String::from_iter),
        1 => prop::collection::vec(any::<u8>(), 0..512).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        1 => "(%00|%[0-9a-fA-F]{2}|[0-9]|[０-９]| |-){0,40}",
        1 => "[A-Za-z0-9_=-]{0,100}",
    ]
    .boxed()
}

/// `valid` with one edit: a character replaced, inserted or deleted, or spaces around it.
fn mutant(valid: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (valid, 0..4u8, any::<prop::sample::Index>(), prop::sample::select(NASTY)).prop_map(|(v, op, at, c)| {
        let mut chars: Vec<char> = v.chars().collect();
        match op {
            0 if !chars.is_empty() => {
                let i = at.index(chars.len());
                chars[i] = c;
            }
            1 => chars.insert(at.index(chars.len() + 1), c),
            2 if !chars.is_empty() => {
                chars.remove(at.index(chars.len()));
            }
            _ => return format!(" {v}\u{3000}"),
        }
        chars.into_iter().collect()
    })
}

/// Arbitrary input, or a mutant of a valid value of the parser.
fn near(valid: impl Strategy<Value = String> + 'static) -> BoxedStrategy<String> {
    prop_oneof![1 => input(), 1 => mutant(valid)].boxed()
}

/// `s` with character `i` replaced by another one of `alphabet`.
fn change_char(s: &str, i: usize, alphabet: &[u8], pick: usize) -> String {
    let mut bytes = s.as_bytes().to_vec();
    let others: Vec<u8> = alphabet.iter().copied().filter(|&c| c != bytes[i]).collect();
    bytes[i] = others[pick % others.len()];
    String::from_utf8(bytes).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Reference implementations, from the standards rather than from the code under test

/// GB 32100-2015: the 31 code characters in value order; the weights are 3^i mod 31.
const CREDIT_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

fn gb32100_check(prefix: &[u8]) -> u8 {
    let mut weight = 1u32;
    let mut sum = 0u32;
    for b in prefix {
        let value = CREDIT_CHARS.iter().position(|c| c == b).unwrap() as u32;
        sum += value * weight;
        weight = weight * 3 % 31;
    }
    CREDIT_CHARS[((31 - sum % 31) % 31) as usize]
}

fn credit_code() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(CREDIT_CHARS), 17).prop_map(|prefix| {
        let check = gb32100_check(&prefix);
        let mut code = prefix;
        code.push(check);
        String::from_utf8(code).unwrap()
    })
}

/// GB 11643-1999: ISO 7064 MOD 11-2, weight 2^(17-i) mod 11 for digit i, check (12 - sum) mod 11.
fn gb11643_check(prefix: &[u8]) -> u8 {
    let sum: u32 = prefix.iter().enumerate().map(|(i, d)| u32::from(d - b'0') * (1u32 << (17 - i)) % 11).sum();
    b"0123456789X"[((12 - sum % 11) % 11) as usize]
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A resident ID number with a real birth date in 1900–2100 and the right check character.
fn resident_id() -> impl Strategy<Value = String> {
    (1..=9u32, 0..100_000u32, 1900..=2100u32, 1..=12u32, 0..31u32, 0..1000u32).prop_map(|(r, rest, y, m, d, seq)| {
        let d = 1 + d % days_in_month(y, m);
        let prefix = format!("{r}{rest:05}{y:04}{m:02}{d:02}{seq:03}");
        let check = gb11643_check(prefix.as_bytes()) as char;
        format!("{prefix}{check}")
    })
}

fn mobile() -> impl Strategy<Value = String> {
    "1[3-9][0-9]{9}"
}

fn day_text() -> impl Strategy<Value = String> {
    (0..=9999u32, 1..=12u32, 0..31u32).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{:02}", 1 + d % days_in_month(y, m)))
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8().unwrap().into_owned()
}

fn p256_key() -> impl Strategy<Value = SigningKey> {
    any::<[u8; 32]>().prop_filter_map("not a P-256 scalar", |b| SigningKey::from_slice(&b).ok())
}

fn public_key(key: &SigningKey, compressed: bool) -> String {
    URL_SAFE_NO_PAD.encode(key.verifying_key().to_encoded_point(compressed).as_bytes())
}

const URL_SAFE_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// ---------------------------------------------------------------------------------------------
// Identifiers: credit codes, resident ID numbers, mobiles, regions, names, passwords

proptest! {
    #![proptest_config(config(CASES))]

    /// Issue 15 §2: a page cursor the console sends back (`after`) never panics the parser; one
    /// the server made reads back as it was made, and what is accepted is a number and a short
    /// id of URL-safe characters (the id is bound as a parameter, the number written as one).
    #[test]
    fn page_cursor_reads_back_or_is_refused(
        s in near("[0-9]{1,19}\\.[A-Za-z0-9_-]{1,64}"), at in any::<i64>(), id in "[A-Za-z0-9_-]{1,64}"
    ) {
        use ecert_core::certificate::{page_cursor, parse_cursor};
        if let Some((_, id)) = parse_cursor(&s) {
            prop_assert!(!id.is_empty() && id.len() <= 64);
            prop_assert!(id.bytes().all(|b| URL_SAFE_ALPHABET.contains(&b)));
        }
        prop_assert_eq!(parse_cursor(&page_cursor(at, &id)), Some((at, id.clone())));
    }

    /// Issue 14 fuzz: `validate::credit_code` never panics and accepts only 18 code characters,
    /// the input trimmed and upper-cased.
    #[test]
    fn credit_code_accepts_only_eighteen_code_characters(s in near(credit_code())) {
        if let Ok(code) = validate::credit_code("c", &s) {
            prop_assert_eq!(code.len(), 18);
            prop_assert!(code.bytes().all(|b| CREDIT_CHARS.contains(&b)));
            prop_assert_eq!(&code, &s.trim().to_ascii_uppercase());
            prop_assert_eq!(gb32100_check(&code.as_bytes()[..17]), code.as_bytes()[17]);
        }
        let _ = validate::credit_code_check_char(&s);
    }

    /// Issue 14 fuzz: a code with the GB 32100 check character is accepted, in any case and with
    /// spaces around it, and `credit_code_check_char` agrees with the standard.
    #[test]
    fn credit_code_with_its_check_character_is_accepted(code in credit_code()) {
        prop_assert_eq!(validate::credit_code("c", &code), Ok(code.clone()));
        prop_assert_eq!(validate::credit_code("c", &format!(" {}\t", code.to_ascii_lowercase())), Ok(code.clone()));
        prop_assert_eq!(validate::credit_code_check_char(&code[..17]), Some(code.as_bytes()[17] as char));
    }

    /// Issue 14 fuzz: changing any one character of a valid credit code to another code
    /// character is caught by the check character; to a letter outside the set, by the format.
    #[test]
    fn credit_code_with_one_character_changed_is_refused(
        code in credit_code(), i in 0..18usize, pick in any::<usize>(), outside in prop::sample::select(&b"IOZSV"[..])
    ) {
        let changed = change_char(&code, i, CREDIT_CHARS, pick);
        prop_assert_eq!(validate::credit_code("c", &changed).unwrap_err().problem, Problem::BadCheckCharacter);
        let mut bytes = code.into_bytes();
        bytes[i] = outside;
        let outside = String::from_utf8(bytes).unwrap();
        prop_assert_eq!(validate::credit_code("c", &outside).unwrap_err().problem, Problem::BadFormat);
    }

    /// Issue 14 fuzz: `validate::resident_id` never panics and accepts only 17 digits and a
    /// digit or `X`, with a real birth date and the GB 11643 check character.
    #[test]
    fn resident_id_accepts_only_well_formed_numbers(s in near(resident_id())) {
        if let Ok(id) = validate::resident_id("i", &s) {
            let b = id.as_bytes();
            prop_assert_eq!(b.len(), 18);
            prop_assert!(b[..17].iter().all(u8::is_ascii_digit) && (b[17].is_ascii_digit() || b[17] == b'X'));
            prop_assert_eq!(gb11643_check(&b[..17]), b[17]);
            prop_assert!(time::parse_day(&format!("{}-{}-{}", &id[6..10], &id[10..12], &id[12..14])).is_some(), "{}", id);
            prop_assert_eq!(&id, &s.trim().to_ascii_uppercase());
        }
        let _ = validate::resident_id_check_char(&s);
    }

    /// Issue 14 fuzz: a number with a real date and the right check character is accepted
    /// (a lower-case `x` too) and `resident_id_check_char` agrees with the standard.
    #[test]
    fn resident_id_with_its_check_character_is_accepted(id in resident_id()) {
        prop_assert_eq!(validate::resident_id("i", &id), Ok(id.clone()));
        prop_assert_eq!(validate::resident_id("i", &format!("\u{3000}{} ", id.to_ascii_lowercase())), Ok(id.clone()));
        prop_assert_eq!(validate::resident_id_check_char(&id[..17]), Some(id.as_bytes()[17] as char));
    }

    /// Issue 14 fuzz: one digit changed (or the check character) and the number is refused.
    #[test]
    fn resident_id_with_one_character_changed_is_refused(id in resident_id(), i in 0..18usize, pick in any::<usize>()) {
        let alphabet: &[u8] = if i == 17 { b"0123456789X" } else { b"0123456789" };
        let changed = change_char(&id, i, alphabet, pick);
        prop_assert!(validate::resident_id("i", &changed).is_err(), "{} accepted", changed);
    }

    /// Issue 14 fuzz: a birth date that is not a real day is refused whatever its check character.
    #[test]
    fn resident_id_with_an_impossible_birth_date_is_refused(
        id in resident_id(), m in 0..=99u32, d in 0..=99u32
    ) {
        let y: u32 = id[6..10].parse().unwrap();
        prop_assume!(!(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m));
        let prefix = format!("{}{m:02}{d:02}{}", &id[..10], &id[14..17]);
        let forged = format!("{prefix}{}", gb11643_check(prefix.as_bytes()) as char);
        prop_assert_eq!(validate::resident_id("i", &forged).unwrap_err().problem, Problem::BadFormat);
    }

    /// Issue 14 fuzz: `validate::mobile` accepts exactly 11 ASCII digits starting 13–19.
    #[test]
    fn mobile_accepts_only_eleven_digits_starting_13_to_19(s in near(mobile())) {
        let t = s.trim();
        let b = t.as_bytes();
        let expected = b.len() == 11 && b.iter().all(u8::is_ascii_digit) && b[0] == b'1' && b[1] >= b'3';
        match validate::mobile("m", &s) {
            Ok(m) => prop_assert!(expected && m == t, "{:?} accepted as {:?}", s, m),
            Err(_) => prop_assert!(!expected, "{:?} refused", s),
        }
    }

    /// Issue 14 fuzz: `validate::region_code` accepts exactly six ASCII digits not starting 0.
    #[test]
    fn region_code_accepts_only_six_digits(s in near("[1-9][0-9]{5}")) {
        if let Ok(r) = validate::region_code("r", &s) {
            prop_assert!(r.len() == 6 && r.bytes().all(|b| b.is_ascii_digit()) && !r.starts_with('0'));
        }
    }

    /// Issue 14 fuzz: free text is trimmed, bounded in characters and free of control characters.
    #[test]
    fn text_is_bounded_and_free_of_control_characters(s in input(), max in 0..300usize) {
        if let Ok(t) = validate::text("t", &s, max) {
            prop_assert!(!t.is_empty() && t.chars().count() <= max);
            prop_assert!(!t.chars().any(char::is_control));
            prop_assert_eq!(t.as_str(), s.trim());
        }
    }

    /// Issue 14 fuzz: a person's name is 2–30 letters and separators, starting with a letter.
    #[test]
    fn person_name_is_bounded_letters(s in near("[张三李四欧阳娜·a-zA-Z ]{2,30}")) {
        if let Ok(n) = validate::person_name("n", &s) {
            prop_assert!((2..=30).contains(&n.chars().count()));
            prop_assert!(n.chars().next().is_some_and(char::is_alphabetic));
            prop_assert!(!n.chars().any(char::is_control));
        }
    }

    /// Issue 14 fuzz: a sign-in name is 3–32 ASCII letters, digits, `.`, `_` or `-`.
    #[test]
    fn username_is_bounded_ascii(s in near("[a-zA-Z0-9._-]{3,32}")) {
        if let Ok(u) = validate::username("u", &s) {
            prop_assert!((3..=32).contains(&u.len()));
            prop_assert!(u.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')));
        }
    }

    /// Issue 14 fuzz: a staff password and a certificate password are accepted exactly when their
    /// length in characters is in range, and are kept as typed.
    #[test]
    fn passwords_are_accepted_by_length_in_characters(s in input()) {
        let n = s.chars().count();
        match validate::new_password("p", &s) {
            Ok(p) => prop_assert!((10..=128).contains(&n) && p == s),
            Err(_) => prop_assert!(!(10..=128).contains(&n)),
        }
        prop_assert_eq!(
            device::check_new_password("p", &s).is_ok(),
            (device::PASSWORD_MIN..=device::PASSWORD_MAX).contains(&n)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Dates, periods and the usage filter

proptest! {
    #![proptest_config(config(CASES))]

    /// Issue 14 fuzz: `time::parse_day` never panics, and what it accepts is a real date written
    /// exactly `YYYY-MM-DD`: formatting the day gives the trimmed input back.
    #[test]
    fn parse_day_accepts_only_what_format_day_writes(s in near(day_text())) {
        if let Some(day) = time::parse_day(&s) {
            prop_assert_eq!(time::format_day(day), s.trim());
        }
    }

    /// Issue 14 fuzz: every day of the years 0000–9999 round-trips through its text.
    #[test]
    fn parse_day_reads_back_every_formatted_day(s in day_text()) {
        let day = time::parse_day(&s).unwrap();
        prop_assert_eq!(time::format_day(day), s);
    }

    /// Issue 14 fuzz: a grant period (R6) never panics; an accepted one starts today or later,
    /// ends no earlier and lasts at most a year.
    #[test]
    fn grant_period_is_checked_whatever_is_typed(
        start in near(day_text()), end in near(day_text()), today in -1_000_000..3_000_000i64
    ) {
        if let Ok((s, e)) = holder::check_period(&start, &end, today) {
            prop_assert!(today <= s && s <= e && e < time::one_year_after(s));
        }
    }

    /// Issue 14 fuzz: the usage filter never panics; accepted bounds are in order.
    #[test]
    fn usage_filter_bounds_are_in_order(
        kind in near("login|present|sign|"), from in near(day_text()), to in near(day_text()), page in any::<i64>()
    ) {
        let filter = UsageFilter { kind: kind.clone(), from_day: from, to_day: to, page };
        if let Ok((from, to)) = usage::bounds(&filter) {
            prop_assert!(kind.is_empty() || UsageKind::from_sql(&kind).is_some());
            if let (Some(f), Some(t)) = (from, to) {
                prop_assert!(f < t);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Codes and numbers: the presented number, SMS outbox masking, roles, masks, CSV

proptest! {
    #![proptest_config(config(CASES))]

    /// Issue 14 fuzz: a typed or scanned numeric code is 16 ASCII digits or nothing.
    #[test]
    fn numeric_code_is_sixteen_ascii_digits_or_nothing(s in near("[0-9]{16}")) {
        if let Some(n) = presentation::normalize_number(&s) {
            prop_assert_eq!(n.len(), NUMBER_DIGITS);
            prop_assert!(n.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    /// Issue 14 fuzz: a number reads back from its grouped form, with hyphens, and as typed with
    /// a Chinese input method's full-width digits and spaces; a digit more or less is refused.
    #[test]
    fn numeric_code_reads_back_as_shown_and_as_typed(number in "[0-9]{16}", extra in "[0-9]") {
        let grouped = presentation::format_number(&number);
        prop_assert_eq!(presentation::normalize_number(&grouped), Some(number.clone()));
        prop_assert_eq!(presentation::normalize_number(&grouped.replace(' ', "-")), Some(number.clone()));
        let full_width: String = grouped
            .chars()
            .map(|c| if c == ' ' { '\u{3000}' } else { char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap() })
            .collect();
        prop_assert_eq!(presentation::normalize_number(&full_width), Some(number.clone()));
        prop_assert_eq!(presentation::normalize_number(&format!("{number}{extra}")), None);
        prop_assert_eq!(presentation::normalize_number(&number[1..]), None);
    }

    /// Issue 14 fuzz: the SMS outbox mask keeps every character but the digits of runs as long
    /// as a code, and leaves no such run readable.
    #[test]
    fn sms_codes_are_masked_and_nothing_else_changes(body in near("[^0-9]{0,10}[0-9]{4,8}[^0-9]{0,10}")) {
        let masked = sms::mask_codes(&body);
        prop_assert_eq!(masked.chars().count(), body.chars().count());
        for (a, b) in body.chars().zip(masked.chars()) {
            prop_assert!(a == b || (a.is_ascii_digit() && b == '*'));
        }
        let mut run = 0;
        for c in masked.chars() {
            run = if c.is_ascii_digit() { run + 1 } else { 0 };
            prop_assert!(run < sms::CODE_DIGITS, "{:?} left a code in {:?}", body, masked);
        }
    }

    /// Issue 14 fuzz: a role is parsed only from its exact text.
    #[test]
    fn role_is_parsed_only_from_its_exact_text(s in near("first_manager|manager|user")) {
        match Role::parse(&s) {
            Ok(role) => prop_assert_eq!(role.as_sql(), s.as_str()),
            Err(e) => prop_assert!(Role::ALL.iter().all(|r| r.as_sql() != s) && e.field == "role"),
        }
    }

    /// Issue 14 fuzz: masks keep the length in characters and show at most the ends.
    #[test]
    fn masks_keep_the_length_and_hide_the_middle(s in input()) {
        let n = s.chars().count();
        for masked in [mask::id_number(&s), mask::mobile(&s), mask::person_name(&s)] {
            prop_assert_eq!(masked.chars().count(), n);
        }
        let id = mask::id_number(&s);
        if n > 7 {
            prop_assert!(id.chars().skip(3).take(n - 7).all(|c| c == '*'));
        } else {
            prop_assert!(id.chars().all(|c| c == '*'));
        }
    }

    /// Issue 14 fuzz: a CSV field reads back as its value (a formula prefixed with `'`) and never
    /// starts a formula or breaks a row.
    #[test]
    fn csv_fields_read_back_and_start_no_formula(s in input()) {
        let field = usage::csv_field(&s);
        let value = match field.strip_prefix('"') {
            Some(quoted) => {
                let inner = quoted.strip_suffix('"').unwrap();
                prop_assert!(!inner.replace("\"\"", "").contains('"'));
                inner.replace("\"\"", "\"")
            }
            None => {
                prop_assert!(!field.contains([',', '"', '\n', '\r']));
                field.clone()
            }
        };
        prop_assert!(!value.starts_with(['=', '+', '-', '@']));
        prop_assert!(value == s || value == format!("'{s}"), "{:?} read back as {:?}", s, value);
    }
}

// ---------------------------------------------------------------------------------------------
// Language, requester and relying-party names and redirect URLs

fn cookie_pair() -> impl Strategy<Value = String> {
    ("[a-z_]{1,10}", "[a-zA-Z0-9-]{0,8}")
        .prop_filter("another cookie", |(n, _)| n != LANG_COOKIE)
        .prop_map(|(n, v)| format!("{n}={v}"))
}

fn url_like() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["https", "http", "HTTPS", "ftp", "javascript", ""][..]),
        prop::sample::select(&["://", ":", "//", ":///"][..]),
        "[a-z0-9.@\\[\\]%-]{0,14}(:[0-9a-z]{0,5}){0,2}",
        "(/[a-z0-9?#=&%. -]{0,12}){0,3}",
    )
        .prop_map(|(scheme, sep, authority, path)| format!("{scheme}{sep}{authority}{path}"))
}

proptest! {
    #![proptest_config(config(CASES))]

    /// Issue 14 fuzz: a language tag picks English only for `en` or `en-…`, in any case.
    #[test]
    fn language_tag_picks_english_only_for_en(s in near("en|en-US|zh-CN|EN-gb|fr")) {
        let v = s.trim().to_ascii_lowercase();
        prop_assert_eq!(Lang::parse(&s) == Lang::En, v == "en" || v.starts_with("en-"));
    }

    /// Issue 14 fuzz: the language cookie is found among any others; junk headers never panic.
    #[test]
    fn language_cookie_is_found_among_others(
        before in prop::collection::vec(cookie_pair(), 0..4), after in prop::collection::vec(cookie_pair(), 0..4),
        english in any::<bool>(), junk in input()
    ) {
        let lang = if english { Lang::En } else { Lang::Zh };
        let mut pairs = before;
        pairs.push(format!("{LANG_COOKIE}={}", lang.tag()));
        pairs.extend(after);
        prop_assert_eq!(Lang::from_cookie_header(&pairs.join("; ")), lang);
        let _ = Lang::from_cookie_header(&junk);
    }

    /// Issue 14 fuzz: what is kept of a requester is bounded and free of control characters.
    #[test]
    fn requester_is_bounded_and_printable(ip in input(), agent in input()) {
        let r = Requester::new(Some(ip), Some(&agent));
        prop_assert!(r.ip.as_ref().is_none_or(|ip| ip.len() <= 64));
        if let Some(a) = &r.user_agent {
            prop_assert!(a.chars().count() <= AGENT_MAX && !a.chars().any(char::is_control) && !a.trim().is_empty());
        }
        if let Some(label) = requester::browser_label(&agent) {
            prop_assert!(label.chars().count() <= 40, "{:?}", label);
        }
    }

    /// Issue 14 fuzz: "another network" is symmetric, never true of one address, and never
    /// true when an address does not parse.
    #[test]
    fn networks_differ_is_symmetric_and_safe(
        a in prop_oneof![any::<std::net::IpAddr>().prop_map(|a| a.to_string()), input()],
        b in prop_oneof![any::<std::net::IpAddr>().prop_map(|a| a.to_string()), input()],
    ) {
        prop_assert_eq!(
            requester::networks_differ(Some(&a), Some(&b)),
            requester::networks_differ(Some(&b), Some(&a))
        );
        prop_assert!(!requester::networks_differ(Some(&a), Some(&a)));
        if a.parse::<std::net::IpAddr>().is_err() {
            prop_assert!(!requester::networks_differ(Some(&a), Some(&b)));
        }
    }

    /// Issue 14 fuzz: a relying party named like the platform, however spaced, cased or written
    /// in full-width letters, is caught.
    #[test]
    fn platform_names_are_caught_however_disguised(
        own in prop::sample::select(&["管理人后台", "法人电子证书", "证书钱包", "Dashboard", "ECert"][..]),
        seps in prop::collection::vec(prop::sample::select(&[' ', '-', '·', '.', '\u{3000}', '／', '\u{200b}', '_'][..]), 0..12),
        full_width in any::<bool>(), upper in any::<bool>(), prefix in "[a-z张]{0,4}", junk in input()
    ) {
        let mut name = prefix;
        for (i, c) in own.chars().enumerate() {
            let c = if upper { c.to_ascii_uppercase() } else { c };
            let c = if full_width && c.is_ascii_alphanumeric() { char::from_u32(c as u32 + 0xfee0).unwrap() } else { c };
            name.push(c);
            if let Some(sep) = seps.get(i) {
                name.push(*sep);
            }
        }
        prop_assert!(party::imitates_platform(&name), "{:?} not caught", name);
        let _ = party::imitates_platform(&junk);
    }

    /// Issue 14 fuzz: a redirect URL is accepted only as https (or http on loopback), with no
    /// fragment, user info, spaces or control characters.
    #[test]
    fn redirect_uri_accepts_only_https_or_loopback(s in prop_oneof![url_like(), near(url_like())]) {
        if party::check_redirect_uri(&s) {
            let (scheme, rest) = s.split_once("://").unwrap();
            let authority = rest.split(['/', '?', '#']).next().unwrap();
            prop_assert!(!authority.is_empty() && !authority.contains('@'));
            prop_assert!(!s.contains('#') && !s.chars().any(|c| c.is_whitespace() || c.is_control()));
            let loopback = ["localhost", "127.0.0.1", "[::1]"]
                .iter()
                .any(|h| authority == *h || authority.strip_prefix(h).is_some_and(|p| p.starts_with(':')));
            prop_assert!(scheme == "https" || (scheme == "http" && loopback), "{:?}", s);
        }
    }

    /// Issue 14 fuzz: an accepted redirect URL names a host.
    #[test]
    fn redirect_uri_names_a_host(s in url_like()) {
        if party::check_redirect_uri(&s) {
            let authority = s.split_once("://").unwrap().1.split(['/', '?', '#']).next().unwrap();
            let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
            prop_assert!(!host.is_empty(), "{:?} accepted", s);
        }
    }

    /// Issue 14 fuzz: https URLs with a host and a path are accepted; http ones elsewhere than
    /// loopback are not.
    #[test]
    fn redirect_uri_accepts_https_with_a_host(host in "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){1,2}", port in prop::option::of(1..65535u16), path in "(/[a-z0-9_-]{1,8}){0,3}") {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let https = format!("https://{host}{port}{path}");
        prop_assert!(party::check_redirect_uri(&https), "{} refused", https);
        prop_assume!(host != "localhost");
        let http = format!("http://{host}{port}{path}");
        prop_assert!(!party::check_redirect_uri(&http), "{} accepted", http);
        let loopback = format!("http://127.0.0.1{port}{path}");
        prop_assert!(party::check_redirect_uri(&loopback), "{} refused", loopback);
    }

    /// Issue 14 fuzz: the redirect URL lines staff type are trimmed and non-empty; a line that
    /// keeps a lone carriage return (`str::lines` splits only at `\n`) is refused as a URL.
    #[test]
    fn redirect_lines_are_trimmed_and_non_empty(text in prop_oneof![input(), url_like().prop_map(|u| format!("{u}\r\n \r{u}\n"))]) {
        for line in party::redirect_lines(&text) {
            prop_assert!(!line.is_empty() && line == line.trim() && !line.contains('\n'), "{:?}", line);
            prop_assert!(!line.contains('\r') || !party::check_redirect_uri(&line), "{:?} accepted", line);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// OpenID Connect parameters and PKCE

fn verifier() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~-]{43,128}"
}

/// One parameter: a good value most of the time, else missing or anything at all.
fn param(good: impl Strategy<Value = String> + 'static) -> BoxedStrategy<Option<String>> {
    prop_oneof![4 => good.prop_map(Some), 1 => Just(None), 1 => input().prop_map(Some)].boxed()
}

const REDIRECT: &str = "https://rp.example.cn/callback";

fn authorize_params() -> impl Strategy<Value = AuthorizeParams> {
    (
        param(Just("client-1".to_owned())),
        param(prop_oneof![Just(REDIRECT.to_owned()), Just(format!("{REDIRECT}/")), url_like()]),
        param(Just("code".to_owned())),
        param("(openid|profile|email)( (openid|profile|x))*"),
        param(nasty_text(600)),
        param(nasty_text(600)),
        param(verifier().prop_map(|v| oidc::s256_challenge(&v))),
        param(prop_oneof![Just("S256".to_owned()), Just("plain".to_owned())]),
    )
        .prop_map(|(client_id, redirect_uri, response_type, scope, state, nonce, challenge, method)| {
            AuthorizeParams {
                client_id,
                redirect_uri,
                response_type,
                scope,
                state,
                nonce,
                code_challenge: challenge,
                code_challenge_method: method,
                ..AuthorizeParams::default()
            }
        })
}

proptest! {
    #![proptest_config(config(CASES))]

    /// Issue 14 fuzz: an authorization request never panics; an accepted one is exactly what
    /// OpenID Connect with S256 PKCE allows, bounded; a refusal is sent only to a registered URL
    /// with the state as sent.
    #[test]
    fn authorize_request_accepts_only_bounded_s256_code_requests(
        p in authorize_params(), known in any::<bool>(), extra in url_like()
    ) {
        let registered = vec![REDIRECT.to_owned(), extra];
        let registered = known.then_some(registered.as_slice());
        match oidc::check_authorize(&p, registered) {
            Ok(c) => {
                prop_assert!(registered.unwrap().contains(&c.redirect_uri));
                prop_assert_eq!(Some(&c.redirect_uri), p.redirect_uri.as_ref());
                prop_assert!(!c.client_id.is_empty());
                prop_assert_eq!(p.response_type.as_deref(), Some("code"));
                prop_assert_eq!(p.code_challenge_method.as_deref(), Some(oidc::S256));
                prop_assert!(c.scope.len() <= PASS_THROUGH_MAX && c.scope.split(' ').any(|s| s == "openid"));
                prop_assert!(c.state.as_ref().is_none_or(|s| !s.is_empty() && s.len() <= PASS_THROUGH_MAX));
                prop_assert!(c.nonce.as_ref().is_none_or(|n| !n.is_empty() && n.len() <= PASS_THROUGH_MAX));
                prop_assert_eq!(c.state.as_ref(), p.state.as_ref().filter(|s| !s.is_empty()));
                prop_assert_eq!(c.nonce.as_ref(), p.nonce.as_ref().filter(|s| !s.is_empty()));
                prop_assert!(c.code_challenge.len() == 43 && c.code_challenge.bytes().all(|b| URL_SAFE_ALPHABET.contains(&b)));
            }
            Err(OidcError::Redirect { redirect_uri, state, .. }) => {
                prop_assert!(registered.unwrap().contains(&redirect_uri));
                prop_assert_eq!(Some(&redirect_uri), p.redirect_uri.as_ref());
                prop_assert_eq!(state.as_ref(), p.state.as_ref().filter(|s| !s.is_empty()));
            }
            Err(OidcError::UnknownClient | OidcError::BadRedirectUri) => {
                let client_known = known && p.client_id.as_ref().is_some_and(|c| !c.is_empty());
                prop_assert!(!client_known || p.redirect_uri.as_ref().is_none_or(|r| r != REDIRECT));
            }
            Err(other) => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
        }
    }

    /// Issue 14 fuzz: a well-formed verifier matches its own S256 challenge and no other; an
    /// arbitrary one never panics and matches only if well formed.
    #[test]
    fn pkce_verifier_matches_only_its_challenge(v in verifier(), i in any::<prop::sample::Index>(), pick in any::<usize>(), junk in input()) {
        prop_assert!(oidc::verifier_is_well_formed(&v));
        let challenge = oidc::s256_challenge(&v);
        prop_assert!(challenge.len() == 43 && challenge.bytes().all(|b| URL_SAFE_ALPHABET.contains(&b)));
        prop_assert!(oidc::pkce_matches(&v, &challenge));
        let other = change_char(&v, i.index(v.len()), b"ABCxyz019._~-", pick);
        prop_assert!(!oidc::pkce_matches(&other, &challenge));
        prop_assert!(!oidc::pkce_matches(&junk, &challenge) || junk == v);
        let well_formed = (43..=128).contains(&junk.len())
            && junk.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        prop_assert_eq!(oidc::verifier_is_well_formed(&junk), well_formed);
        prop_assert!(!oidc::pkce_matches(&junk, &oidc::s256_challenge(&junk)) || well_formed);
    }

    /// Issue 14 fuzz: parameters added to a redirect URL read back exactly, and their encoding
    /// uses only unreserved characters and `%XX`.
    #[test]
    fn query_parameters_read_back_exactly(
        uri in prop_oneof![Just(REDIRECT.to_owned()), Just(format!("{REDIRECT}?k=1"))],
        params in prop::collection::vec(("[a-z_]{1,8}", input()), 0..4)
    ) {
        let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let out = oidc::with_query(&uri, &refs);
        let added = out.strip_prefix(&uri).unwrap();
        if params.is_empty() {
            prop_assert_eq!(added, "");
        } else {
            prop_assert!(added.starts_with(if uri.contains('?') { '&' } else { '?' }), "{}", out);
            let read: Vec<(String, String)> = added[1..]
                .split('&')
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap();
                    (percent_decode(k), percent_decode(v))
                })
                .collect();
            prop_assert_eq!(read, params.clone());
        }
        for (_, v) in &params {
            let encoded = oidc::percent_encode(v);
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
            prop_assert_eq!(&percent_decode(&encoded), v);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Base64url: digests, device keys and signatures, the data key

proptest! {
    #![proptest_config(config(CASES))]

    /// Issue 14 fuzz: a sign request's digest is 32 bytes of canonical base64url, kept as sent.
    #[test]
    fn digest_is_thirty_two_bytes_of_canonical_base64url(s in near(any::<[u8; 32]>().prop_map(|b| URL_SAFE_NO_PAD.encode(b)))) {
        if let Ok(d) = signing::check_digest(&s) {
            prop_assert_eq!(d.as_str(), s.trim());
            prop_assert_eq!(d.len(), 43);
            prop_assert_eq!(URL_SAFE_NO_PAD.decode(&d).unwrap().len(), 32);
        }
    }

    /// Issue 14 fuzz: every 32-byte digest is accepted in its base64url form and refused padded,
    /// in standard base64 with `+` or `/`, or a character short.
    #[test]
    fn digest_round_trips_and_other_spellings_are_refused(bytes in any::<[u8; 32]>()) {
        let d = URL_SAFE_NO_PAD.encode(bytes);
        prop_assert_eq!(signing::check_digest(&format!(" {d}\n")), Ok(d.clone()));
        prop_assert!(signing::check_digest(&URL_SAFE.encode(bytes)).is_err());
        prop_assert!(signing::check_digest(&d[1..]).is_err());
        let standard = STANDARD_NO_PAD.encode(bytes);
        if standard != d {
            prop_assert!(signing::check_digest(&standard).is_err());
        }
    }

    /// Issue 14 fuzz: a device public key or signature that is not one never panics and never
    /// verifies.
    #[test]
    fn device_key_and_signature_junk_is_refused(key in input(), sig in input(), message in input()) {
        prop_assert!(device::parse_public_key(&key).is_err() || key.trim().len() == 87 || key.trim().len() == 44);
        prop_assert!(device::verify(&key, &message, &sig).is_err());
    }

    /// Issue 14 fuzz: a data key file's text never panics the parser, and only 32 bytes of
    /// base64 make a key.
    #[test]
    fn data_key_junk_is_refused(s in near(any::<[u8; 32]>().prop_map(|b| STANDARD.encode(b)))) {
        if Vault::parse(&s).is_ok() {
            prop_assert_eq!(s.trim().trim_end_matches('=').len(), 43, "{:?}", s);
        }
    }
}

proptest! {
    #![proptest_config(config(CRYPTO_CASES))]

    /// Issue 14 fuzz: a device's public key parses in its uncompressed (WebCrypto raw) and
    /// compressed SEC1 forms; one character changed and it is refused.
    #[test]
    fn device_public_key_round_trips_and_a_changed_one_is_refused(
        key in p256_key(), compressed in any::<bool>(), i in any::<prop::sample::Index>(), pick in any::<usize>()
    ) {
        let encoded = public_key(&key, compressed);
        let parsed = device::parse_public_key(&format!(" {encoded} ")).unwrap();
        prop_assert_eq!(&parsed, key.verifying_key());
        let changed = change_char(&encoded, i.index(encoded.len()), URL_SAFE_ALPHABET, pick);
        prop_assert!(!device::parse_public_key(&changed).is_ok_and(|k| &k == key.verifying_key()));
        if !compressed {
            prop_assert!(device::parse_public_key(&changed).is_err(), "{} accepted", changed);
        }
    }

    /// Issue 14 fuzz: a device signature verifies over its message only; a changed signature,
    /// message or key does not.
    #[test]
    fn device_signature_verifies_only_unchanged(
        key in p256_key(), other in p256_key(), subject in input(), i in any::<prop::sample::Index>(), pick in any::<usize>()
    ) {
        let message = device::message(device::action::LOGIN_SCAN, &subject);
        let signature: Signature = key.sign(message.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(signature.to_bytes());
        let public = public_key(&key, false);
        prop_assert!(device::verify(&public, &message, &sig).is_ok());
        let longer = format!("{message}.");
        prop_assert!(device::verify(&public, &longer, &sig).is_err(), "a changed message verified");
        prop_assert!(device::verify(&public_key(&other, false), &message, &sig).is_err());
        let changed = change_char(&sig, i.index(sig.len()), URL_SAFE_ALPHABET, pick);
        prop_assert!(device::verify(&public, &message, &changed).is_err(), "{} verified", changed);
    }
}

proptest! {
    #![proptest_config(config(ROUND_TRIP_CASES))]

    /// Issue 14 fuzz: the data key reads in standard and URL-safe base64, padded, and URL-safe
    /// unpadded, as the same key.
    #[test]
    fn data_key_reads_in_padded_and_url_safe_base64(key in any::<[u8; 32]>()) {
        let id = Vault::from_key(&key).key_id().to_owned();
        for text in [STANDARD.encode(key), URL_SAFE.encode(key), URL_SAFE_NO_PAD.encode(key)] {
            let parsed = Vault::parse(&format!("{text}\n")).map(|v| v.key_id().to_owned());
            prop_assert_eq!(parsed.ok(), Some(id.clone()), "{:?} refused", text);
        }
    }

    /// Issue 14 fuzz: the data key reads in unpadded standard base64 too, as `Vault::parse`
    /// documents ("standard or URL-safe, padded or not").
    #[test]
    fn data_key_reads_in_unpadded_standard_base64(key in any::<[u8; 32]>()) {
        let text = STANDARD_NO_PAD.encode(key);
        prop_assert!(Vault::parse(&text).is_ok(), "{:?} refused", text);
    }
}

// ---------------------------------------------------------------------------------------------
// Signing times: the `signed_at` a wallet sends with every timed signature

/// Runs `check` on `cases` signing times against one test database, with no device bound.
fn signing_times(cases: u32, times: impl Strategy<Value = i64>, check: impl Fn(i64, DomainError) -> bool) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let db = rt.block_on(ecert_testing::open_test_db());
    let mut runner = proptest::test_runner::TestRunner::new(config(cases));
    let result = runner.run(&times, |signed_at| {
        let refused =
            rt.block_on(device::signed_fresh(&db, "no-such-device", device::action::STATUS, signed_at, "x", T0));
        prop_assert!(check(signed_at, domain(refused)), "signed_at {}", signed_at);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Issue 14 fuzz: a signing time further than the allowed skew from now is refused as stale
/// before anything is looked up; a time within it goes on to the device (here: none, revoked).
#[test]
fn signing_time_is_refused_as_stale_beyond_the_skew() {
    let skew = device::SIGNED_AT_SKEW_MINUTES * Millis::MINUTE;
    let times = prop_oneof![T0.0 - 2 * skew..T0.0 + 2 * skew, i64::MIN / 2..i64::MAX / 2];
    signing_times(ROUND_TRIP_CASES, times, |signed_at, refused| {
        let stale = (T0.0 - signed_at).abs() > skew;
        refused == if stale { DomainError::StaleSignature } else { DomainError::Revoked }
    });
}

/// Issue 14 fuzz: a signing time at the far ends of `i64` is refused, not a panic.
#[test]
fn signing_time_at_the_ends_of_i64_is_refused_not_a_panic() {
    let times = prop_oneof![Just(i64::MIN), i64::MIN..i64::MIN + T0.0, i64::MAX - T0.0..=i64::MAX];
    signing_times(ROUND_TRIP_CASES, times, |_, refused| refused == DomainError::StaleSignature);
}

/// The inputs the fuzzer found, kept as plain cases: a redirect URL names a host and a numeric
/// port, if any.
#[test]
fn redirect_uris_the_fuzzer_found_are_refused() {
    for bad in ["https://:", "https://:443/cb", "https://:a", "https://example.org:a/cb", "http://[::1]:x/cb"] {
        assert!(!party::check_redirect_uri(bad), "{bad} accepted");
    }
    for good in ["https://example.org:8443/cb", "http://[::1]:8080/cb", "http://[::1]/cb", "http://localhost/cb"] {
        assert!(party::check_redirect_uri(good), "{good} refused");
    }
}
