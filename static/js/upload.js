// Batch upload: a few files at a time with a progress bar each, then live processing status by polling the batch.
(function () {
  "use strict";
  const root = document.getElementById("uploader");
  if (!root) return;
  const CONCURRENT_UPLOADS = 3;
  const POLL_MS = 1000;
  const input = document.getElementById("file-input");
  const dropzone = document.getElementById("dropzone");
  const list = document.getElementById("file-list");
  const summary = document.getElementById("batch-summary");
  const batchBar = document.getElementById("batch-bar");
  const batchText = document.getElementById("batch-text");
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const maxFiles = parseInt(root.dataset.maxFiles, 10);
  let batchId = root.dataset.batchId || null;
  let pollTimer = null;
  const rowsByName = new Map();
  const rowsByDesign = new Map();

  const LABELS = { queued: "Queued", processing: "Processing", ready: "Ready", duplicate: "Duplicate",
                   failed: "Failed", rejected: "Refused", uploading: "Uploading" };

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function makeRow(name) {
    const row = el("li", "file-row");
    const thumb = el("span", "mini placeholder");
    const info = el("div");
    const title = el("div", "name", name);
    const bar = el("div", "progress"); const fill = el("div", "bar"); bar.appendChild(fill);
    const message = el("div", "message muted");
    info.append(title, bar, message);
    const badge = el("span", "badge uploading", LABELS.uploading);
    row.append(thumb, info, badge);
    list.appendChild(row);
    const handle = { row, thumb, fill, bar, message, badge, name };
    rowsByName.set(name, (rowsByName.get(name) || []).concat([handle]));
    return handle;
  }

  function setStatus(handle, status, text) {
    handle.badge.className = "badge " + status;
    handle.badge.textContent = LABELS[status] || status;
    handle.row.dataset.status = status;
    if (text !== undefined) handle.message.textContent = text;
  }

  function setThumb(handle, url) {
    if (!url || handle.thumb.tagName === "IMG") return;
    const img = el("img", "mini");
    img.src = url; img.width = 56; img.height = 56; img.alt = handle.name; img.loading = "lazy";
    handle.thumb.replaceWith(img); handle.thumb = img;
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : Promise.reject(r.status)));
  }

  // Names the design already in the library, with its thumbnail, and says when the new file is smaller.
  function nameOriginal(link, item) {
    Promise.all([getJSON("/api/designs/" + item.duplicate_of), getJSON("/api/designs/" + item.design_id)])
      .then(([original, copy]) => {
        let text = (item.distance ? " Looks like “" : " Same picture as “") + original.title + "”, already in your library";
        if (copy.width * copy.height < original.width * original.height) {
          text += " (" + copy.width + " x " + copy.height + ", your original is " + original.width + " x " + original.height + ")";
        }
        link.textContent = text;
        if (original.thumbnail_url) {
          const img = el("img", "mini");
          img.src = original.thumbnail_url; img.width = 56; img.height = 56; img.loading = "lazy"; img.alt = original.title;
          link.prepend(img);
        }
      })
      .catch(() => {});  // the plain link stays
  }

  function applyItem(handle, item) {
    rowsByDesign.set(item.design_id, handle);
    handle.bar.hidden = true;
    let text = "";
    if (item.status === "duplicate" && item.duplicate_of) {
      if (handle.duplicateOf !== item.duplicate_of) {
        handle.duplicateOf = item.duplicate_of;
        handle.message.innerHTML = "";
        const link = el("a", "duplicate-link", item.distance ? "Looks like a design you already have" : "Same picture as a design you already have");
        link.href = "/designs/" + item.duplicate_of + "/";
        const review = el("a", "review-link", "Not a duplicate?");
        review.href = "/designs/" + item.design_id + "/#duplicate-of";
        handle.message.append(link, " · ", review);
        nameOriginal(link, item);
      }
      setStatus(handle, "duplicate");
    } else if (item.status === "ready") {
      handle.message.innerHTML = "";
      const link = el("a", null, "Open design"); link.href = "/designs/" + item.design_id + "/";
      handle.message.appendChild(link);
      setStatus(handle, "ready");
    } else {
      setStatus(handle, item.status, item.error || (item.status === "failed" ? "Processing failed" : "Waiting for a worker…"));
    }
    setThumb(handle, item.thumbnail_url);
  }

  function upload(handle, file) {
    return new Promise((resolve) => {
      const url = batchId ? "/api/uploads/" + batchId + "/files" : root.dataset.createUrl;
      const form = new FormData(); form.append("files", file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) handle.fill.style.width = (100 * e.loaded / e.total) + "%"; };
      xhr.onload = () => {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
        if (xhr.status === 429) {  // the per-user upload limit: wait as told, then send the same file again
          const wait = parseInt(xhr.getResponseHeader("Retry-After"), 10) || 5;
          setStatus(handle, "queued", "Upload limit reached: continuing in " + wait + " s…");
          setTimeout(() => upload(handle, file).then(resolve), wait * 1000);
          return;
        }
        if (xhr.status === 202 && body) {
          if (!batchId) { batchId = body.id; history.replaceState(null, "", "?batch=" + batchId); }
          if (body.accepted.length) applyItem(handle, body.accepted[0]);
          if (body.rejected.length) { handle.bar.hidden = true; setStatus(handle, "rejected", body.rejected[0].error); }
        } else {
          handle.bar.hidden = true;
          setStatus(handle, "rejected", (body && body.error) || "Upload failed (HTTP " + xhr.status + ")");
        }
        resolve();
      };
      xhr.onerror = () => { handle.bar.hidden = true; setStatus(handle, "rejected", "Network error: the file was not uploaded."); resolve(); };
      xhr.send(form);
    });
  }

  async function uploadAll(files) {
    files = Array.from(files);
    const extra = files.splice(maxFiles);
    extra.forEach((file) => setStatus(makeRow(file.name), "rejected", "Not uploaded: at most " + maxFiles + " files per batch."));
    const jobs = files.map((file) => ({ file, handle: makeRow(file.name) }));
    summary.hidden = false;
    batchText.textContent = "Uploading " + jobs.length + " files…";
    if (!jobs.length) return;
    if (!batchId) await upload(jobs[0].handle, jobs.shift().file);  // the first answer names the batch
    let next = 0;
    async function lane() { while (next < jobs.length) { const job = jobs[next++]; await upload(job.handle, job.file); } }
    await Promise.all(Array.from({ length: CONCURRENT_UPLOADS }, lane));
    poll();
  }

  function renderBatch(state) {
    const total = state.total + state.rejected.length;
    const done = state.processed + state.rejected.length;
    batchBar.style.width = total ? (100 * done / total) + "%" : "0";
    batchText.textContent = state.processed + " of " + state.total + " processed · " + state.ready + " ready · " +
      state.duplicates + (state.duplicates === 1 ? " duplicate · " : " duplicates · ") + state.failed + " failed · " + state.rejected.length + " refused" +
      (state.status === "done" ? " · done" : "");
    state.items.forEach((item) => {
      let handle = rowsByDesign.get(item.design_id);
      if (!handle) {
        const waiting = (rowsByName.get(item.name) || []).find((h) => !h.row.dataset.status || h.row.dataset.status === "uploading");
        handle = waiting || makeRow(item.name);
      }
      applyItem(handle, item);
    });
    state.rejected.forEach((item) => {
      const known = (rowsByName.get(item.name) || []).some((h) => h.row.dataset.status === "rejected");
      if (!known) { const handle = makeRow(item.name); handle.bar.hidden = true; setStatus(handle, "rejected", item.error); }
    });
  }

  function poll() {
    if (!batchId) return;
    clearTimeout(pollTimer);
    fetch("/api/uploads/" + batchId, { headers: { Accept: "application/json" } })
      .then((r) => r.ok ? r.json() : null)
      .then((state) => {
        if (!state) return;
        summary.hidden = false;
        renderBatch(state);
        if (state.status !== "done") pollTimer = setTimeout(poll, POLL_MS);
      })
      .catch(() => { pollTimer = setTimeout(poll, POLL_MS * 3); });
  }

  input.addEventListener("change", () => { uploadAll(input.files); input.value = ""; });
  ["dragenter", "dragover"].forEach((t) => dropzone.addEventListener(t, (e) => { e.preventDefault(); dropzone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => dropzone.addEventListener(t, (e) => { e.preventDefault(); dropzone.classList.remove("over"); }));
  dropzone.addEventListener("drop", (e) => uploadAll(e.dataTransfer.files));
  if (batchId) poll();
})();
