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
  // the page's main navigation by typing part of its name, and to records
  // (customers, services, invoices, subscriptions) found by the server. The
  // navigation element names the search endpoint in data-palette-search; the
  // server decides what the viewer may see. Keyboard only: arrows move, Enter
  // goes, Esc closes.
  function setupPalette() {
    var sources = document.querySelectorAll("[data-palette-source] a[href]");
    if (!sources.length || typeof HTMLDialogElement === "undefined") return;
    var links = Array.prototype.map.call(sources, function (a) {
      return { kind: "page", label: a.textContent.replace(/\s+/g, " ").trim(), href: a.getAttribute("href") };
    });
    var searchHolder = document.querySelector("[data-palette-search]");
    var searchURL = searchHolder ? searchHolder.getAttribute("data-palette-search") : "";

    var dialog = document.createElement("dialog");
    dialog.className = "palette";
    dialog.setAttribute("aria-label", "Go to");
    dialog.setAttribute("data-testid", "palette");
    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = searchURL ? "Go to a page, or search…" : "Go to…";
    input.setAttribute("aria-label", "Go to or search");
    input.setAttribute("autocomplete", "off");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-expanded", "true");
    input.setAttribute("aria-controls", "palette-list");
    input.setAttribute("data-testid", "palette-input");
    var list = document.createElement("ul");
    list.id = "palette-list";
    list.setAttribute("role", "listbox");
    var status = document.createElement("p");
    status.className = "palette-status";
    status.setAttribute("aria-live", "polite");
    dialog.appendChild(input);
    dialog.appendChild(list);
    dialog.appendChild(status);
    document.body.appendChild(dialog);

    var selected = 0;
    var shown = [];
    var remote = [];      // the server's results for remoteFor
    var remoteFor = "";
    var timer = null;
    var seq = 0;          // answers to older queries are ignored

    function draw() {
      var q = input.value.trim().toLowerCase();
      var local = links.filter(function (l) { return l.label.toLowerCase().indexOf(q) !== -1; });
      shown = local.concat(remoteFor === q ? remote : []);
      selected = Math.min(selected, Math.max(shown.length - 1, 0));
      list.textContent = "";
      if (!shown.length) {
        var none = document.createElement("li");
        none.className = "palette-empty";
        none.textContent = q && searchURL && remoteFor !== q ? "Searching…" : "Nothing matches";
        list.appendChild(none);
        input.removeAttribute("aria-activedescendant");
        return;
      }
      shown.forEach(function (l, i) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = l.href;
        a.id = "palette-option-" + i;
        a.setAttribute("role", "option");
        a.setAttribute("aria-selected", i === selected ? "true" : "false");
        a.setAttribute("data-testid", "palette-option");
        a.setAttribute("data-kind", l.kind);
        a.tabIndex = -1;
        var kind = document.createElement("span");
        kind.className = "palette-kind";
        kind.textContent = l.kind;
        var label = document.createElement("span");
        label.className = "palette-label";
        label.textContent = l.label;
        a.appendChild(kind);
        a.appendChild(label);
        if (l.detail) {
          var detail = document.createElement("span");
          detail.className = "palette-detail";
          detail.textContent = l.detail;
          a.appendChild(detail);
        }
        li.appendChild(a);
        list.appendChild(li);
      });
      input.setAttribute("aria-activedescendant", "palette-option-" + selected);
      var current = document.getElementById("palette-option-" + selected);
      if (current && current.scrollIntoView) current.scrollIntoView({ block: "nearest" });
    }

    // search asks the server, at most once per pause in typing (debounced).
    function search() {
      var q = input.value.trim().toLowerCase();
      if (!searchURL || q.length < 2) { remote = []; remoteFor = q; status.textContent = ""; draw(); return; }
      var mine = ++seq;
      fetch(searchURL + "?q=" + encodeURIComponent(q), {
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-Requested-With": "fetch" }
      }).then(function (res) {
        if (!res.ok) throw new Error("search answered " + res.status);
        return res.json();
      }).then(function (body) {
        if (mine !== seq) return;
        remote = (body.results || []).map(function (r) {
          return { kind: r.kind, label: r.label, detail: r.detail || "", href: r.href };
        });
        remoteFor = q;
        status.textContent = remote.length ? remote.length + " found" : "";
        draw();
      }).catch(function () {
        if (mine !== seq) return;
        remote = [];
        remoteFor = q;
        status.textContent = "Search is unavailable right now.";
        draw();
      });
    }

    input.addEventListener("input", function () {
      selected = 0;
      draw();
      clearTimeout(timer);
      timer = setTimeout(search, 150);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") { selected = Math.min(selected + 1, shown.length - 1); draw(); e.preventDefault(); }
      else if (e.key === "ArrowUp") { selected = Math.max(selected - 1, 0); draw(); e.preventDefault(); }
      else if (e.key === "Enter") {
        e.preventDefault();
        if (shown[selected]) window.location.href = shown[selected].href;
      }
      else if (e.key === "Escape") { dialog.close(); e.preventDefault(); }
    });
    dialog.addEventListener("click", function (e) { if (e.target === dialog) dialog.close(); });

    document.addEventListener("keydown", function (e) {
      if ((e.ctrlKey || e.metaKey) && (e.key === "k" || e.key === "K")) {
        e.preventDefault();
        if (dialog.open) { dialog.close(); return; }
        input.value = "";
        selected = 0;
        remote = [];
        remoteFor = "";
        status.textContent = "";
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
