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
    /// The browser's settings block notifications for the site.
    Denied,
    /// The person closed the browser's question without allowing them.
    Dismissed,
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

    /// Whether the browser has what push needs: notifications, `PushManager` and service
    /// workers.
    fn supported() -> Result<web_sys::Window, PushRefused> {
        let window = web_sys::window().ok_or(PushRefused::Unsupported)?;
        let has = |on: &JsValue, name: &str| {
            js_sys::Reflect::has(on, &JsValue::from_str(name)) == Ok(true)
        };
        if has(&window, "PushManager")
            && has(&window, "Notification")
            && has(&window.navigator(), "serviceWorker")
        {
            Ok(window)
        } else {
            Err(PushRefused::Unsupported)
        }
    }

    /// The service worker's push manager, once the worker is ready: at most 10 seconds (a
    /// worker that failed to install never is).
    async fn manager(window: &web_sys::Window) -> Result<web_sys::PushManager, PushRefused> {
        let ready = window
            .navigator()
            .service_worker()
            .ready()
            .map_err(|_| PushRefused::Unsupported)?;
        let give_up = js_sys::Promise::new(&mut |resolve, _| {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 10_000);
        });
        let first = JsFuture::from(js_sys::Promise::race(&js_sys::Array::of2(&ready, &give_up)))
            .await
            .map_err(|_| PushRefused::Unsupported)?;
        let registration: web_sys::ServiceWorkerRegistration =
            first.dyn_into().map_err(|_| PushRefused::Failed)?;
        registration
            .push_manager()
            .map_err(|_| PushRefused::Unsupported)
    }

    fn read(subscription: JsValue) -> Option<Subscribed> {
        let text = js_sys::JSON::stringify(&subscription).ok()?.as_string()?;
        serde_json::from_str(&text).ok()
    }

    async fn subscribe_with(
        manager: &web_sys::PushManager,
        options: &web_sys::PushSubscriptionOptionsInit,
    ) -> Result<JsValue, JsValue> {
        JsFuture::from(manager.subscribe_with_options(options)?).await
    }

    /// Asks for permission (first, while the press of the button still counts as the
    /// person's), then subscribes with `key`.
    pub async fn subscribe(key: &str) -> Result<Subscribed, PushRefused> {
        let window = supported()?;
        let asked = web_sys::Notification::request_permission().map_err(|_| PushRefused::Denied)?;
        let answer = JsFuture::from(asked)
            .await
            .map_err(|_| PushRefused::Denied)?;
        match answer.as_string().as_deref() {
            Some("granted") => {}
            Some("default") => return Err(PushRefused::Dismissed),
            _ => return Err(PushRefused::Denied),
        }
        let manager = manager(&window).await?;
        let options = web_sys::PushSubscriptionOptionsInit::new();
        options.set_user_visible_only(true);
        options.set_application_server_key_opt_str(Some(key));
        let subscription = match subscribe_with(&manager, &options).await {
            Ok(s) => s,
            // Subscribed before with another key (the server's changed): unsubscribed, and
            // subscribed again once.
            Err(e)
                if js_sys::Reflect::get(&e, &JsValue::from_str("name"))
                    .ok()
                    .and_then(|n| n.as_string())
                    .as_deref()
                    == Some("InvalidStateError") =>
            {
                let old = JsFuture::from(
                    manager
                        .get_subscription()
                        .map_err(|_| PushRefused::Failed)?,
                )
                .await
                .map_err(|_| PushRefused::Failed)?;
                let old: web_sys::PushSubscription =
                    old.dyn_into().map_err(|_| PushRefused::Failed)?;
                let _ = JsFuture::from(old.unsubscribe().map_err(|_| PushRefused::Failed)?).await;
                subscribe_with(&manager, &options)
                    .await
                    .map_err(|_| PushRefused::Failed)?
            }
            Err(_) => return Err(PushRefused::Failed),
        };
        read(subscription).ok_or(PushRefused::Failed)
    }

    /// This browser's subscription's endpoint, if it has one.
    pub async fn current() -> Option<String> {
        let window = supported().ok()?;
        let manager = manager(&window).await.ok()?;
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
