// The imgplat gallery: sign in, upload with progress, follow processing, browse, open, delete. No framework.
"use strict";

const API = (new URLSearchParams(location.search).get("api") || window.IMGPLAT_CONFIG?.apiUrl || "").replace(/\/$/, "");
const TERMINAL = new Set(["READY", "REJECTED", "FAILED"]);
const PAGE_SIZE = 30;
const $ = (selector) => document.querySelector(selector);
let nextCursor = null;

// ---- session: tokens live in sessionStorage (gone when the tab closes) and are refreshed when they expire ----
const session = {
  load: () => JSON.parse(sessionStorage.getItem("imgplat.session") || "null"),
  save: (value) => sessionStorage.setItem("imgplat.session", JSON.stringify(value)),
  clear: () => sessionStorage.removeItem("imgplat.session"),
};

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

async function call(method, path, body, authorized = true) {
  const headers = body ? { "Content-Type": "application/json" } : {};
  if (authorized) headers.Authorization = `Bearer ${(await freshSession()).id_token}`;
  const answer = await fetch(API + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = answer.status === 204 ? null : await answer.json().catch(() => null);
  if (answer.status === 401 && authorized) signedOut("Your session has ended. Sign in again.");
  if (!answer.ok) throw new ApiError(answer.status, data);
  return data;
}

async function freshSession() {
  const current = session.load();
  if (!current) throw new ApiError(401, { error: { message: "Sign in first." } });
  if (Date.now() < current.expires_at - 60_000) return current;
  const tokens = await call("POST", "/auth/refresh", { refresh_token: current.refresh_token }, false);
  const renewed = { ...current, ...tokens, expires_at: Date.now() + tokens.expires_in * 1000 };
  session.save(renewed);
  return renewed;
}

// ---- account forms ----
function showForm(id) {
  for (const form of document.querySelectorAll("#account form")) form.hidden = form.id !== id;
}

function say(message) {
  $("#account-message").textContent = message;
}

function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

$("#show-sign-up").addEventListener("click", () => showForm("sign-up-form"));

$("#sign-up-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = formValues(event.target);
  try {
    await call("POST", "/auth/signup", values, false);
    $("#verify-form").email.value = values.email;
    showForm("verify-form");
    say("A code was sent to your e-mail (locally: any code works).");
  } catch (error) { say(error.message); }
});

$("#verify-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = formValues(event.target);
  try {
    await call("POST", "/auth/verify", values, false);
    $("#sign-in-form").email.value = values.email;
    showForm("sign-in-form");
    say("Verified. Sign in now.");
  } catch (error) { say(error.message); }
});

$("#sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = formValues(event.target);
  try {
    const tokens = await call("POST", "/auth/signin", values, false);
    session.save({ ...tokens, email: values.email, expires_at: Date.now() + tokens.expires_in * 1000 });
    signedIn();
  } catch (error) { say(error.message); }
});

$("#sign-out").addEventListener("click", async () => {
  const current = session.load();
  session.clear();
  if (current) fetch(API + "/auth/signout", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ access_token: current.access_token }),
  }).catch(() => {});
  signedOut("Signed out.");
});

function signedIn() {
  $("#account").hidden = true;
  $("#workspace").hidden = false;
  $("#sign-out").hidden = false;
  $("#who").textContent = session.load().email;
  say("");
  $("#gallery").replaceChildren();
  loadGallery();
}

function signedOut(message) {
  session.clear();
  $("#account").hidden = false;
  $("#workspace").hidden = true;
  $("#sign-out").hidden = true;
  $("#who").textContent = "";
  showForm("sign-in-form");
  say(message || "");
}

// ---- uploads: POST /upload, then the pre-signed POST form with XMLHttpRequest for its progress events ----
const dropZone = $("#drop-zone");
dropZone.addEventListener("dragover", (event) => { event.preventDefault(); dropZone.classList.add("dragging"); });
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("dragging");
  uploadAll(event.dataTransfer.files);
});
$("#file-input").addEventListener("change", (event) => { uploadAll(event.target.files); event.target.value = ""; });

function uploadAll(files) {
  for (const file of files) uploadOne(file);
}

function uploadRow(file) {
  const row = document.createElement("li");
  row.innerHTML = `<span class="name"></span><progress max="100" value="0"></progress><span class="status">uploading</span>`;
  row.querySelector(".name").textContent = file.name;
  $("#uploads").prepend(row);
  return row;
}

function showStatus(row, status, reason) {
  const label = row.querySelector(".status");
  label.textContent = status;
  label.className = `status status-${status}`;
  row.dataset.status = status;
  if (reason) {
    const why = row.querySelector(".reason") || row.appendChild(document.createElement("span"));
    why.className = "reason";
    why.textContent = reason;
  }
}

async function uploadOne(file) {
  const row = uploadRow(file);
  try {
    const ticket = await call("POST", "/upload", { content_type: file.type || "application/octet-stream",
      filename: file.name, size: file.size });
    row.dataset.imageId = ticket.image_id;
    await postForm(ticket.upload, file, (fraction) => { row.querySelector("progress").value = fraction * 100; });
    showStatus(row, "PENDING");
    const record = await followProcessing(ticket.image_id, (status) => showStatus(row, status));
    showStatus(row, record.status, record.reason || (record.error_id && `error id ${record.error_id}`));
    if (record.status === "READY") $("#gallery").prepend(tile(record));
  } catch (error) {
    showStatus(row, "FAILED", error.message);
  }
}

function postForm(form, file, onProgress) {
  return new Promise((resolve, reject) => {
    const data = new FormData();
    for (const [name, value] of Object.entries(form.fields)) data.append(name, value);
    data.append("file", file);  // last: S3 ignores fields after the file
    const request = new XMLHttpRequest();
    request.open("POST", form.url);
    request.upload.addEventListener("progress", (event) => event.lengthComputable && onProgress(event.loaded / event.total));
    request.addEventListener("load", () => (request.status < 300 ? resolve() : reject(new Error(`Storage refused the upload (HTTP ${request.status}).`))));
    request.addEventListener("error", () => reject(new Error("The upload failed (network).")));
    request.send(data);
  });
}

async function followProcessing(imageId, onStatus) {
  for (;;) {
    const record = await call("GET", `/image/${imageId}`);
    onStatus(record.status);
    if (TERMINAL.has(record.status)) return record;
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}

// ---- gallery: tiles with a blurhash placeholder, then the thumbnail ----
async function loadGallery() {
  const page = await call("GET", `/images?limit=${PAGE_SIZE}` + (nextCursor ? `&cursor=${nextCursor}` : ""));
  for (const item of page.items) $("#gallery").append(tile(item));
  nextCursor = page.next_cursor;
  $("#more").hidden = !nextCursor;
}
$("#more").addEventListener("click", loadGallery);

function tile(item) {
  const element = document.createElement("figure");
  element.className = "tile";
  element.dataset.imageId = item.image_id;
  element.dataset.status = item.status;
  element.title = item.filename || item.image_id;
  const placeholder = item.placeholder || item.metadata?.placeholder;
  if (placeholder) {
    const canvas = document.createElement("canvas");
    try { paintBlurhash(canvas, placeholder); element.append(canvas); } catch { /* no placeholder then */ }
  }
  if (item.status === "READY") {
    const image = document.createElement("img");
    image.className = "thumbnail";
    image.alt = item.filename || "image";
    image.addEventListener("load", () => image.classList.add("loaded"));
    element.append(image);
    call("GET", `/image/${item.image_id}?size=thumb`).then((link) => { image.src = link.url; }).catch(() => {});
    element.addEventListener("click", () => openViewer(item));
  } else {
    const badge = document.createElement("span");
    badge.className = `badge status-${item.status}`;
    badge.textContent = item.status;
    element.append(badge);
  }
  return element;
}

// ---- viewer: the large rendition, and delete ----
let viewing = null;

async function openViewer(item) {
  viewing = item;
  const link = await call("GET", `/image/${item.image_id}?size=large`);
  $("#viewer img").src = link.url;
  $("#viewer-caption").textContent = `${item.filename || item.image_id} · ${link.width}×${link.height}`;
  $("#viewer").showModal();
}

$("#viewer-close").addEventListener("click", () => $("#viewer").close());
$("#viewer-delete").addEventListener("click", async () => {
  if (!viewing) return;
  await call("DELETE", `/image/${viewing.image_id}`);
  document.querySelector(`.tile[data-image-id="${viewing.image_id}"]`)?.remove();
  viewing = null;
  $("#viewer").close();
});

if (session.load()) signedIn(); else signedOut();
