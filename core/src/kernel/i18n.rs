//! The interface language. Simplified Chinese is the default; English is chosen explicitly
//! (a cookie set by the language switch, or `?lang=en` on the JSON API).

use serde::{Deserialize, Serialize};

/// Name of the cookie that remembers the visitor's language choice.
pub const LANG_COOKIE: &str = "ecert_lang";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// BCP 47 tag, as used in `<html lang>` and in the cookie.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Parses a stored or requested language; anything unknown falls back to Chinese.
    pub fn parse(value: &str) -> Lang {
        let v = value.trim().to_ascii_lowercase();
        if v == "en" || v.starts_with("en-") { Lang::En } else { Lang::Zh }
    }

    /// Reads the language from a `Cookie` header value.
    pub fn from_cookie_header(header: &str) -> Lang {
        header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == LANG_COOKIE)
            .map(|(_, value)| Lang::parse(value))
            .unwrap_or_default()
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// Picks the Chinese or English text.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_is_the_default_and_english_is_read_from_the_cookie() {
        assert_eq!(Lang::from_cookie_header(""), Lang::Zh);
        assert_eq!(Lang::from_cookie_header("a=b; ecert_lang=en"), Lang::En);
        assert_eq!(Lang::from_cookie_header("ecert_lang=zh-CN"), Lang::Zh);
        assert_eq!(Lang::from_cookie_header("ecert_lang=fr"), Lang::Zh);
        assert_eq!(Lang::from_cookie_header("xecert_lang=en"), Lang::Zh);
    }
}
