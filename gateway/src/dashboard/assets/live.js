// Touchstone dashboard: the only script. It keeps an open page current and shows times in
// the reader's own time zone; every page works without it.
//
// The gateway sends a "floor" event on /live whenever it commits bench events or a station
// reports. The page then fetches itself again with the partial header and swaps in the new
// <main>, unless the reader is typing in a form on it.
(function () {
  "use strict";

  var main = document.getElementById("main");
  var badge = document.getElementById("live");
  var running = false;
  var again = false;
  var format = new Intl.DateTimeFormat(undefined, {
    day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit"
  });

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (!isNaN(at)) {
        el.title = el.textContent;
        el.textContent = format.format(at);
      }
    });
  }

  function wire(root) {
    localTimes(root);
    root.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });
    root.querySelectorAll("[data-print]").forEach(function (el) {
      el.addEventListener("click", function () { window.print(); });
    });
  }

  function busy() {
    var active = document.activeElement;
    return active && main.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
  }

  function refresh() {
    if (running) { again = true; return; }
    if (busy()) { return; }
    running = true;
    fetch(location.href, { headers: { "X-Touchstone-Partial": "1" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.redirected) { location.reload(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== undefined && !busy()) {
          main.innerHTML = html;
          wire(main);
          document.body.dataset.refreshed = String(Date.now());
        }
      })
      .catch(function () { /* the next event tries again */ })
      .then(function () {
        running = false;
        if (again) { again = false; refresh(); }
      });
  }

  // A browser holds only a few connections per server: the stream is closed when the page
  // is left (or kept in the back-forward cache) and opened again when it is shown.
  var source = null;

  function connect() {
    if (!badge || !window.EventSource || source) { return; }
    source = new EventSource("/live");
    source.addEventListener("open", function () {
      badge.classList.add("on");
      badge.textContent = "Live";
    });
    source.addEventListener("error", function () {
      badge.classList.remove("on");
      badge.textContent = "Reconnecting";
    });
    source.addEventListener("floor", refresh);
  }

  window.addEventListener("pagehide", function () {
    if (source) { source.close(); source = null; }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { refresh(); }
    connect();
  });

  wire(document);
  connect();
})();
