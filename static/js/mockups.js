// Mockup panel on the design page: picking a garment asks the server for a mockup, which a worker renders in the
// background; the panel polls its status every second and shows the picture (or the reason it failed).
(function () {
  "use strict";
  const root = document.getElementById("mockups");
  if (!root) return;
  const POLL_MS = 1000;
  const RETRY_MS = 5000;  // after a network error: the worker is still rendering, there is no hurry
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  const list = root.querySelector(".mockup-list");
  const message = root.querySelector(".mockup-message");
  const LABELS = { queued: "Queued", processing: "Processing", ready: "Ready", failed: "Failed" };
  const polling = new Set();

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function itemFor(id, statusUrl, templateName) {
    const existing = Array.from(list.children).find((item) => item.dataset.mockup === id);
    if (existing) return existing;
    const item = el("li", "mockup");
    item.dataset.mockup = id;
    item.dataset.statusUrl = statusUrl;
    item.append(el("span", "thumb placeholder"), el("span", "tile-title", templateName), el("span", "badge"),
                el("span", "mockup-error error"));
    list.appendChild(item);
    return item;
  }

  function show(item, body) {
    item.dataset.status = body.status;
    const badge = item.querySelector(".badge");
    badge.className = "badge " + body.status;
    badge.textContent = LABELS[body.status] || body.status;
    item.querySelector(".mockup-error").textContent = body.error || "";
    const placeholder = item.querySelector(".placeholder");
    if (body.status === "ready" && body.image_url && placeholder) {
      const link = el("a"); link.href = body.image_url;
      const img = el("img", "thumb"); img.src = body.image_url; img.decoding = "async";
      img.alt = item.querySelector(".tile-title").textContent;
      link.appendChild(img);
      placeholder.replaceWith(link);
    }
  }

  function poll(item) {
    const id = item.dataset.mockup;
    if (polling.has(id)) return;
    polling.add(id);
    function tick() {
      fetch(item.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => response.json().catch(() => ({})).then((body) => ({ ok: response.ok, body })))
        .then(({ ok, body }) => {
          if (!ok) { show(item, { status: "failed", error: body.error || "The mockup is not available." }); polling.delete(id); return; }
          show(item, body);
          if (body.status === "ready" || body.status === "failed") polling.delete(id);
          else setTimeout(tick, POLL_MS);
        })
        .catch(() => setTimeout(tick, RETRY_MS));
    }
    tick();
  }

  function request(button) {
    button.disabled = true;
    message.textContent = "";
    fetch(root.dataset.createUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ template: button.dataset.template }),
    })
      .then((response) => response.json().catch(() => ({})).then((body) => ({ status: response.status, body })))
      .then(({ status, body }) => {
        if (status !== 202) { message.textContent = body.error || "The mockup could not be started (HTTP " + status + ")."; return; }
        poll(itemFor(body.id, body.status_url, button.dataset.name));
      })
      .catch(() => { message.textContent = "Network error: the mockup was not started. Please try again."; })
      .finally(() => { button.disabled = false; });
  }

  root.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-template]");
    if (button && !button.disabled) request(button);
  });
  Array.from(list.children).forEach((item) => {
    if (item.dataset.status === "queued" || item.dataset.status === "processing") poll(item);
  });
})();
