// Rolodex: small enhancements on top of server-rendered pages. Every page
// works without this file (plain links and forms); it only makes them
// quicker to use. No inline handlers anywhere, so a strict
// Content-Security-Policy (script-src 'self') keeps working.
(function () {
  "use strict";

  if (window.htmx) {
    // htmx leaves 4xx responses unswapped by default. A form that failed
    // validation comes back 422 with its errors (the server retargets it at
    // the form with HX-Retarget/HX-Reswap) and must be swapped in.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true },
      // A chat message sent too fast comes back with its message too.
      { code: "429", swap: true },
      { code: "[45]..", swap: false, error: true },
    ];
    // On a history cache miss reload the page: asking the server with
    // HX-Request set would get a fragment back instead of a page.
    htmx.config.refreshOnHistoryMiss = true;
    // We style .htmx-request ourselves (app.css); htmx's injected <style>
    // would need 'unsafe-inline'. Nothing here uses hx-on or eval.
    htmx.config.includeIndicatorStyles = false;
    htmx.config.allowEval = false;
  }

  function isTyping(el) {
    if (!el || el === document.body) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function searchBox() {
    return document.getElementById("search-q");
  }

  function results() {
    return document.getElementById("search-results");
  }

  function closeResults() {
    var r = results();
    if (r) r.innerHTML = "";
  }

  function resultLinks() {
    var r = results();
    return r ? Array.prototype.slice.call(r.querySelectorAll("a")) : [];
  }

  document.addEventListener("keydown", function (e) {
    var q = searchBox();
    if (!q) return;
    // "/" anywhere outside a field jumps to the search box.
    if (e.key === "/" && !e.ctrlKey && !e.metaKey && !e.altKey && !isTyping(e.target)) {
      e.preventDefault();
      q.focus();
      q.select();
      return;
    }
    var inSearch = e.target === q || (results() && results().contains(e.target));
    if (!inSearch) return;
    if (e.key === "Escape") {
      if (resultLinks().length === 0 && e.target === q) {
        q.blur();
      }
      closeResults();
      if (e.target !== q) q.focus();
      return;
    }
    // Arrow keys walk from the box through the results and back.
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      var links = resultLinks();
      if (links.length === 0) return;
      e.preventDefault();
      var i = links.indexOf(e.target);
      if (e.key === "ArrowDown") {
        links[Math.min(i + 1, links.length - 1)].focus();
      } else if (i <= 0) {
        q.focus();
      } else {
        links[i - 1].focus();
      }
    }
  });

  // A click outside the search box and its results closes them.
  document.addEventListener("click", function (e) {
    var q = searchBox();
    var r = results();
    if (!q || !r || r.innerHTML === "") return;
    if (e.target === q || r.contains(e.target)) return;
    closeResults();
  });

  // <form data-confirm="..."> asks before submitting (deletes). Without JS
  // the form simply submits.
  document.addEventListener(
    "submit",
    function (e) {
      var form = e.target;
      var msg = form && form.getAttribute && form.getAttribute("data-confirm");
      if (msg && !window.confirm(msg)) {
        e.preventDefault();
        e.stopImmediatePropagation();
      }
    },
    true
  );

  // After an add form (data-reset) succeeds over htmx, the timeline has been
  // replaced but the form stays: empty it and clear old error marks so the
  // next entry starts clean. form.reset() is not enough: after a 422 the
  // defaults are the rejected values.
  document.addEventListener("htmx:afterRequest", function (e) {
    var form = e.detail && e.detail.elt;
    if (!e.detail.successful || !form || form.tagName !== "FORM" || !form.hasAttribute("data-reset")) return;
    if (!document.body.contains(form)) return;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && !/^(hidden|submit|button|checkbox|radio)$/.test(el.type))) {
        el.value = "";
      }
      el.removeAttribute("aria-invalid");
    });
    Array.prototype.forEach.call(form.querySelectorAll(".field-error, .alert"), function (el) {
      el.remove();
    });
    Array.prototype.forEach.call(form.querySelectorAll(".field-invalid"), function (el) {
      el.classList.remove("field-invalid");
    });
    var first = form.querySelector("input:not([type=hidden]), textarea");
    if (first) first.focus();
  });

  // Timestamps are rendered in UTC; show the reader's local time on hover.
  function localizeTimes(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("time[datetime]"), function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.title = d.toLocaleString();
    });
  }
  if (window.htmx) {
    htmx.onLoad(localizeTimes);
  } else {
    document.addEventListener("DOMContentLoaded", function () {
      localizeTimes(document);
    });
  }
})();
