// zaphub web app: small enhancements; every page works without this script.
"use strict";

// Changing the app/action or the trigger kind redraws the form for it (same as the button).
function setupRefresh() {
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.requestSubmit());
  });
  document.querySelectorAll("select[data-refresh]").forEach((select) => {
    select.addEventListener("change", () => {
      const button = select.form && select.form.querySelector("[data-refresh-button]");
      if (button) button.click();
    });
  });
}

// Field picker: remember the last text field used; a value button inserts {{ expr }} there.
function setupPicker() {
  let target = null;
  document.addEventListener("focusin", (event) => {
    if (event.target.matches("[data-pick]")) target = event.target;
  });
  document.querySelectorAll("button[data-expr]").forEach((button) => {
    button.addEventListener("click", () => {
      const step = button.closest("[data-step]");
      const field = target && step && step.contains(target) ? target
        : step && step.querySelector("[data-pick]");
      if (!field) return;
      const text = "{{ " + button.dataset.expr + " }}";
      const start = field.selectionStart ?? field.value.length;
      const end = field.selectionEnd ?? field.value.length;
      field.value = field.value.slice(0, start) + text + field.value.slice(end);
      field.focus();
      field.setSelectionRange(start + text.length, start + text.length);
    });
  });
}

function setupCopy() {
  document.querySelectorAll("button[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const input = document.getElementById(button.dataset.copy);
      input.select();
      try {
        await navigator.clipboard.writeText(input.value);
        button.textContent = "Copied";
      } catch (err) {
        button.textContent = "Press Ctrl+C";
      }
    });
  });
}

// Live runs: the server sends a run's new row as HTML; it replaces or tops the table.
function setupLive() {
  const box = document.querySelector("[data-live]");
  if (!box || !window.EventSource) return;
  const source = new EventSource(box.dataset.live + window.location.search);
  source.addEventListener("run", (event) => {
    const data = JSON.parse(event.data);
    const body = box.querySelector("tbody");
    const template = document.createElement("template");
    template.innerHTML = data.row.trim();
    const row = template.content.firstElementChild;
    const old = body.querySelector('[data-run="' + data.id + '"]');
    if (old) old.replaceWith(row);
    else body.prepend(row);
    body.querySelector("[data-empty]")?.remove();
  });
}

// A run's detail page reloads once the run's status changes.
function setupReload() {
  const box = document.querySelector("[data-live-reload]");
  if (!box || !window.EventSource) return;
  const source = new EventSource(box.dataset.liveReload);
  source.addEventListener("changed", () => {
    source.close();
    window.location.reload();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupRefresh();
  setupPicker();
  setupCopy();
  setupLive();
  setupReload();
});
