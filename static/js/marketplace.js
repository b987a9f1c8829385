// Marketplace: publish a design without leaving its page, and follow listings in flight until they settle.
(function () {
  "use strict";
  if (window.threadlineMarketplace) return; // the panel and the page may both include this script
  window.threadlineMarketplace = true;
  const POLL_MS = 2000;
  const FINAL = new Set(["published", "failed"]);
  const BADGES = { queued: "queued", publishing: "processing", published: "ready", failed: "failed", waiting: "duplicate" };
  const LABELS = { queued: "Queued", publishing: "Publishing", published: "Published", failed: "Failed", waiting: "Waiting" };
  const polling = new Set();

  function field(row, name) { return row.querySelector('[data-field="' + name + '"]'); }

  function render(row, listing) {
    row.dataset.status = listing.status;
    const badge = field(row, "status");
    badge.className = "badge " + (BADGES[listing.status] || "");
    badge.textContent = LABELS[listing.status] || listing.status;
    field(row, "attempts").textContent = listing.attempts;
    field(row, "external_id").textContent = listing.external_id || "—";
    field(row, "last_error").textContent = listing.last_error || "";
  }

  function poll(row) {
    if (polling.has(row) || FINAL.has(row.dataset.status)) return;
    polling.add(row);
    const tick = () => {
      fetch(row.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
        .then((listing) => {
          render(row, listing);
          if (FINAL.has(listing.status)) polling.delete(row); else setTimeout(tick, POLL_MS);
        })
        .catch(() => setTimeout(tick, POLL_MS * 3));
    };
    setTimeout(tick, POLL_MS);
  }

  document.querySelectorAll("tr[data-status-url]").forEach(poll);

  const form = document.getElementById("publish-form");
  if (!form) return;
  const table = document.getElementById("design-listings");
  const errorEl = document.getElementById("publish-error");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    errorEl.textContent = "";
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const connection = form.querySelector("[name=connection]");
    fetch(form.dataset.apiUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value },
      body: JSON.stringify({ connection: connection ? connection.value : null }),
    })
      .then((response) => response.json().then((body) => ({ ok: response.ok, body })))
      .then(({ ok, body }) => {
        if (!ok) { errorEl.textContent = body.error || "Publishing could not start."; return; }
        let row = table.querySelector('tr[data-listing="' + body.id + '"]');
        if (!row) {
          row = document.createElement("tr");
          row.dataset.listing = body.id;
          row.dataset.statusUrl = body.status_url;
          const shop = !connection ? "" : connection.options ? connection.options[connection.selectedIndex].textContent
            : connection.dataset.name || "";
          const shopCell = document.createElement("td"); shopCell.textContent = shop;
          row.appendChild(shopCell);
          [["status", "span"], ["attempts", "td"], ["external_id", "td"], ["last_error", "td"]].forEach(([name, tag]) => {
            const cell = document.createElement("td");
            if (name === "attempts") cell.className = "num";
            if (name === "last_error") cell.className = "error";
            if (tag === "span") { const span = document.createElement("span"); span.dataset.field = name; cell.appendChild(span); }
            else cell.dataset.field = name;
            row.appendChild(cell);
          });
          table.querySelector("tbody").appendChild(row);
          table.hidden = false;
        }
        render(row, body);
        poll(row);
      })
      .catch(() => { errorEl.textContent = "The server could not be reached; try again."; })
      .finally(() => { button.disabled = false; });
  });
})();
