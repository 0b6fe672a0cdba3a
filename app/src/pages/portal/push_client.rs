//! The browser's side of pushed notices: asking for permission and subscribing through the
//! service worker's `PushManager`, with the server's VAPID key. What the subscription gives
//! (the push service's URL for this browser, and its two keys) goes to `subscribe_push`.

/// Why this browser has no subscription.
// The server renders none of them: only the browser subscribes.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushRefused {
    /// No service worker, `PushManager` or notifications here (an iPhone's Safari outside a
    /// home-screen app, a private window).
    Unsupported,
    /// The person, or the browser's settings, said no to notifications.
    Denied,
    /// The browser's push service did not give a subscription.
    Failed,
}

/// A subscription as `PushSubscription.toJSON()` gives it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Subscribed {
    pub endpoint: String,
    pub keys: SubscribedKeys,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct SubscribedKeys {
    pub p256dh: String,
    pub auth: String,
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::{PushRefused, Subscribed};
    use leptos::wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    async fn manager() -> Result<web_sys::PushManager, PushRefused> {
        let window = web_sys::window().ok_or(PushRefused::Unsupported)?;
        let has = |name: &str| js_sys::Reflect::has(&window, &JsValue::from_str(name)) == Ok(true);
        if !has("PushManager") || !has("Notification") {
            return Err(PushRefused::Unsupported);
        }
        let navigator = window.navigator();
        if js_sys::Reflect::has(&navigator, &JsValue::from_str("serviceWorker")) != Ok(true) {
            return Err(PushRefused::Unsupported);
        }
        let ready = navigator
            .service_worker()
            .ready()
            .map_err(|_| PushRefused::Unsupported)?;
        let registration: web_sys::ServiceWorkerRegistration = JsFuture::from(ready)
            .await
            .map_err(|_| PushRefused::Unsupported)?
            .unchecked_into();
        registration
            .push_manager()
            .map_err(|_| PushRefused::Unsupported)
    }

    fn read(subscription: JsValue) -> Option<Subscribed> {
        let text = js_sys::JSON::stringify(&subscription).ok()?.as_string()?;
        serde_json::from_str(&text).ok()
    }

    /// Asks for permission (once the person pressed the button) and subscribes with `key`.
    pub async fn subscribe(key: &str) -> Result<Subscribed, PushRefused> {
        let manager = manager().await?;
        let asked = web_sys::Notification::request_permission().map_err(|_| PushRefused::Denied)?;
        let answer = JsFuture::from(asked)
            .await
            .map_err(|_| PushRefused::Denied)?;
        if answer.as_string().as_deref() != Some("granted") {
            return Err(PushRefused::Denied);
        }
        let options = web_sys::PushSubscriptionOptionsInit::new();
        options.set_user_visible_only(true);
        options.set_application_server_key_opt_str(Some(key));
        let asked = manager
            .subscribe_with_options(&options)
            .map_err(|_| PushRefused::Failed)?;
        let subscription = JsFuture::from(asked)
            .await
            .map_err(|_| PushRefused::Failed)?;
        read(subscription).ok_or(PushRefused::Failed)
    }

    /// This browser's subscription's endpoint, if it has one.
    pub async fn current() -> Option<String> {
        let manager = manager().await.ok()?;
        let found = JsFuture::from(manager.get_subscription().ok()?)
            .await
            .ok()?;
        if found.is_null() || found.is_undefined() {
            return None;
        }
        read(found).map(|s| s.endpoint)
    }
}

#[cfg(feature = "hydrate")]
pub use browser::{current, subscribe};

#[cfg(not(feature = "hydrate"))]
pub async fn subscribe(_key: &str) -> Result<Subscribed, PushRefused> {
    Err(PushRefused::Unsupported)
}

#[cfg(not(feature = "hydrate"))]
pub async fn current() -> Option<String> {
    None
}
