/*
 * leadflow.js: progressive enhancement for leadflow forms.
 *
 * A form marked data-leadflow, or posting to /f/<key> on the server this
 * script came from, is sent with fetch instead of leaving the page: the
 * thank-you message, field errors and failures show inline. Without this
 * script (or in a browser without fetch) the same form still posts as plain
 * HTML. Text from the server is only ever set with textContent.
 *
 * Plain ES2017, no dependencies, no build step.
 */
(function () {
  'use strict';

  if (!window.fetch || !window.FormData || !window.URL || !window.URLSearchParams) {
    return;
  }

  var script = document.currentScript;
  var home = script && script.src ? new URL(script.src, document.baseURI).origin : location.origin;
  var keyPath = /^\/f\/[A-Za-z0-9_-]{3,64}\/?$/;
  var utmNames = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'];
  var uid = 0;

  var text = {
    sending: 'Sending\u2026',
    thanks: 'Thank you. We have received your submission.',
    invalid: 'Please correct the fields marked below.',
    tooMany: 'Too many submissions from your network. Please wait a minute and try again.',
    tooLarge: 'This submission is too large. Please shorten it and try again.',
    network: 'Your submission could not be sent. Please check your connection and try again.',
    failed: 'Your submission could not be accepted right now. Please try again later.'
  };

  // actionURL is where form posts, or null; the attribute is read because a
  // field named "action" would shadow form.action.
  function actionURL(form) {
    var action = form.getAttribute('action');
    if (!action) {
      return null;
    }
    try {
      return new URL(action, document.baseURI);
    } catch (e) {
      return null;
    }
  }

  function isLeadflowForm(form, url) {
    if (!(form instanceof HTMLFormElement) || url === null) {
      return false;
    }
    return form.hasAttribute('data-leadflow') || (url.origin === home && keyPath.test(url.pathname));
  }

  // formData is the form's fields plus the page's UTM parameters, so the
  // link that brought the visitor is credited with the response.
  function formData(form) {
    var data = new FormData(form);
    var query = new URLSearchParams(location.search);
    utmNames.forEach(function (name) {
      var value = query.get(name);
      if (value && value.length <= 200 && !data.has(name)) {
        data.append(name, value);
      }
    });
    return data;
  }

  function status(form, message) {
    var el = form.querySelector('[data-leadflow-status]');
    if (!el) {
      el = document.createElement('p');
      el.className = 'lf-status';
      el.setAttribute('role', 'status');
      el.setAttribute('data-leadflow-status', '');
      form.appendChild(el);
    }
    el.textContent = message;
  }

  // fieldNamed is the visible control the server named, or null.
  function fieldNamed(form, name) {
    var field = form.elements.namedItem(name);
    if (field && !(field instanceof Element)) {
      field = field[0]; // a RadioNodeList: mark the first of the group
    }
    if (!field || field.type === 'hidden') {
      return null;
    }
    return field;
  }

  function describedBy(field) {
    var v = field.getAttribute('aria-describedby');
    return v ? v.split(/\s+/).filter(Boolean) : [];
  }

  // markInvalid shows message beside field and ties the two together for
  // assistive technology.
  function markInvalid(field, message) {
    if (!field.id) {
      field.id = 'lf-field-' + (++uid);
    }
    var id = field.id + '-error';
    var el = document.getElementById(id);
    if (!el) {
      el = document.createElement('span');
      el.id = id;
      el.className = 'lf-error';
      el.setAttribute('data-leadflow-error', '');
      var box = field.closest('.lf-field');
      if (box) {
        box.appendChild(el);
      } else {
        field.insertAdjacentElement('afterend', el);
      }
    }
    el.textContent = message;
    field.setAttribute('aria-invalid', 'true');
    field.setAttribute('data-leadflow-invalid', '');
    var ids = describedBy(field);
    if (ids.indexOf(id) < 0) {
      ids.push(id);
      field.setAttribute('aria-describedby', ids.join(' '));
    }
  }

  function clearInvalid(field) {
    var id = field.id + '-error';
    var el = document.getElementById(id);
    if (el) {
      el.remove();
    }
    field.removeAttribute('aria-invalid');
    field.removeAttribute('data-leadflow-invalid');
    var ids = describedBy(field).filter(function (x) { return x !== id; });
    if (ids.length) {
      field.setAttribute('aria-describedby', ids.join(' '));
    } else {
      field.removeAttribute('aria-describedby');
    }
  }

  // showFieldErrors renders a 422's fields (name -> message); messages for
  // fields the form does not show go to the form's status line.
  function showFieldErrors(form, fields) {
    var first = null;
    var elsewhere = [];
    Object.keys(fields).forEach(function (name) {
      var message = String(fields[name]);
      var field = fieldNamed(form, name);
      if (!field) {
        elsewhere.push(message);
        return;
      }
      markInvalid(field, message);
      first = first || field;
    });
    status(form, [text.invalid].concat(elsewhere).join(' '));
    if (first) {
      first.focus();
    }
  }

  function thank(form, body) {
    var el = document.createElement('p');
    el.className = 'lf-thanks';
    el.setAttribute('role', 'status');
    el.tabIndex = -1;
    el.textContent = form.getAttribute('data-leadflow-thanks') || text.thanks;
    form.insertAdjacentElement('afterend', el);
    form.reset();
    form.setAttribute('hidden', '');
    form.style.display = 'none';
    el.focus();
    form.dispatchEvent(new CustomEvent('leadflow:submitted', {
      bubbles: true,
      detail: { responseId: body && body.response_id }
    }));
  }

  // render shows the outcome of a post with HTTP status code and JSON body
  // (null when the body was not JSON).
  function render(form, code, body) {
    if (code >= 200 && code < 300) {
      thank(form, body);
    } else if (code === 422 && body && body.fields && typeof body.fields === 'object') {
      showFieldErrors(form, body.fields);
    } else if (code === 429) {
      status(form, text.tooMany);
    } else if (code === 413) {
      status(form, text.tooLarge);
    } else {
      status(form, text.failed);
    }
  }

  // setBusy disables the submit buttons while sending, leaving alone those
  // the page disabled itself.
  function setBusy(form, busy) {
    form.setAttribute('aria-busy', String(busy));
    var buttons = form.querySelectorAll('button:not([type]), [type="submit"]');
    Array.prototype.forEach.call(buttons, function (b) {
      if (busy && !b.disabled) {
        b.disabled = true;
        b.setAttribute('data-leadflow-disabled', '');
      } else if (!busy && b.hasAttribute('data-leadflow-disabled')) {
        b.disabled = false;
        b.removeAttribute('data-leadflow-disabled');
      }
    });
  }

  async function send(form, url) {
    Array.prototype.forEach.call(form.querySelectorAll('[data-leadflow-invalid]'), clearInvalid);
    setBusy(form, true);
    status(form, text.sending);
    var res;
    var body = null;
    try {
      // No custom header and a FormData body keep this a simple request:
      // no CORS preflight.
      res = await fetch(url.href, {
        method: 'POST',
        body: formData(form),
        headers: { Accept: 'application/json' }
      });
      body = await res.json().catch(function () { return null; });
    } catch (e) {
      setBusy(form, false);
      status(form, text.network);
      return;
    }
    setBusy(form, false);
    status(form, '');
    render(form, res.status, body);
  }

  document.addEventListener('submit', function (event) {
    var form = event.target;
    var url = form instanceof HTMLFormElement ? actionURL(form) : null;
    if (event.defaultPrevented || !isLeadflowForm(form, url)) {
      return;
    }
    event.preventDefault();
    if (form.getAttribute('aria-busy') !== 'true') {
      send(form, url);
    }
  });

  // A field's error goes as soon as the visitor edits it.
  document.addEventListener('input', function (event) {
    var field = event.target;
    if (field instanceof Element && field.hasAttribute('data-leadflow-invalid')) {
      clearInvalid(field);
    }
  });
})();
