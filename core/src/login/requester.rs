//! The browser that asked for a scan login, as the phone shows it (issue 14 §1): its network
//! address, a short name of its browser and system, and whether it stands on another network
//! than the phone. A holder who is not in front of that computer learns it here.
//!
//! It must not decide anything: a different address is a warning, never a refusal (a phone on
//! mobile data and a PC in the office differ every day).

use serde::{Deserialize, Serialize};

/// At most this many characters of a user agent are kept.
pub const AGENT_MAX: usize = 256;

/// The requesting browser as the server saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    /// The client address (after trusted proxies), e.g. `203.0.113.7`.
    pub ip: Option<String>,
    /// The `User-Agent` header, cut to [`AGENT_MAX`] characters.
    pub user_agent: Option<String>,
}

impl Requester {
    pub fn new(ip: Option<String>, user_agent: Option<&str>) -> Requester {
        let user_agent = user_agent
            .map(|a| a.chars().filter(|c| !c.is_control()).take(AGENT_MAX).collect::<String>())
            .filter(|a| !a.trim().is_empty());
        Requester { ip: ip.filter(|ip| ip.len() <= 64), user_agent }
    }
}

/// "Chrome 131 · Windows" from a user agent: the browser's family and major version and the
/// operating system, or `None` when neither is recognised.
pub fn browser_label(user_agent: &str) -> Option<String> {
    let browser = browser_of(user_agent);
    let os = os_of(user_agent);
    match (browser, os) {
        (Some(b), Some(o)) => Some(format!("{b} · {o}")),
        (Some(b), None) => Some(b),
        (None, Some(o)) => Some(o.to_owned()),
        (None, None) => None,
    }
}

fn browser_of(ua: &str) -> Option<String> {
    // Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
    const FAMILIES: [(&str, &str); 7] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("MicroMessenger/", "WeChat"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("CriOS/", "Chrome"),
        ("Version/", "Safari"),
    ];
    FAMILIES.iter().find_map(|(token, name)| {
        let rest = &ua[ua.find(token)? + token.len()..];
        let major: String = rest.chars().take_while(char::is_ascii_digit).take(4).collect();
        Some(if major.is_empty() { (*name).to_owned() } else { format!("{name} {major}") })
    })
}

fn os_of(ua: &str) -> Option<&'static str> {
    const SYSTEMS: [(&str, &str); 8] = [
        ("Windows", "Windows"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("HarmonyOS", "HarmonyOS"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ];
    // HarmonyOS phones also say Android: look for it first.
    if ua.contains("HarmonyOS") || ua.contains("OpenHarmony") {
        return Some("HarmonyOS");
    }
    SYSTEMS.iter().find(|(token, _)| ua.contains(token)).map(|(_, name)| *name)
}

/// Whether two client addresses are on different networks: IPv4 addresses outside one /24,
/// IPv6 outside one /64. Unknown addresses never warn.
pub fn networks_differ(a: Option<&str>, b: Option<&str>) -> bool {
    use std::net::IpAddr;
    let (Some(a), Some(b)) = (a.and_then(|a| a.parse::<IpAddr>().ok()), b.and_then(|b| b.parse::<IpAddr>().ok()))
    else {
        return false;
    };
    match (a.to_canonical(), b.to_canonical()) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.octets()[..3] != b.octets()[..3],
        (IpAddr::V6(a), IpAddr::V6(b)) => a.segments()[..4] != b.segments()[..4],
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_common_browsers() {
        let chrome_win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(browser_label(chrome_win).as_deref(), Some("Chrome 131 · Windows"));
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86";
        assert_eq!(browser_label(edge).as_deref(), Some("Edge 131 · Windows"));
        let safari_mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
        assert_eq!(browser_label(safari_mac).as_deref(), Some("Safari 17 · macOS"));
        let firefox_linux = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(browser_label(firefox_linux).as_deref(), Some("Firefox 128 · Linux"));
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(browser_label(iphone).as_deref(), Some("Safari 17 · iOS"));
        assert_eq!(browser_label("curl/8.5.0"), None);
    }

    #[test]
    fn bounds_what_it_keeps() {
        let long = "x".repeat(1000);
        let r = Requester::new(Some("1".repeat(100)), Some(&format!("a\nb{long}")));
        assert_eq!(r.ip, None, "no address is that long");
        let agent = r.user_agent.unwrap();
        assert_eq!(agent.chars().count(), AGENT_MAX);
        assert!(!agent.contains('\n'));
        assert_eq!(Requester::new(None, Some("  ")).user_agent, None);
    }

    #[test]
    fn networks() {
        assert!(!networks_differ(Some("203.0.113.7"), Some("203.0.113.200")));
        assert!(networks_differ(Some("203.0.113.7"), Some("198.51.100.7")));
        assert!(!networks_differ(Some("::ffff:203.0.113.7"), Some("203.0.113.9")));
        assert!(!networks_differ(Some("2001:db8:1:2::1"), Some("2001:db8:1:2::99")));
        assert!(networks_differ(Some("2001:db8:1:2::1"), Some("2001:db8:9:2::1")));
        assert!(networks_differ(Some("2001:db8::1"), Some("203.0.113.9")));
        assert!(!networks_differ(None, Some("203.0.113.9")));
        assert!(!networks_differ(Some("not an address"), Some("203.0.113.9")));
    }
}
