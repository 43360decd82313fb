// The page: forms and text, nothing else. Every decision (what a request
// reveals, whether to answer it, the proof) is the holder library's, run
// by worker.js; the page shows its words, including its refusals.
"use strict";

const $ = (id) => document.getElementById(id);
const worker = new Worker("worker.js");
const pending = new Map();
let nextId = 1;
let timings = { proofs: [] };
globalThis.yinzhengTimings = timings;

function call(op, ...args) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, op, args });
  });
}

function show(id, on) { $(id).hidden = !on; }
function error(msg) { $("error").textContent = msg; show("error", !!msg); }

let clockTimer = null;
function progress(stage) {
  if (stage === null) {
    clearInterval(clockTimer); clockTimer = null; show("progress", false); return;
  }
  $("progress-stage").textContent = stage;
  if (!clockTimer) {
    const t0 = performance.now();
    show("progress", true);
    // The clock ticks on the page's thread: it keeps ticking while the
    // worker proves, which is the point of the worker.
    clockTimer = setInterval(() => { $("progress-clock").textContent = ((performance.now() - t0) / 1000).toFixed(1) + " s"; }, 100);
  }
}

worker.onmessage = (ev) => {
  const m = ev.data;
  if (m.progress) { if (clockTimer) $("progress-stage").textContent = m.progress; else $("status").textContent = m.progress + "…"; return; }
  if (m.ready !== undefined) {
    if (!m.ready) { error("The wallet engine did not start: " + m.error); return; }
    timings.engineMs = m.ms;
    start();
    return;
  }
  const p = pending.get(m.id);
  if (!p) return;
  pending.delete(m.id);
  if (m.ok) p.resolve(m.value); else p.reject(new Error(m.error));
};

async function busy(button, fn) {
  error("");
  const buttons = document.querySelectorAll("button");
  buttons.forEach((b) => (b.disabled = true));
  try { await fn(); } catch (e) { error(e.message); } finally { buttons.forEach((b) => (b.disabled = false)); }
}

async function start() {
  const { exists } = await call("exists");
  $("status").textContent = exists ? "Wallet locked." : "No wallet in this browser yet.";
  show("create-section", !exists);
  show("unlock-section", exists);
}

async function refreshCredentials() {
  const list = await call("credentials");
  const ul = $("credentials");
  ul.textContent = "";
  for (const c of list || []) {
    const li = document.createElement("li");
    li.textContent = `${c.issuer} · serial ${c.serial} · epoch ${c.epoch} · ${c.sd_jwt_copies_left} SD-JWT copies left` + (c.revoked ? " · REVOKED" : "") + (c.pending ? " · pending" : "");
    ul.appendChild(li);
  }
  if (!list || list.length === 0) ul.innerHTML = "<li class=muted>none yet</li>";
}

async function refreshRegistrars() {
  const list = await call("registrars");
  const ul = $("registrars");
  ul.textContent = "";
  for (const r of list || []) {
    const li = document.createElement("li");
    li.textContent = `${r.name} · SHA-256 ${r.sha256}`;
    ul.appendChild(li);
  }
  if (!list || list.length === 0) ul.innerHTML = "<li class=muted>none: the wallet answers no platform yet</li>";
}

function unlocked(commitment) {
  $("status").textContent = "Wallet open.";
  show("create-section", false); show("unlock-section", false); show("wallet-section", true);
  refreshCredentials().catch((e) => error(e.message));
  refreshRegistrars().catch((e) => error(e.message));
  takeFragment();
}

// A request handed over by the link that opened the page:
// …/#request=<the openid4vp:// link, URL-encoded>.
function takeFragment() {
  const h = location.hash.slice(1);
  if (!h) return;
  const q = new URLSearchParams(h);
  const given = q.get("request") || "";
  if (given) { $("request-input").value = given; history.replaceState(null, "", location.pathname); $("open").click(); }
}

$("create").onclick = () => busy($("create"), async () => {
  const a = $("pass1").value, b = $("pass2").value;
  if (!a) throw new Error("Choose a passphrase.");
  if (a !== b) throw new Error("The two passphrases differ.");
  $("status").textContent = "Creating the wallet (sealing under your passphrase)…";
  const r = await call("create", a);
  $("pass1").value = $("pass2").value = "";
  $("phrase").textContent = r.phrase;
  show("create-section", false); show("phrase-section", true);
  $("status").textContent = "Wallet created.";
});

$("phrase-done").onclick = () => { $("phrase").textContent = ""; show("phrase-section", false); unlocked(); };

$("unlock").onclick = () => busy($("unlock"), async () => {
  $("status").textContent = "Unlocking…";
  const r = await call("unlock", $("unlock-pass").value);
  $("unlock-pass").value = "";
  timings.unlockMs = r.ms;
  unlocked(r.holder_commitment);
});

$("lock").onclick = () => busy($("lock"), async () => {
  await call("lock");
  show("wallet-section", false); show("consent-box", false); show("result", false);
  start();
});

$("holder-request-btn").onclick = () => busy($("holder-request-btn"), async () => {
  $("holder-request").value = JSON.stringify(await call("holderRequest"));
});

$("bundle-file").onchange = async () => {
  const f = $("bundle-file").files[0];
  if (f) $("bundle").value = await f.text();
};

$("import").onclick = () => busy($("import"), async () => {
  const info = await call("importBundle", $("bundle").value, $("issuer-url").value.trim());
  $("bundle").value = "";
  $("status").textContent = `Imported serial ${info.serial} from ${info.issuer}` + (info.pending ? " (pending: it proves once the issuer publishes its next epoch)" : "") + ".";
  await refreshCredentials();
});

$("trust-registrar").onclick = () => busy($("trust-registrar"), async () => {
  const list = await call("trustRegistrar", $("registrar-pem").value);
  $("registrar-pem").value = "";
  $("status").textContent = "Pinned registrar " + list.map((r) => `${r.name} (SHA-256 ${r.sha256})`).join(", ") + ".";
  await refreshRegistrars();
});

$("open").onclick = () => busy($("open"), async () => {
  show("result", false); show("consent-box", false);
  const o = await call("openRequest", $("request-input").value);
  $("consent").textContent = o.consent + `\nThe answer goes to ${o.response_uri}.`;
  show("consent-box", true);
});

$("decline").onclick = () => busy($("decline"), async () => {
  show("consent-box", false);
  await call("decline");
  $("status").textContent = "Declined: nothing was revealed, and the platform was told.";
});

$("approve").onclick = () => busy($("approve"), async () => {
  show("result", false);
  progress("proving");
  try {
    const a = await call("answer");
    timings.proofs.push(a.ms);
    progress("sending the answer");
    const r = await call("post");
    const res = $("result");
    res.className = "ok";
    // The verdict is the platform's: it continues at redirect_uri.
    res.textContent = `Sent to ${r.platform} (proof ${(a.ms / 1000).toFixed(2)} s).`;
    res.dataset.proveMs = a.ms;
    res.dataset.redirect = r.redirect_uri || "";
    $("status").textContent = "Wallet open.";
    if (r.redirect_uri) {
      const link = document.createElement("a");
      link.href = r.redirect_uri; link.textContent = " Continue at the platform.";
      link.rel = "noreferrer";
      res.appendChild(link);
    }
    show("result", true);
    show("consent-box", false);
  } finally {
    progress(null);
  }
  await refreshCredentials();
});
