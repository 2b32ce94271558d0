// The river refreshes itself when a newer story arrives: it polls /api/latest and reloads
// when the reader is at the top of the page, or offers a link when they have scrolled.
(function () {
  "use strict";
  var script = document.currentScript;
  var shown = script ? script.getAttribute("data-latest") : "";
  var banner = document.getElementById("fresh");
  function check() {
    fetch("/api/latest", { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (latest) {
        if (!latest || !latest.last_seen || latest.last_seen === shown) { return; }
        if (window.scrollY < 120) { window.location.reload(); } else if (banner) { banner.hidden = false; }
      })
      .catch(function () { /* the server may be restarting: try again next round */ });
  }
  window.setInterval(check, 15000);
})();
