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

  // The main menu's button (shown only on narrow screens, by app.css)
  // folds the navigation away. It is hidden in the markup so that without
  // this script the links simply stay in view.
  var navToggle = document.querySelector(".nav-toggle");
  if (navToggle) {
    navToggle.hidden = false;
    navToggle.addEventListener("click", function () {
      navToggle.setAttribute("aria-expanded", String(navToggle.getAttribute("aria-expanded") !== "true"));
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && navToggle.getAttribute("aria-expanded") === "true") {
        navToggle.setAttribute("aria-expanded", "false");
        navToggle.focus();
      }
    });
  }

  // "Next" and "Previous" swap a list in place: bring the new page's top
  // into view, or the reader is left at the bottom of a page they have not
  // seen. (The timeline's "load more" appends, and stays where it is.)
  document.addEventListener("htmx:afterSwap", function (e) {
    var elt = e.detail && e.detail.requestConfig && e.detail.requestConfig.elt;
    if (!elt || !elt.closest || !elt.closest(".pager")) return;
    var list = document.getElementById(e.detail.target.id) || e.detail.target;
    // The top bar is sticky: the list's top belongs just below it.
    var bar = document.querySelector(".topbar");
    var below = bar ? bar.getBoundingClientRect().bottom : 0;
    var top = list.getBoundingClientRect().top;
    if (top < below) window.scrollBy(0, top - below - 8);
  });

  // A meeting form's attendee filter (views' attendeePicker) hides the
  // contacts whose name or address lacks what is typed. Delegated, since
  // the form arrives by htmx; ticked contacts stay in view.
  document.addEventListener("input", function (e) {
    var box = e.target;
    var sel = box && box.getAttribute && box.getAttribute("data-filter");
    var list = sel && document.querySelector(sel);
    if (!list) return;
    var want = box.value.trim().toLowerCase();
    Array.prototype.forEach.call(list.querySelectorAll("label"), function (label) {
      var text = (label.textContent + " " + (label.title || "")).toLowerCase();
      var input = label.querySelector("input");
      label.hidden = want !== "" && text.indexOf(want) < 0 && !(input && input.checked);
    });
  });

  // Times are rendered in the user's own zone (their profile), so the page
  // leaves them alone. The browser only tells the server its zone: in the
  // sign-in form, a default for a user who has none yet, and as the
  // suggestions of the profile's time zone field.
  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (err) {
      return "";
    }
  }

  function fillZones() {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-time-zone]"), function (el) {
      el.value = browserZone();
    });
    var list = document.getElementById("time-zones");
    if (list && list.children.length === 0 && Intl.supportedValuesOf) {
      Intl.supportedValuesOf("timeZone").forEach(function (z) {
        var o = document.createElement("option");
        o.value = z;
        list.appendChild(o);
      });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fillZones);
  } else {
    fillZones();
  }
})();
