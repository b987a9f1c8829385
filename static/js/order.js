// Order form: items with live totals, designs from the library or uploaded on the spot, a shipping address (saved ones
// offered), a review step, then a JSON submit with clear errors. Prices shown are the server's; it computes the total.
(function () {
  "use strict";
  const form = document.getElementById("order-form");
  if (!form) return;
  const products = JSON.parse(document.getElementById("products-data").textContent);
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const tbody = form.querySelector("#items tbody");
  const totalEl = document.getElementById("order-total");
  const errorsEl = document.getElementById("order-errors");
  const picker = document.getElementById("design-picker");
  const addresses = JSON.parse(document.getElementById("addresses-data").textContent);
  const review = document.getElementById("order-review");
  const addressInputs = Array.from(form.querySelectorAll("#address-fields [data-field]"));

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function options(select, values, labels) {
    select.innerHTML = "";
    values.forEach((v, i) => select.appendChild(el("option", { value: v }, labels ? labels[i] : v)));
  }
  function money(cents) { return "$" + (cents / 100).toFixed(2); }
  function cents(price) { return Math.round(parseFloat(price) * 100); }
  function selectedDesign() {
    const checked = picker.querySelector("input[name=design]:checked");
    return checked ? { id: checked.value, title: checked.closest("label").textContent.trim() } : null;
  }

  function recalc() {
    let total = 0;
    tbody.querySelectorAll("tr").forEach((tr) => {
      const product = products.find((p) => p.id === tr.querySelector(".product").value);
      const qty = parseInt(tr.querySelector(".qty").value, 10);
      const line = product && qty > 0 ? cents(product.price) * qty : 0;
      tr.querySelector(".line").textContent = money(line);
      total += line;
    });
    totalEl.textContent = money(total);
  }

  function addItem() {
    const design = selectedDesign();
    if (!design) { showErrors("Choose a design first (or upload one)."); return; }
    if (!products.length) { showErrors("No products are available right now."); return; }
    const tr = document.createElement("tr");
    tr.dataset.design = design.id;
    const productSel = el("select", { class: "product", "aria-label": "Product" });
    options(productSel, products.map((p) => p.id), products.map((p) => p.name + " ($" + p.price + ") · " + design.title));
    const sizeSel = el("select", { class: "size", "aria-label": "Size" });
    const colorSel = el("select", { class: "color", "aria-label": "Colour" });
    const qty = el("input", { class: "qty", type: "number", min: "1", max: "5000", value: "1", "aria-label": "Quantity" });
    const remove = el("button", { type: "button", class: "link" }, "Remove");
    function syncChoices() {
      const product = products.find((p) => p.id === productSel.value);
      options(sizeSel, product.sizes); options(colorSel, product.colors); recalc();
    }
    productSel.addEventListener("change", syncChoices);
    qty.addEventListener("input", recalc);
    remove.addEventListener("click", () => { tr.remove(); recalc(); });
    [productSel, sizeSel, colorSel, qty].forEach((node) => { const td = document.createElement("td"); td.appendChild(node); tr.appendChild(td); });
    tr.lastChild.className = "num";
    const line = el("td", { class: "num line" }); const rm = document.createElement("td"); rm.appendChild(remove);
    tr.append(line, rm);
    tbody.appendChild(tr);
    syncChoices();
    hideErrors();
  }

  function showErrors(message, details) {
    errorsEl.hidden = false; errorsEl.innerHTML = "";
    errorsEl.appendChild(el("p", {}, message));
    if (details && typeof details === "object") {
      Object.entries(details).forEach(([field, value]) => {
        if (field === "shipping_address" && value && typeof value === "object") {
          Object.entries(value).forEach(([name, text]) => {
            const input = form.querySelector(`[data-field="${name}"]`);
            const label = input ? form.querySelector(`label[for="${input.id}"]`).textContent : name;
            errorsEl.appendChild(el("p", {}, label + ": " + text));
          });
        } else if (value && typeof value === "object") {
          Object.entries(value).forEach(([index, text]) => errorsEl.appendChild(el("p", {}, "Item " + (parseInt(index, 10) + 1) + ": " + text)));
        } else { errorsEl.appendChild(el("p", {}, field + ": " + value)); }
      });
    }
  }
  function hideErrors() { errorsEl.hidden = true; }

  document.getElementById("add-item").addEventListener("click", addItem);

  document.getElementById("quick-upload").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const status = document.getElementById("quick-upload-status");
    status.textContent = "Uploading…";
    const body = new FormData(); body.append("files", file, file.name);
    fetch(form.dataset.uploadUrl, { method: "POST", body, headers: { "X-CSRFToken": csrf } })
      .then((r) => r.json().then((data) => ({ ok: r.ok, data })))
      .then(({ ok, data }) => {
        if (!ok) { status.textContent = data.error || "Upload failed."; return; }
        if (data.rejected.length) { status.textContent = data.rejected[0].error; return; }
        const item = data.accepted[0];
        const id = item.status === "duplicate" && item.duplicate_of ? item.duplicate_of : item.design_id;
        const li = document.createElement("li");
        const label = document.createElement("label");
        const radio = el("input", { type: "radio", name: "design", value: id }); radio.checked = true;
        label.append(radio, el("span", { class: "mini placeholder" }), el("span", {}, item.name));
        li.appendChild(label); picker.prepend(li);
        status.textContent = item.status === "duplicate" ? "Already in your library: selected." : "Uploaded and selected.";
      })
      .catch(() => { status.textContent = "Network error: not uploaded."; });
  });

  function shippingAddress() {
    const address = {};
    addressInputs.forEach((input) => { address[input.dataset.field] = input.value.trim(); });
    return address;
  }
  function lines() {
    return Array.from(tbody.querySelectorAll("tr")).map((tr) => ({
      product: tr.querySelector(".product").value, design: tr.dataset.design,
      size: tr.querySelector(".size").value, color: tr.querySelector(".color").value,
      quantity: parseInt(tr.querySelector(".qty").value, 10),
    }));
  }

  const saved = document.getElementById("saved-addresses");
  if (saved) {
    saved.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-address]");
      if (!button) return;
      const address = addresses[parseInt(button.dataset.address, 10)];
      addressInputs.forEach((input) => { input.value = address[input.dataset.field] || ""; });
      review.hidden = true;
    });
  }
  form.addEventListener("input", () => { review.hidden = true; });
  form.addEventListener("change", () => { review.hidden = true; });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const items = lines();
    if (!items.length) { showErrors("Add at least one item."); return; }
    const missing = addressInputs.filter((input) => input.required && !input.value.trim())
      .map((input) => form.querySelector(`label[for="${input.id}"]`).textContent);
    if (missing.length) { showErrors("Complete the shipping address: " + missing.join(", ") + "."); return; }
    hideErrors();
    const reviewLines = document.getElementById("review-lines");
    reviewLines.innerHTML = "";
    let total = 0;
    Array.from(tbody.querySelectorAll("tr")).forEach((tr, index) => {
      const product = products.find((p) => p.id === items[index].product);
      const design = picker.querySelector(`input[value="${tr.dataset.design}"]`);
      const line = cents(product.price) * (items[index].quantity || 0);
      total += line;
      const row = document.createElement("tr");
      [product.name, design ? design.closest("label").textContent.trim() : "", items[index].size, items[index].color]
        .forEach((text) => row.appendChild(el("td", {}, text)));
      [String(items[index].quantity), money(cents(product.price)), money(line)]
        .forEach((text) => row.appendChild(el("td", { class: "num" }, text)));
      reviewLines.appendChild(row);
    });
    document.getElementById("review-total").textContent = money(total);
    const address = shippingAddress();
    const country = form.querySelector("#ship-country");
    document.getElementById("review-address").textContent = [address.name, address.line1, address.line2,
      (address.postal_code + " " + address.city).trim(), address.region, country.options[country.selectedIndex].text,
      address.phone].filter(Boolean).join(", ");
    review.hidden = false;
    review.scrollIntoView({ block: "nearest" });
  });

  document.getElementById("edit-order").addEventListener("click", () => { review.hidden = true; });

  document.getElementById("confirm-order").addEventListener("click", () => {
    const confirm = document.getElementById("confirm-order"); confirm.disabled = true;
    fetch(form.dataset.apiUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({
        name: document.getElementById("order-name").value, email: document.getElementById("order-email").value,
        items: lines(), shipping_address: shippingAddress(), note: document.getElementById("order-note").value,
        save_address: document.getElementById("save-address").checked,
      }),
    })
      .then((r) => r.json().then((data) => ({ status: r.status, data })))
      .then(({ status, data }) => {
        if (status === 201) { window.location = data.url; return; }
        confirm.disabled = false; review.hidden = true;
        showErrors(data.error || "The order could not be placed.", data.details);
      })
      .catch(() => { confirm.disabled = false; showErrors("Network error: the order was not placed. Try again."); });
  });
})();
