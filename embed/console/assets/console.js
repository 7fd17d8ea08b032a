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
// --- Nurture: the template editor's preview follows what is typed. ---
// The editor posts itself to its preview URL (as the Preview button does)
// a moment after the last keystroke and swaps in the preview section of
// the page that comes back; without this, Preview does the same by a post.
(function () {
  var form = document.getElementById("template-form");
  if (!form) {
    return;
  }
  // The preview's frame loads the HTML body by posting its own form; the
  // button that does it without JavaScript is not needed then.
  function showFrame() {
    var frameForm = document.getElementById("preview-frame-form");
    if (frameForm) {
      document.getElementById("preview-frame-button").hidden = true;
      frameForm.submit();
    }
  }
  showFrame();
  if (!window.fetch || !window.DOMParser) {
    return;
  }
  var timer = null;
  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      fetch(form.getAttribute("data-preview"), {method: "POST", body: new FormData(form), credentials: "same-origin"})
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("template-preview");
          var old = document.getElementById("template-preview");
          if (fresh && old) {
            old.replaceWith(fresh);
            showFrame();
          }
        })
        .catch(function () {});
    }, 600);
  });
})();
// --- end nurture ---
// ---- capture pages: the embed snippet's copy button ----
// The snippet is selectable text without JavaScript; with it, the button
// (hidden until then) copies it.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var source = document.querySelector(button.getAttribute("data-copy"));
  var status = button.parentNode.querySelector("[data-copied]");
  if (!source || !navigator.clipboard) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(source.value).then(function () {
      if (status) { status.textContent = "Copied."; }
    }, function () {
      source.select();
      if (status) { status.textContent = "Select the text and copy it."; }
    });
  });
});
