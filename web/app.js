// The imgplat gallery: sign in, upload with progress, follow processing, browse, open, download, delete. No framework.
"use strict";

// Where the API is: ?api= (remembered for this tab, so it survives reloads and the docs page), else config.js, else
// this page's own origin (the local platform serves both).
const API = (() => {
  const fromQuery = new URLSearchParams(location.search).get("api");
  if (fromQuery) sessionStorage.setItem("imgplat.api", fromQuery);
  const chosen = fromQuery || sessionStorage.getItem("imgplat.api") || window.IMGPLAT_CONFIG?.apiUrl || "";
  return chosen.replace(/\/$/, "");
})();
const API_ADDRESS = API || location.origin;
const TERMINAL = new Set(["READY", "REJECTED", "FAILED"]);
const PAGE_SIZE = window.IMGPLAT_CONFIG?.pageSize || 30;
const PARALLEL_UPLOADS = 3;
const $ = (selector) => document.querySelector(selector);

// Everything that belongs to the signed-in user; reset as a whole on sign-out so the next user starts afresh.
let gallery = { cursor: null, generation: 0 };

// ---- session: tokens live in sessionStorage (gone when the tab closes) and are refreshed when they expire ----
const session = {
  load: () => JSON.parse(sessionStorage.getItem("imgplat.session") || "null"),
  save: (value) => sessionStorage.setItem("imgplat.session", JSON.stringify(value)),
  clear: () => sessionStorage.removeItem("imgplat.session"),
};

class ApiError extends Error {
  constructor(status, body, message) {
    super(message || body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

const unreachable = () => new ApiError(0, null, `The API is not reachable at ${API_ADDRESS}. Is the platform running?`);

async function call(method, path, body, authorized = true, extraHeaders = {}) {
  const headers = { ...(body ? { "Content-Type": "application/json" } : {}), ...extraHeaders };
  if (authorized) headers.Authorization = `Bearer ${(await freshSession()).id_token}`;
  let answer;
  try {
    answer = await fetch(API + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  } catch {
    throw unreachable();  // fetch only rejects when no answer came at all ("Failed to fetch")
  }
  const data = answer.status === 204 ? null : await answer.json().catch(() => null);
  if (answer.status === 401 && authorized) signedOut("Your session has ended. Sign in again.", "error");
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

// A message in `element`: kind is "error" (red), "success" (green) or "info" (grey).
function show(element, message, kind = "info") {
  element.textContent = message || "";
  element.className = `message ${kind}`;
  element.hidden = !message;
}

function notify(message, kind = "info") {
  show($("#notice"), message, kind);
}

// Nothing fails silently: an error no handler caught still reaches the user, in words.
window.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  notify(event.reason?.message || String(event.reason), "error");
});

// ---- account forms: one at a time, each with its own message ----
function showForm(id, message, kind) {
  for (const form of document.querySelectorAll("#account form")) {
    form.hidden = form.id !== id;
    show(form.querySelector(".message"), form.id === id ? message : "", kind);
  }
}

function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

for (const button of document.querySelectorAll("#account [data-show]")) {
  button.addEventListener("click", () => {
    const email = button.form.email.value;
    const target = document.getElementById(button.dataset.show);
    if (email && !target.email.value) target.email.value = email;  // carry the address over, not retype it
    showForm(button.dataset.show);
  });
}

// Submits a form to an auth route, with its button disabled meanwhile and any error shown under that form.
function onSubmit(formId, handler) {
  const form = document.getElementById(formId);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    show(form.querySelector(".message"), "");
    try {
      await handler(formValues(form));
    } catch (error) {
      show(form.querySelector(".message"), error.message, "error");
    } finally {
      submit.disabled = false;
    }
  });
}

onSubmit("sign-up-form", async (values) => {
  await call("POST", "/auth/signup", values, false);
  $("#verify-form").email.value = values.email;
  showForm("verify-form", "A code was sent to your e-mail (locally: any 6 digits work).", "success");
});

onSubmit("verify-form", async (values) => {
  await call("POST", "/auth/verify", values, false);
  $("#sign-in-form").email.value = values.email;
  showForm("sign-in-form", "E-mail verified. Sign in now.", "success");
});

function startSession(tokens, email) {
  session.save({ ...tokens, email, expires_at: Date.now() + tokens.expires_in * 1000 });
  $("#sign-in-form").password.value = "";
  signedIn();
}

onSubmit("sign-in-form", async (values) => {
  const answer = await call("POST", "/auth/signin", values, false);
  if (answer.challenge === "SOFTWARE_TOKEN_MFA") {  // 202: the account has two-factor sign-in on
    const form = $("#mfa-form");
    form.email.value = values.email;
    form.session.value = answer.session;
    form.code.value = "";
    showForm("mfa-form", "Enter the code your authenticator app shows.", "info");
    return;
  }
  startSession(answer, values.email);
});

onSubmit("mfa-form", async (values) => {
  startSession(await call("POST", "/auth/signin/mfa", values, false), values.email);
});

$("#sign-out").addEventListener("click", () => {
  const current = session.load();
  if (current) fetch(API + "/auth/signout", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ access_token: current.access_token }),
  }).catch(() => {});  // the tokens are dropped here whatever the API says
  signedOut("Signed out.", "info");
});

function resetWorkspace() {
  gallery = { cursor: null, generation: gallery.generation + 1 };  // answers for an older generation are ignored
  $("#gallery").replaceChildren();
  $("#uploads").replaceChildren();
  $("#more").hidden = true;
  $("#empty-gallery").hidden = true;
  notify("");
  if ($("#viewer").open) $("#viewer").close();
}

function signedIn() {
  resetWorkspace();
  $("#account").hidden = true;
  $("#workspace").hidden = false;
  $("#sign-out").hidden = false;
  $("#who").textContent = session.load().email;
  loadGallery().catch((error) => notify(error.message, "error"));
}

function signedOut(message, kind) {
  session.clear();
  resetWorkspace();
  $("#account").hidden = false;
  $("#workspace").hidden = true;
  $("#sign-out").hidden = true;
  $("#who").textContent = "";
  showForm("sign-in-form", message, kind);
}

// ---- uploads: many at once (a few in flight), each row with its own progress and outcome ----
// Files may be dropped anywhere on the page once signed in (the zone lights up); before that, a drop must not make
// the browser leave the page to show the file.
const dropZone = $("#drop-zone");
const carriesFiles = (event) => event.dataTransfer?.types?.includes("Files");
window.addEventListener("dragover", (event) => {
  event.preventDefault();
  if (carriesFiles(event) && !$("#workspace").hidden) dropZone.classList.add("dragging");
});
window.addEventListener("dragleave", (event) => { if (!event.relatedTarget) dropZone.classList.remove("dragging"); });
window.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("dragging");
  if (!$("#workspace").hidden && event.dataTransfer?.files.length) uploadAll(event.dataTransfer.files);
});
$("#file-input").addEventListener("change", (event) => { uploadAll(event.target.files); event.target.value = ""; });

async function uploadAll(fileList) {
  const queue = [...fileList].map((file) => ({ file, row: uploadRow(file) }));  // every row shows at once
  const generation = gallery.generation;
  const worker = async () => {
    while (queue.length && generation === gallery.generation) {
      const { file, row } = queue.shift();
      await uploadOne(file, row);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_UPLOADS }, worker));
}

function uploadRow(file) {
  const row = document.createElement("li");
  row.innerHTML = `<span class="name"></span><progress max="100" value="0"></progress><span class="status"></span>`;
  row.querySelector(".name").textContent = file.name;
  $("#uploads").prepend(row);
  showStatus(row, "waiting");
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

async function uploadOne(file, row) {
  try {
    showStatus(row, "uploading");
    const ticket = await call("POST", "/upload", { content_type: await contentTypeOf(file),
      filename: file.name, size: file.size });
    row.dataset.imageId = ticket.image_id;
    await postForm(ticket.upload, file, (fraction) => { row.querySelector("progress").value = fraction * 100; });
    row.querySelector("progress").value = 100;
    showStatus(row, "PENDING");
    const record = await followProcessing(ticket.image_id, (status) => showStatus(row, status));
    showStatus(row, record.status, record.reason || (record.error_id && `error id ${record.error_id}`));
    if (!row.isConnected) return;  // signed out meanwhile
    document.querySelector(`.tile[data-image-id="${record.image_id}"]`)?.remove();
    $("#gallery").prepend(tile(record));
    $("#empty-gallery").hidden = true;
  } catch (error) {
    showStatus(row, "FAILED", error.message);
  }
}

// Browsers often give a HEIC or AVIF no type (file.type is "" where the system does not know the extension, or the
// file has none): then the file's first bytes say what it is, as the CLI reads them.
const FTYP_BRANDS = {
  heic: "image/heic", heix: "image/heic", heim: "image/heic", heis: "image/heic", hevc: "image/heic", hevx: "image/heic",
  mif1: "image/heif", msf1: "image/heif", avif: "image/avif", avis: "image/avif",
};
const MAGIC = [
  [[0xff, 0xd8, 0xff], "image/jpeg"], [[0x89, 0x50, 0x4e, 0x47], "image/png"], [[0x47, 0x49, 0x46, 0x38], "image/gif"],
  [[0x49, 0x49, 0x2a, 0x00], "image/tiff"], [[0x4d, 0x4d, 0x00, 0x2a], "image/tiff"],
  [[0x49, 0x49, 0x2b, 0x00], "image/tiff"], [[0x4d, 0x4d, 0x00, 0x2b], "image/tiff"],
];

async function contentTypeOf(file) {
  if (file.type.startsWith("image/")) return file.type;
  const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
  const text = (from, to) => String.fromCharCode(...head.slice(from, to));
  if (text(4, 8) === "ftyp" && FTYP_BRANDS[text(8, 12)]) return FTYP_BRANDS[text(8, 12)];
  if (text(0, 4) === "RIFF" && text(8, 12) === "WEBP") return "image/webp";
  const known = MAGIC.find(([bytes]) => bytes.every((byte, index) => head[index] === byte));
  return known ? known[1] : file.type || "application/octet-stream";
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
    request.addEventListener("error", () => reject(new Error(`The storage is not reachable at ${new URL(form.url).origin}.`)));
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

// ---- gallery: tiles with a blurhash placeholder, then the thumbnail; rejected ones say why ----
async function loadGallery() {
  const generation = gallery.generation;
  const cursor = gallery.cursor ? `&cursor=${encodeURIComponent(gallery.cursor)}` : "";
  const page = await call("GET", `/images?limit=${PAGE_SIZE}${cursor}`);
  if (generation !== gallery.generation) return;  // another user signed in meanwhile
  for (const item of page.items) {
    if (!document.querySelector(`.tile[data-image-id="${item.image_id}"]`)) $("#gallery").append(tile(item));
  }
  gallery.cursor = page.next_cursor;
  $("#more").hidden = !gallery.cursor;
  $("#empty-gallery").hidden = $("#gallery").children.length > 0;
}
$("#more").addEventListener("click", () => loadGallery().catch((error) => notify(error.message, "error")));

function tile(item) {
  const element = document.createElement("figure");
  element.className = "tile";
  element.tabIndex = 0;
  element.dataset.imageId = item.image_id;
  element.dataset.status = item.status;
  element.title = item.filename || item.image_id;
  element.item = item;
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
    tileImageUrl(item).then((url) => { image.src = url; })
      .catch((error) => { if (error.status === 404) element.remove(); });
  } else {
    const badge = document.createElement("span");
    badge.className = `badge status-${item.status}`;
    badge.textContent = item.status;
    const name = document.createElement("p");
    name.className = "tile-name";
    name.textContent = item.filename || "";
    element.append(badge, name);
    if (item.status === "REJECTED" || item.status === "FAILED") showTileReason(element, item);
  }
  element.addEventListener("click", () => openViewer(element));
  element.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();  // else the same key press also "clicks" the viewer's focused Close button
    openViewer(element);
  });
  return element;
}

// format=auto answers by the Accept header, but fetch() sends "*/*", which names no image format: the page says which
// formats this browser decodes, found by decoding a 1x1 image of each (the API then links AVIF, else WebP, else JPEG).
const FORMAT_PROBES = {
  "image/avif": "data:image/avif;base64,AAAAIGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZk1BMUIAAADrbWV0YQAAAAAAAAAhaGRscgAAAAAAAAAAcGljdAAAAAAAAAAAAAAAAAAAAAAOcGl0bQAAAAAAAQAAAB5pbG9jAAAAAEQAAAEAAQAAAAEAAAETAAAAIgAAAChpaW5mAAAAAAABAAAAGmluZmUCAAAAAAEAAGF2MDFDb2xvcgAAAABqaXBycAAAAEtpcGNvAAAAFGlzcGUAAAAAAAAAAQAAAAEAAAAQcGl4aQAAAAADCAgIAAAADGF2MUOBAAwAAAAAE2NvbHJuY2x4AAEADQAGgAAAABdpcG1hAAAAAAAAAAEAAQQBAoMEAAAAKm1kYXQSAAoIGAAGiAhoNCAyFBlHh4Yhh5555oJAAJBBGex24O9g",
  "image/webp": "data:image/webp;base64,UklGRiQAAABXRUJQVlA4IBgAAAAwAQCdASoBAAEAAsBMJaQAA3AA/veMAAA=",
};
const imageAccept = Promise.all(Object.entries(FORMAT_PROBES).map(async ([type, source]) => {
  const probe = new Image();
  probe.src = source;
  return probe.decode().then(() => type, () => null);
})).then((types) => [...types.filter(Boolean), "image/jpeg"].join(","));

async function renditionLink(imageId, size, format = "auto") {
  const headers = format === "auto" ? { Accept: await imageAccept } : {};
  return call("GET", `/image/${imageId}?size=${size}&format=${format}`, undefined, true, headers);
}

// The smallest rendition that stays sharp in a tile: the listing's thumbnail (150 px, JPEG; its URL comes with the
// list, so no request) unless the grid's columns, in device pixels, are wider; then "small" (320 px, in the best
// format this browser decodes), or the thumbnail where a deployment has no "small". Either URL is the same on every
// visit within its window (CloudFront signed URLs), so the browser's cache serves it again.
async function tileImageUrl(item) {
  const columnWidth = parseFloat(getComputedStyle($("#gallery")).gridTemplateColumns) || 150;
  if (columnWidth * devicePixelRatio > 160) {
    try {
      return (await renditionLink(item.image_id, "small")).url;
    } catch (error) {
      if (error.status !== 400) throw error;
    }
  }
  return item.thumbnail_url || (await renditionLink(item.image_id, "thumb")).url;
}

// The list holds no reason; the image's own record does, so a rejected tile asks for it.
async function showTileReason(element, item) {
  const reason = document.createElement("p");
  reason.className = "tile-reason";
  element.append(reason);
  const record = item.reason || item.error_id ? item : await call("GET", `/image/${item.image_id}`).catch(() => null);
  if (!record) return;
  element.item = { ...item, ...record };
  reason.textContent = whyNotReady(record);
  element.title = `${item.filename || item.image_id}: ${reason.textContent}`;  // the whole reason, where the tile cuts it
}

function whyNotReady(record) {
  if (record.status === "REJECTED") return record.reason || "Rejected (no reason given).";
  if (record.status === "FAILED") return `Processing failed${record.error_id ? ` (error id ${record.error_id})` : ""}.`;
  return `Still ${record.status.toLowerCase()}.`;
}

// ---- viewer: the chosen size and format, download, delete (confirmed), ← → between images, Esc closes ----
// `choice` counts the size/format choices: a slow answer to an earlier one must not paint over a later one.
const viewer = { tile: null, record: null, link: null, choice: 0 };
const SIZE_FALLBACK = ["thumb", "small", "medium", "large"];

async function openViewer(tileElement) {
  viewer.tile = tileElement;
  viewer.record = null;
  viewer.link = null;
  const item = tileElement.item;
  const tiles = [...document.querySelectorAll("#gallery .tile")];
  $("#viewer-previous").disabled = tiles.indexOf(tileElement) <= 0;
  $("#viewer-next").disabled = tiles.indexOf(tileElement) >= tiles.length - 1;
  $("#viewer-title").textContent = item.filename || item.image_id;
  $("#viewer-caption").textContent = "";
  $("#viewer-image").removeAttribute("src");
  $("#viewer-image").hidden = true;
  $("#viewer-details").hidden = true;
  $("#viewer-confirm").hidden = true;
  show($("#viewer-message"), "Loading…", "info");
  if (!$("#viewer").open) $("#viewer").showModal();
  try {
    const record = await call("GET", `/image/${item.image_id}`);
    if (viewer.tile !== tileElement) return;  // the user moved on meanwhile
    viewer.record = record;
    const ready = record.status === "READY";
    $("#viewer-size-choice").hidden = $("#viewer-format-choice").hidden = $("#viewer-download").hidden = !ready;
    if (ready) {
      fillSizes(record);
      await showRendition();
    } else {
      $("#viewer-details").hidden = false;
      $("#viewer-details").textContent = `${record.status}: ${whyNotReady(record)}`;
      show($("#viewer-message"), "");
    }
  } catch (error) {
    gone(error, tileElement) || show($("#viewer-message"), error.message, "error");
  }
}

function fillSizes(record) {
  const renditions = record.renditions || {};
  const names = Object.keys(renditions).length ? Object.keys(renditions) : SIZE_FALLBACK;
  names.sort((a, b) => (renditions[a]?.width || 0) - (renditions[b]?.width || 0));
  const select = $("#viewer-size");
  const previous = select.value;
  select.replaceChildren(...names.map((name) => {
    const size = renditions[name];
    const option = new Option(size ? `${name} (${size.width}×${size.height})` : name, name);
    return option;
  }));
  select.value = names.includes(previous) ? previous : names.includes("large") ? "large" : names.at(-1);
}

// Only the formats this size exists in can be chosen (every format, when the record does not say).
function offerFormats(record, size) {
  const formats = record.renditions?.[size]?.formats;
  const select = $("#viewer-format");
  for (const option of select.options) {
    option.disabled = option.value !== "auto" && Boolean(formats) && !(option.value in formats);
  }
  if (select.selectedOptions[0]?.disabled) select.value = [...select.options].find((option) => !option.disabled)?.value;
}

async function showRendition() {
  const { record } = viewer;
  if (!record) return;
  const size = $("#viewer-size").value;
  offerFormats(record, size);
  const format = $("#viewer-format").value;
  const choice = ++viewer.choice;
  show($("#viewer-message"), "Loading…", "info");
  const link = await renditionLink(record.image_id, size, format);
  if (viewer.record !== record || viewer.choice !== choice) return;
  viewer.link = link;
  const image = $("#viewer-image");
  image.alt = record.filename || "image";
  image.src = link.url;
  image.hidden = false;
  $("#viewer-caption").textContent = `${link.width}×${link.height} · ${link.format.toUpperCase()} · ${formatBytes(link.bytes)}`;
  show($("#viewer-message"), "");
}

function formatBytes(bytes) {
  if (!bytes && bytes !== 0) return "";
  return bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const whenChosen = () => showRendition().catch((error) => gone(error, viewer.tile) || show($("#viewer-message"), error.message, "error"));
$("#viewer-size").addEventListener("change", whenChosen);
$("#viewer-format").addEventListener("change", whenChosen);

// A 404 means the image was deleted elsewhere (another tab, the CLI): say so and drop its tile.
function gone(error, tileElement) {
  if (error.status !== 404) return false;
  const name = tileElement?.item?.filename || "This image";
  tileElement?.remove();
  if ($("#viewer").open) $("#viewer").close();
  notify(`${name} no longer exists (it was deleted elsewhere).`, "info");
  return true;
}

$("#viewer-download").addEventListener("click", async () => {
  const { record, link } = viewer;
  if (!record || !link) return;
  const base = (record.filename || record.image_id).replace(/\.[^.]+$/, "");
  const name = `${base}-${link.size}.${link.format === "jpeg" ? "jpg" : link.format}`;
  try {
    // Through a blob, so the file gets its name: `download` is ignored on another origin's URL.
    const answer = await fetch(link.url);
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    const objectUrl = URL.createObjectURL(await answer.blob());
    const anchor = Object.assign(document.createElement("a"), { href: objectUrl, download: name });
    anchor.click();
    setTimeout(() => URL.revokeObjectURL(objectUrl), 10_000);
  } catch {
    window.open(link.url, "_blank", "noopener");  // storage without CORS: open it, the browser can save it
  }
});

$("#viewer-delete").addEventListener("click", () => {
  $("#viewer-confirm").hidden = false;
  $("#viewer-cancel-delete").focus();  // the safe choice has the focus
});
$("#viewer-cancel-delete").addEventListener("click", () => { $("#viewer-confirm").hidden = true; });
$("#viewer-confirm-delete").addEventListener("click", async () => {
  const tileElement = viewer.tile;
  if (!tileElement) return;
  const name = tileElement.item.filename || "The image";
  try {
    await call("DELETE", `/image/${tileElement.dataset.imageId}`);
    tileElement.remove();
    $("#viewer").close();
    notify(`${name} was deleted.`, "success");
  } catch (error) {
    gone(error, tileElement) || show($("#viewer-message"), error.message, "error");
  }
  $("#empty-gallery").hidden = $("#gallery").children.length > 0;
});

function step(offset) {
  const tiles = [...document.querySelectorAll("#gallery .tile")];
  const next = tiles[tiles.indexOf(viewer.tile) + offset];
  if (next) openViewer(next);
}
$("#viewer-previous").addEventListener("click", () => step(-1));
$("#viewer-next").addEventListener("click", () => step(1));
$("#viewer-close").addEventListener("click", () => $("#viewer").close());
$("#viewer").addEventListener("keydown", (event) => {
  if (event.target.tagName === "SELECT") return;  // arrows there change the choice
  if (event.key === "ArrowLeft") step(-1);
  if (event.key === "ArrowRight") step(1);
});  // Escape: the dialog closes itself
$("#viewer").addEventListener("close", () => {
  viewer.tile?.focus();  // back where the user was in the grid
  viewer.tile = viewer.record = viewer.link = null;
});

if (session.load()) signedIn(); else signedOut();
