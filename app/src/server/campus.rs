//! The demo campus's profile, from the facts on its card office page (`shared/seed/`). A real
//! deployment edits these in the administrator pages; nothing here is read by a view directly.

use crate::model::{
    CampusProfile, CardApp, HolidayHours, Hotline, Localized, Money, OpeningHours, ServicePoint,
};

pub fn demo_profile() -> CampusProfile {
    CampusProfile {
        campus_name: Localized::new("深圳职业技术学院", "Shenzhen Polytechnic"),
        card_name: Localized::new("校园卡", "campus card"),
        qr_code_name: Localized::new("深职通码", "SZPT Code"),
        office_name: Localized::new("校园一卡通服务中心", "Campus Card Service Centre"),
        service_points: vec![
            ServicePoint {
                name: Localized::new("东校区服务点", "East Campus service point"),
                location: Localized::new(
                    "东校区行政楼负一楼",
                    "East Campus, Administration Building, level B1",
                ),
            },
            ServicePoint {
                name: Localized::new("西校区服务点", "West Campus service point"),
                location: Localized::new(
                    "西校区第二教学楼一楼",
                    "West Campus, Teaching Building 2, ground floor",
                ),
            },
        ],
        hours: vec![OpeningHours {
            days: Localized::new("工作日", "Working days"),
            periods: vec!["09:00–13:00".into(), "14:00–16:30".into()],
        }],
        hours_note: Localized::new(
            "节假日开放时间另行通知。",
            "Opening hours on public holidays are announced separately.",
        ),
        holidays: vec![
            HolidayHours {
                name: Localized::new("元旦", "New Year's Day"),
                from: "2027-01-01".into(),
                until: "2027-01-03".into(),
                periods: vec![],
            },
            HolidayHours {
                name: Localized::new("寒假", "Winter break"),
                from: "2027-01-18".into(),
                until: "2027-02-21".into(),
                periods: vec!["10:00–12:00".into()],
            },
        ],
        hotlines: vec![
            Hotline {
                label: Localized::new("东校区人工热线", "East Campus helpline"),
                phone: "0755-26731691".into(),
            },
            Hotline {
                label: Localized::new("西校区人工热线", "West Campus helpline"),
                phone: "0755-26019295".into(),
            },
        ],
        office_phone: "0755-26019355".into(),
        apps: vec![
            CardApp {
                name: Localized::new("“i深职”APP", "the “i深职” app"),
                how: Localized::new(
                    "在手机应用中心下载安装，登录后点开“深职通码”。",
                    "Install it from your phone's app store, sign in and open the code.",
                ),
            },
            CardApp {
                name: Localized::new(
                    "“深职一卡通”微信小程序",
                    "the “深职一卡通” WeChat mini program",
                ),
                how: Localized::new(
                    "在微信中搜索小程序，绑定校园卡账号后点开“深职通码”。",
                    "Search for it in WeChat, bind your card account and open the code.",
                ),
            },
            CardApp {
                name: Localized::new("“深职通”APP", "the “深职通” app"),
                how: Localized::new(
                    "下载安装后登录，点开“深职通码”。",
                    "Install it, sign in and open the code.",
                ),
            },
        ],
        default_single_limit: Money::yuan(50),
        default_daily_limit: Money::yuan(200),
        max_single_limit: Money::yuan(500),
        max_daily_limit: Money::yuan(1000),
        correction_approval_above: Money::yuan(100),
        cash_approval_above: Money::yuan(1000),
        phone_binding_days: 30,
        offline_code_max: Money::yuan(50),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_profile_is_valid() {
        assert_eq!(super::demo_profile().validate(), Ok(()));
    }
}

/// The campus profile kept in memory for a few seconds: every payment and every page needs it,
/// and it changes only when an administrator saves it (who then calls `forget`).
#[derive(Default)]
pub struct CampusCache {
    cached: std::sync::RwLock<Option<(std::time::Instant, CampusProfile)>>,
}

/// How long a cached profile is used before it is read again.
pub const CAMPUS_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl CampusCache {
    pub async fn get(&self, db: &super::Db) -> Result<Option<CampusProfile>, super::StoreError> {
        if let Ok(guard) = self.cached.read()
            && let Some((at, profile)) = guard.as_ref()
            && at.elapsed() < CAMPUS_CACHE_TTL
        {
            return Ok(Some(profile.clone()));
        }
        let profile = db.campus_profile().await?;
        if let (Some(p), Ok(mut guard)) = (&profile, self.cached.write()) {
            *guard = Some((std::time::Instant::now(), p.clone()));
        }
        Ok(profile)
    }

    /// Drops the cached profile (after an administrator saved a new one).
    pub fn forget(&self) {
        if let Ok(mut guard) = self.cached.write() {
            *guard = None;
        }
    }
}
