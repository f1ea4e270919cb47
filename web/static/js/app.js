// EZSCALE page enhancements. Every feature here is optional: the pages work
// without JavaScript, and this file only makes some actions quicker.
(function () {
  "use strict";

  // Theme toggle: the form posts to /theme and redirects back. With JS we flip
  // the theme at once and save the choice in the background instead.
  function setupThemeToggle(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var root = document.documentElement;
      var themeInput = form.querySelector('input[name="theme"]');
      var csrfInput = form.querySelector('input[name="csrf"]');
      var next = themeInput.value === "dark" ? "dark" : "light";
      var after = next === "dark" ? "light" : "dark";
      var body = new URLSearchParams(new FormData(form));

      root.setAttribute("data-theme", next);
      var scheme = document.querySelector('meta[name="color-scheme"]');
      if (scheme) scheme.setAttribute("content", next);
      // Every toggle on the page (the admin layout can have one per breakpoint) now offers the other theme.
      document.querySelectorAll("form[data-theme-toggle]").forEach(function (f) {
        var input = f.querySelector('input[name="theme"]');
        if (input) input.value = after;
        var button = f.querySelector("button");
        if (button) {
          button.setAttribute("aria-label", "Switch to " + after + " theme");
          button.setAttribute("title", "Switch to " + after + " theme");
        }
      });

      fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        redirect: "manual",
        headers: {
          "X-CSRF-Token": csrfInput ? csrfInput.value : "",
          "X-Requested-With": "fetch"
        }
      }).then(function (res) {
        // A redirect (opaque) or any 2xx means the server stored the choice.
        if (res.type !== "opaqueredirect" && !res.ok) throw new Error("theme not saved: " + res.status);
      }).catch(function () {
        // Could not save in the background: fall back to the plain form post.
        themeInput.value = next;
        HTMLFormElement.prototype.submit.call(form);
      });
    });
  }

  // Command palette (Ctrl/Cmd+K) in the portal and admin: jump to any link of
  // the page's main navigation by typing part of its name.
  function setupPalette() {
    var sources = document.querySelectorAll("[data-palette-source] a[href]");
    if (!sources.length || typeof HTMLDialogElement === "undefined") return;
    var links = Array.prototype.map.call(sources, function (a) {
      return { label: a.textContent.replace(/\s+/g, " ").trim(), href: a.getAttribute("href") };
    });

    var dialog = document.createElement("dialog");
    dialog.className = "palette";
    dialog.setAttribute("aria-label", "Go to page");
    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = "Go to…";
    input.setAttribute("aria-label", "Go to page");
    input.setAttribute("autocomplete", "off");
    var list = document.createElement("ul");
    list.setAttribute("role", "listbox");
    dialog.appendChild(input);
    dialog.appendChild(list);
    document.body.appendChild(dialog);

    var selected = 0;
    var shown = [];
    function draw() {
      var q = input.value.toLowerCase();
      shown = links.filter(function (l) { return l.label.toLowerCase().indexOf(q) !== -1; });
      selected = Math.min(selected, Math.max(shown.length - 1, 0));
      list.textContent = "";
      if (!shown.length) {
        var none = document.createElement("li");
        none.className = "palette-empty";
        none.textContent = "No matching page";
        list.appendChild(none);
        return;
      }
      shown.forEach(function (l, i) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = l.href;
        a.textContent = l.label;
        a.setAttribute("role", "option");
        a.setAttribute("aria-selected", i === selected ? "true" : "false");
        li.appendChild(a);
        list.appendChild(li);
      });
    }
    input.addEventListener("input", function () { selected = 0; draw(); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") { selected = Math.min(selected + 1, shown.length - 1); draw(); e.preventDefault(); }
      else if (e.key === "ArrowUp") { selected = Math.max(selected - 1, 0); draw(); e.preventDefault(); }
      else if (e.key === "Enter" && shown[selected]) { window.location.href = shown[selected].href; e.preventDefault(); }
    });
    dialog.addEventListener("click", function (e) { if (e.target === dialog) dialog.close(); });

    document.addEventListener("keydown", function (e) {
      if ((e.ctrlKey || e.metaKey) && (e.key === "k" || e.key === "K")) {
        e.preventDefault();
        if (dialog.open) { dialog.close(); return; }
        input.value = "";
        selected = 0;
        draw();
        dialog.showModal();
        input.focus();
      }
    });
  }

  function init() {
    document.querySelectorAll("form[data-theme-toggle]").forEach(setupThemeToggle);
    setupPalette();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
