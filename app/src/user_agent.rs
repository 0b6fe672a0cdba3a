//! A logged-in device named the way its owner knows it ("Chrome · Android"), from the
//! browser's user-agent string. Plain Rust, no I/O: the profile page names its sessions with it.

/// The browser and the system of a user-agent string; `None` for each that is not recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceName {
    pub browser: Option<&'static str>,
    pub system: Option<&'static str>,
}

impl DeviceName {
    pub fn of(user_agent: &str) -> DeviceName {
        DeviceName {
            browser: browser(user_agent),
            system: system(user_agent),
        }
    }

    /// "Chrome · Android", "Safari", "Windows", or `None` when neither is known.
    pub fn label(self) -> Option<String> {
        match (self.browser, self.system) {
            (Some(b), Some(s)) => Some(format!("{b} · {s}")),
            (Some(one), None) | (None, Some(one)) => Some(one.to_string()),
            (None, None) => None,
        }
    }
}

/// In order: the apps and browsers built on Chromium or WebKit name themselves before the
/// engine they carry, so the first marker found wins.
const BROWSERS: &[(&str, &str)] = &[
    ("MicroMessenger", "WeChat"),
    ("DingTalk", "DingTalk"),
    ("AlipayClient", "Alipay"),
    ("QQBrowser", "QQ Browser"),
    ("UCBrowser", "UC Browser"),
    ("HuaweiBrowser", "Huawei Browser"),
    ("HeyTapBrowser", "HeyTap Browser"),
    ("MiuiBrowser", "Xiaomi Browser"),
    ("SamsungBrowser", "Samsung Internet"),
    ("EdgiOS", "Edge"),
    ("EdgA", "Edge"),
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
];

const SYSTEMS: &[(&str, &str)] = &[
    ("HarmonyOS", "HarmonyOS"),
    ("OpenHarmony", "HarmonyOS"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
];

fn first_match(user_agent: &str, table: &[(&str, &'static str)]) -> Option<&'static str> {
    table
        .iter()
        .find(|(marker, _)| user_agent.contains(marker))
        .map(|(_, name)| *name)
}

fn browser(user_agent: &str) -> Option<&'static str> {
    first_match(user_agent, BROWSERS)
}

fn system(user_agent: &str) -> Option<&'static str> {
    first_match(user_agent, SYSTEMS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_phones_and_computers_are_named_by_browser_and_system() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
                Some("Chrome · Android"),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                Some("Safari · iPhone"),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003127) NetType/WIFI Language/zh_CN",
                Some("WeChat · iPhone"),
            ),
            (
                "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.5.302 Mobile Safari/537.36",
                Some("Huawei Browser · HarmonyOS"),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
                Some("Edge · Windows"),
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                Some("Safari · macOS"),
            ),
            (
                "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
                Some("Firefox · Linux"),
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
                Some("Chrome · iPad"),
            ),
            (
                "Mozilla/5.0 (Linux; U; Android 13; zh-CN; V2254A) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/100.0.4896.58 UCBrowser/16.6.2.1300 Mobile Safari/537.36",
                Some("UC Browser · Android"),
            ),
            ("curl/8.5.0", None),
            ("", None),
        ];
        for (ua, want) in cases {
            assert_eq!(DeviceName::of(ua).label().as_deref(), *want, "{ua}");
        }
    }

    #[test]
    fn half_known_strings_name_what_they_can() {
        assert_eq!(
            DeviceName::of("SomeBot/1.0 (Windows NT 10.0)")
                .label()
                .as_deref(),
            Some("Windows")
        );
        assert_eq!(
            DeviceName::of("Firefox/127.0").label().as_deref(),
            Some("Firefox")
        );
    }
}
