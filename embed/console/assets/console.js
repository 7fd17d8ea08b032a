// leadflow console: small enhancements only; every page works without it.
"use strict";
document.addEventListener("submit", function (event) {
  // Forms that undo something ask first.
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// Recompute progress (Scoring): a running job's box asks for the page
// again every few seconds, so its progress moves without a click; the
// Refresh link does the same by hand.
(function () {
  var box = document.querySelector("[data-refresh]");
  if (box) {
    var seconds = Number(box.getAttribute("data-refresh")) || 2;
    window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
})();
