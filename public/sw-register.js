// Registers the service worker (/sw.js). A plain script, not the wasm: it works on the first
// visit and on pages the wasm has not reached yet.
if ("serviceWorker" in navigator) {
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {
      // Without it the site works as a plain web site; nothing to tell the reader.
    });
  });
}
