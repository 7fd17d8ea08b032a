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
