/* Keyboard and screen-reader support for the whole panel (WCAG 2.2 AA):
   - after a form is sent (a wizard step, a summary, an error) or a message is shown,
     focus moves to the first field in error, the error, the message or the page's heading,
     so that it is read out;
   - after an htmx update, what changed is announced in the page's live region: a row's
     status, a count of results ([data-announce]); focus that htmx cannot keep (its
     element is gone) goes to the updated region instead of the page's body.
   htmx itself keeps focus on an element replaced by one with the same id (the boxes of
   the pickers have ids for that). */
(function () {
  "use strict";

  function announce(text) {
    var region = document.getElementById("live-status");
    if (!region || !text) return;
    // Emptied first, so that the same sentence twice is read twice.
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function focusOn(element) {
    if (!element) return false;
    if (!element.matches("a, button, input, select, textarea, [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus();
    return document.activeElement === element;
  }

  function describedBy(field) {
    var ids = (field.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    var feedback = field.closest(".mb-3, .form-check, td, div") &&
      field.closest(".mb-3, .form-check, td, div").querySelector(".invalid-feedback");
    if (feedback) {
      if (!feedback.id) feedback.id = field.id + "-error";
      if (ids.indexOf(feedback.id) < 0) ids.push(feedback.id);
      field.setAttribute("aria-describedby", ids.join(" "));
    }
    return feedback;
  }

  // Every field in error names its message, so a screen reader reads it with the field.
  function linkErrors(root) {
    root.querySelectorAll(".is-invalid").forEach(function (field) {
      field.setAttribute("aria-invalid", "true");
      describedBy(field);
    });
  }

  // A table wider than the screen scrolls in its box; when nothing in it takes focus (an
  // empty list), the box itself does, so that the keyboard can scroll it (WCAG 2.1.1).
  function scrollablesReachable() {
    document.querySelectorAll(".table-responsive").forEach(function (box) {
      var overflows = box.scrollWidth > box.clientWidth;
      var inner = box.querySelector("a[href], button, input, select, textarea, [tabindex]");
      if (overflows && !inner) {
        box.setAttribute("tabindex", "0");
      } else if (box.getAttribute("tabindex") === "0" && (!overflows || inner)) {
        box.removeAttribute("tabindex");
      }
    });
  }
  window.addEventListener("resize", scrollablesReachable);
  document.addEventListener("htmx:afterSettle", scrollablesReachable);

  document.addEventListener("DOMContentLoaded", function () {
    scrollablesReachable();
    var main = document.getElementById("main");
    if (!main) return;
    linkErrors(main);
    if (!main.hasAttribute("data-focus-on-load")) return;
    var field = main.querySelector(".is-invalid");
    if (field) {
      focusOn(field);
      var feedback = describedBy(field);
      announce(feedback ? feedback.textContent.trim() : "");
      return;
    }
    var target = main.querySelector(".alert-danger") ||
      main.querySelector("#messages .alert") ||
      main.querySelector("[data-focus-heading]") ||
      main.querySelector("h2, h1");
    focusOn(target);
  });

  // --- htmx updates --------------------------------------------------------------------
  var before = {};
  var announced = {};

  document.addEventListener("htmx:beforeSwap", function (event) {
    before = {};
    var target = event.detail.target;
    if (!target) return;
    var rows = [target].concat(Array.prototype.slice.call(target.querySelectorAll("[data-status][id]")));
    rows.forEach(function (row) {
      if (row.id && row.dataset && row.dataset.status) before[row.id] = row.dataset.status;
    });
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var changes = [];
    Object.keys(before).forEach(function (id) {
      var row = document.getElementById(id);
      if (row && row.dataset.status !== before[id]) {
        var badge = row.querySelector(".badge");
        changes.push((row.dataset.label ? row.dataset.label + " : " : "") +
                     (badge ? badge.textContent.trim() : row.dataset.status));
      }
    });
    before = {};
    var target = event.detail.target;
    if (target && document.body.contains(target)) {
      linkErrors(target);
      target.querySelectorAll("[data-announce]").forEach(function (element) {
        var key = element.id || "results";
        var text = element.textContent.replace(/\s+/g, " ").trim();
        if (announced[key] !== text) {
          announced[key] = text;
          changes.push(text);
        }
      });
      // The element that had focus is gone and none took its id: keep focus in the region.
      if (document.activeElement === document.body && target.closest("#main")) {
        focusOn(target.querySelector("[data-announce]") || target);
      }
    }
    if (changes.length) announce(changes.join(". "));
  });
})();
