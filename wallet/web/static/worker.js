// The wallet's engine runs here, off the page's thread: the Go holder
// library compiled to WebAssembly (yinzheng.wasm), over an in-memory file
// system (memfs.js) that this worker persists to IndexedDB after every
// call. A proof takes seconds; the page stays responsive meanwhile.
"use strict";

importScripts("memfs.js", "wasm_exec.js");

const DB = "yinzheng-wallet", STORE = "files", PREFIX = "/wallet";

function db() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function restore() {
  const d = await db();
  const files = await new Promise((resolve, reject) => {
    const out = [];
    const tx = d.transaction(STORE, "readonly");
    const req = tx.objectStore(STORE).openCursor();
    req.onsuccess = () => {
      const c = req.result;
      if (c) { out.push([c.key, c.value]); c.continue(); } else resolve(out);
    };
    req.onerror = () => reject(req.error);
  });
  memfs.load(files);
  return files.length;
}

async function persist() {
  const changes = memfs.takeDirty(PREFIX);
  if (changes.length === 0) return;
  const d = await db();
  await new Promise((resolve, reject) => {
    const tx = d.transaction(STORE, "readwrite");
    const st = tx.objectStore(STORE);
    for (const [path, data] of changes) {
      if (data === null) st.delete(path); else st.put(data, path);
    }
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
}

let ready;
const started = performance.now();
const readyPromise = new Promise((resolve) => { ready = resolve; });
globalThis.yinzhengReady = () => ready();
globalThis.yinzhengProgress = (stage) => postMessage({ progress: stage });

(async () => {
  try {
    const stored = await restore();
    postMessage({ progress: "loading the wallet engine" });
    const go = new Go();
    const res = await WebAssembly.instantiateStreaming(fetch("yinzheng.wasm"), go.importObject);
    go.run(res.instance);
    await readyPromise;
    postMessage({ ready: true, stored, ms: performance.now() - started });
  } catch (e) {
    postMessage({ ready: false, error: String(e && e.message || e) });
  }
})();

onmessage = async (ev) => {
  const { id, op, args } = ev.data;
  await readyPromise;
  const start = performance.now();
  try {
    const fn = globalThis.yinzheng[op];
    if (!fn) throw new Error("unknown operation " + op);
    const out = JSON.parse(await fn(...(args || [])));
    await persist();
    postMessage({ id, ok: true, value: out, ms: performance.now() - start });
  } catch (e) {
    await persist().catch(() => {});
    postMessage({ id, ok: false, error: String(e && e.message || e), ms: performance.now() - start });
  }
};
