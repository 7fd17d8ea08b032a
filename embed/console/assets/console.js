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
