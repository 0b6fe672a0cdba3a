// Yikatong's service worker: the app opens without a network.
//
// What it keeps: the offline page and what it shows (the style sheet, icons, the manifest),
// in one cache named after its version. What it never keeps: a page, a server answer, or
// anything else personal. Pages and server functions always go to the network; when there is
// none, a page request gets the offline page instead of the browser's error.
//
// Shell files go to the network first too, so a new release is picked up at once; the cache
// answers only when the network does not.
const CACHE = "ykt-shell-v1";
const SHELL = [
  "/offline.html",
  "/pkg/yikatong.css",
  "/favicon.svg",
  "/manifest.webmanifest",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
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
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).catch(() => caches.match("/offline.html").then((hit) => hit || Response.error())),
    );
  }
  // Everything else (server functions, event streams, CSV downloads) is the browser's own.
});
