// Yikatong's service worker: the app opens without a network.
//
// What it keeps, in one cache named after its version:
// - the offline page and what it shows (the style sheet, icons, the manifest);
// - the app's code (/pkg/yikatong.js and .wasm) and the 深职通码 page as rendered for nobody
//   (fetched without cookies, `x-ykt-shell`): with these a remembered phone opens its code page
//   without a network and makes its code from its own key in the browser's storage.
// What it never keeps: a page as a logged-in student sees it, a server answer, or anything
// else personal. Pages and server functions always go to the network; when there is none, the
// code page gets its cached shell and any other page the offline page.
//
// Shell files go to the network first too, so a new release is picked up at once; the cache
// answers only when the network does not.
const CACHE = "ykt-shell-v2";
const CODE_PAGE = "/portal/code";
const SHELL = [
  "/offline.html",
  "/pkg/yikatong.js",
  "/pkg/yikatong.wasm",
  "/pkg/yikatong.css",
  "/favicon.svg",
  "/manifest.webmanifest",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
];

// The code page for nobody: no cookie goes with it, so nothing personal comes back.
function keepCodeShell(cache) {
  const request = new Request(CODE_PAGE, { credentials: "omit", headers: { "x-ykt-shell": "1" } });
  return fetch(request).then((response) => {
    // Rendered for nobody, the page answers 401 ("log in") around the app; kept as a page.
    if (response.redirected || !(response.ok || response.status === 401)) return undefined;
    const page = new Response(response.body, { status: 200, statusText: "OK", headers: response.headers });
    return cache.put(CODE_PAGE, page);
  });
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL).then(() => keepCodeShell(cache)))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

function isShell(url) {
  return url.origin === self.location.origin && SHELL.includes(url.pathname);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (isShell(url)) {
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
          }
          return response;
        })
        .catch(() => caches.match(url.pathname).then((hit) => hit || Response.error())),
    );
    return;
  }
  if (request.mode === "navigate" && url.origin === self.location.origin && url.pathname === CODE_PAGE) {
    event.respondWith(
      fetch(request)
        .then((response) => {
          // Online: the real page, and the shell renewed with the release it belongs to.
          event.waitUntil(caches.open(CACHE).then(keepCodeShell).catch(() => {}));
          return response;
        })
        .catch(() =>
          caches
            .match(CODE_PAGE)
            .then((hit) => hit || caches.match("/offline.html"))
            .then((hit) => hit || Response.error()),
        ),
    );
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).catch(() => caches.match("/offline.html").then((hit) => hit || Response.error())),
    );
  }
  // Everything else (server functions, event streams, CSV downloads) is the browser's own.
});

// Pushed notices (#18). The server encrypts each notice for this browser alone; the browser
// decrypts it before this handler sees it. Its tag is the notice's key, so a notice pushed
// again (a server stopped in the middle of a send) replaces the one shown instead of adding
// a second.
const NOTICES = "/portal/notices";

self.addEventListener("push", (event) => {
  let notice = {};
  try {
    notice = event.data ? event.data.json() : {};
  } catch (_) {
    notice = {};
  }
  event.waitUntil(
    self.registration.showNotification(notice.title || "校园卡提醒 · Campus card notice", {
      body: notice.body || "",
      tag: notice.tag || undefined,
      icon: "/icons/icon-192.png",
      badge: "/icons/icon-192.png",
      data: { url: NOTICES },
    }),
  );
});

// A notification opens the inbox: a window already on it, else a window of the student's
// portal taken there (never a till's or a staff page), else a new window.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(NOTICES, self.location.origin).href;
  const path = (w) => new URL(w.url).pathname;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const inbox = windows.find((w) => path(w) === NOTICES);
      if (inbox) return inbox.focus();
      const portal = windows.find((w) => path(w).startsWith("/portal"));
      if (portal) {
        return portal
          .focus()
          .then((w) => w.navigate(target))
          .catch(() => self.clients.openWindow(target));
      }
      return self.clients.openWindow(target);
    }),
  );
});

// A browser that renews its subscription tells the server the new one (with the session's
// cookie, as the notices page would); without a session it stays unsubscribed until the
// student turns push on again.
self.addEventListener("pushsubscriptionchange", (event) => {
  const options = event.oldSubscription && event.oldSubscription.options;
  const renewed = event.newSubscription
    ? Promise.resolve(event.newSubscription)
    : options
      ? self.registration.pushManager.subscribe(options)
      : null;
  if (!renewed) return;
  event.waitUntil(
    renewed
      .then((subscription) => {
        const json = subscription.toJSON();
        const body = new URLSearchParams({
          endpoint: json.endpoint,
          p256dh: json.keys.p256dh,
          auth: json.keys.auth,
        });
        return fetch("/api/subscribe_push", { method: "POST", body, credentials: "same-origin" });
      })
      .catch(() => {}),
  );
});
