// Package embed is what websites and browsers load from leadflow, compiled
// into the binary: the form script customer sites include, the hosted form
// pages, and the HTML snippet marketing pastes into a website; and the
// access to the admin API itself: listing and revoking API keys.
//
// Invariants:
//   - Every form works with JavaScript off: it is a plain HTML POST to
//     /f/{key} using Salesforce Web-to-Lead field names, so a form written for
//     Salesforce works unchanged. The script only enhances it.
//   - An asset under /assets/ is named by the hash of its content and cached
//     forever; its stable name (/embed.js, /embed.css) serves the same bytes
//     with a short cache, for pages that are pasted once and never updated.
//   - Pages are rendered by html/template and carry a Content-Security-Policy
//     without inline script or style, and the script puts text the server
//     sends into the page as text, never as markup.
package embed
