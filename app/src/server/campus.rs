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
            weekdays: vec![1, 2, 3, 4, 5],
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

/// The campus profile kept in memory: every page shows it, and no page may wait for it (a
/// `<title>` that waits for the database misses the `<head>` the server streams first). It is
/// read once at start (`get`); after `CAMPUS_CACHE_TTL` the kept copy is still served while
/// one read in the background refreshes it, so another server's save shows a request later. A
/// save on this server replaces it at once (`put`).
#[derive(Default)]
pub struct CampusCache {
    cached: std::sync::RwLock<Option<(std::time::Instant, CampusProfile)>>,
    /// Whether a background read is under way (at most one at a time).
    refreshing: std::sync::atomic::AtomicBool,
    /// Counts `put`s: a read that began before a save does not overwrite what was saved.
    generation: std::sync::atomic::AtomicU64,
}

/// How long a cached profile is served before it is read again (in the background).
pub const CAMPUS_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl CampusCache {
    /// The profile: the kept copy whenever there is one, else read from the database.
    pub async fn get(
        self: &std::sync::Arc<Self>,
        db: &super::Db,
    ) -> Result<Option<CampusProfile>, super::StoreError> {
        use std::sync::atomic::Ordering;
        let cached = self.cached.read().ok().and_then(|guard| guard.clone());
        let Some((at, profile)) = cached else {
            return self.load(db).await;
        };
        if at.elapsed() >= CAMPUS_CACHE_TTL && !self.refreshing.swap(true, Ordering::AcqRel) {
            let (cache, db) = (std::sync::Arc::clone(self), std::sync::Arc::clone(db));
            tokio::spawn(async move {
                if let Err(error) = cache.load(&db).await {
                    tracing::warn!(%error, "could not read the campus profile again; keeping the last one");
                }
                cache.refreshing.store(false, Ordering::Release);
            });
        }
        Ok(Some(profile))
    }

    async fn load(&self, db: &super::Db) -> Result<Option<CampusProfile>, super::StoreError> {
        use std::sync::atomic::Ordering;
        let generation = self.generation.load(Ordering::Acquire);
        let profile = db.campus_profile().await?;
        if let (Some(p), Ok(mut guard)) = (&profile, self.cached.write())
            && self.generation.load(Ordering::Acquire) == generation
        {
            *guard = Some((std::time::Instant::now(), p.clone()));
        }
        Ok(profile)
    }

    /// Makes the kept copy look `CAMPUS_CACHE_TTL` old (for tests).
    #[cfg(test)]
    pub(crate) fn age(&self) {
        if let Ok(mut guard) = self.cached.write()
            && let Some((at, _)) = guard.as_mut()
        {
            *at -= CAMPUS_CACHE_TTL;
        }
    }

    /// Keeps the profile an administrator has just saved.
    pub fn put(&self, profile: CampusProfile) {
        if let Ok(mut guard) = self.cached.write() {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            *guard = Some((std::time::Instant::now(), profile));
        }
    }
}
