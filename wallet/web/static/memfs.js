// memfs: the file system Go's js/wasm port calls (the callback API of
// Node's fs module, the subset syscall/fs_js.go uses), kept in memory and
// persisted to IndexedDB by the worker. The wallet's files are sealed
// already (wallet.key under the passphrase, wallet.sealed under the data
// key); the circuit cache is public. Paths are absolute and normalised.
"use strict";

(() => {
  const S_IFDIR = 0o040000, S_IFREG = 0o100000;
  const consts = { O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_CREAT: 64, O_EXCL: 128, O_TRUNC: 512, O_APPEND: 1024, O_DIRECTORY: 65536 };
  const nodes = new Map(); // path -> {dir, data, mode, mtime}
  const fds = new Map();   // fd -> {path, pos, flags}
  let nextFd = 100;
  const dirty = new Set(); // paths changed (written, renamed, removed) since the last persist
  nodes.set("/", { dir: true, mode: 0o755, mtime: Date.now() });

  const err = (code) => { const e = new Error(code); e.code = code; return e; };
  const norm = (p) => {
    const out = [];
    for (const part of String(p).split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") out.pop(); else out.push(part);
    }
    return "/" + out.join("/");
  };
  const parent = (p) => p === "/" ? "/" : (p.slice(0, p.lastIndexOf("/")) || "/");
  const stat = (n) => ({
    dev: 1, ino: 1, mode: (n.dir ? S_IFDIR : S_IFREG) | n.mode, nlink: 1, uid: 0, gid: 0, rdev: 0,
    size: n.dir ? 0 : n.data.length, blksize: 4096, blocks: n.dir ? 0 : Math.ceil(n.data.length / 512),
    atimeMs: n.mtime, mtimeMs: n.mtime, ctimeMs: n.mtime, isDirectory: () => !!n.dir,
  });
  const console_ = { 1: "", 2: "" };
  const decoder = new TextDecoder("utf-8");
  const grow = (n, size) => {
    if (n.data.length >= size) return;
    let cap = n.data.buffer.byteLength;
    if (cap < size) {
      const b = new Uint8Array(Math.max(size, cap * 2));
      b.set(n.data);
      n.data = b.subarray(0, size);
    } else {
      n.data = new Uint8Array(n.data.buffer, 0, size);
    }
  };

  const fs = {
    constants: consts,
    writeSync(fd, buf) {
      if (fd === 1 || fd === 2) {
        console_[fd] += decoder.decode(buf);
        const nl = console_[fd].lastIndexOf("\n");
        if (nl !== -1) { console.log(console_[fd].slice(0, nl)); console_[fd] = console_[fd].slice(nl + 1); }
        return buf.length;
      }
      throw err("EBADF");
    },
    write(fd, buf, offset, length, position, cb) {
      if (fd === 1 || fd === 2) { cb(null, this.writeSync(fd, buf.subarray(offset, offset + length))); return; }
      const f = fds.get(fd);
      if (!f) { cb(err("EBADF")); return; }
      const n = nodes.get(f.path);
      let pos = position === null || position === undefined ? f.pos : position;
      if (f.flags & consts.O_APPEND) pos = n.data.length;
      grow(n, pos + length);
      n.data.set(buf.subarray(offset, offset + length), pos);
      if (position === null || position === undefined) f.pos = pos + length;
      n.mtime = Date.now();
      dirty.add(f.path);
      cb(null, length);
    },
    read(fd, buf, offset, length, position, cb) {
      const f = fds.get(fd);
      if (!f) { cb(err("EBADF")); return; }
      const n = nodes.get(f.path);
      if (!n || n.dir) { cb(err("EISDIR")); return; }
      const pos = position === null || position === undefined ? f.pos : position;
      const end = Math.min(n.data.length, pos + length);
      const k = Math.max(0, end - pos);
      buf.set(n.data.subarray(pos, pos + k), offset);
      if (position === null || position === undefined) f.pos = pos + k;
      cb(null, k);
    },
    open(path, flags, mode, cb) {
      path = norm(path);
      let n = nodes.get(path);
      if (n && (flags & consts.O_CREAT) && (flags & consts.O_EXCL)) { cb(err("EEXIST")); return; }
      if (!n) {
        if (!(flags & consts.O_CREAT)) { cb(err("ENOENT")); return; }
        const p = nodes.get(parent(path));
        if (!p || !p.dir) { cb(err("ENOENT")); return; }
        n = { dir: false, data: new Uint8Array(0), mode: mode & 0o777, mtime: Date.now() };
        nodes.set(path, n);
        dirty.add(path);
      } else if (!n.dir && (flags & consts.O_TRUNC)) {
        n.data = new Uint8Array(0);
        dirty.add(path);
      }
      const fd = nextFd++;
      fds.set(fd, { path, pos: 0, flags });
      cb(null, fd);
    },
    close(fd, cb) { fds.delete(fd); cb(null); },
    fsync(fd, cb) { cb(null); },
    fstat(fd, cb) {
      const f = fds.get(fd);
      const n = f && nodes.get(f.path);
      if (!n) { cb(err("EBADF")); return; }
      cb(null, stat(n));
    },
    stat(path, cb) {
      const n = nodes.get(norm(path));
      if (!n) { cb(err("ENOENT")); return; }
      cb(null, stat(n));
    },
    lstat(path, cb) { this.stat(path, cb); },
    readdir(path, cb) {
      path = norm(path);
      const n = nodes.get(path);
      if (!n) { cb(err("ENOENT")); return; }
      if (!n.dir) { cb(err("ENOTDIR")); return; }
      const prefix = path === "/" ? "/" : path + "/";
      const names = [];
      for (const k of nodes.keys()) {
        if (k !== path && k.startsWith(prefix) && !k.slice(prefix.length).includes("/")) names.push(k.slice(prefix.length));
      }
      cb(null, names.sort());
    },
    mkdir(path, perm, cb) {
      path = norm(path);
      if (nodes.has(path)) { cb(err("EEXIST")); return; }
      const p = nodes.get(parent(path));
      if (!p || !p.dir) { cb(err("ENOENT")); return; }
      nodes.set(path, { dir: true, mode: perm & 0o777, mtime: Date.now() });
      cb(null);
    },
    rename(from, to, cb) {
      from = norm(from); to = norm(to);
      const n = nodes.get(from);
      if (!n) { cb(err("ENOENT")); return; }
      const p = nodes.get(parent(to));
      if (!p || !p.dir) { cb(err("ENOENT")); return; }
      const moves = [[from, to]];
      if (n.dir) for (const k of nodes.keys()) if (k.startsWith(from + "/")) moves.push([k, to + k.slice(from.length)]);
      for (const [a, b] of moves) { nodes.set(b, nodes.get(a)); nodes.delete(a); dirty.add(a); dirty.add(b); }
      cb(null);
    },
    unlink(path, cb) {
      path = norm(path);
      const n = nodes.get(path);
      if (!n) { cb(err("ENOENT")); return; }
      if (n.dir) { cb(err("EISDIR")); return; }
      nodes.delete(path); dirty.add(path);
      cb(null);
    },
    rmdir(path, cb) {
      path = norm(path);
      const n = nodes.get(path);
      if (!n) { cb(err("ENOENT")); return; }
      for (const k of nodes.keys()) if (k.startsWith(path + "/")) { cb(err("ENOTEMPTY")); return; }
      nodes.delete(path);
      cb(null);
    },
    chmod(path, mode, cb) { const n = nodes.get(norm(path)); if (!n) { cb(err("ENOENT")); return; } n.mode = mode & 0o777; cb(null); },
    fchmod(fd, mode, cb) { const f = fds.get(fd); const n = f && nodes.get(f.path); if (n) n.mode = mode & 0o777; cb(null); },
    chown(path, uid, gid, cb) { cb(null); },
    fchown(fd, uid, gid, cb) { cb(null); },
    lchown(path, uid, gid, cb) { cb(null); },
    utimes(path, atime, mtime, cb) { cb(null); },
    truncate(path, length, cb) { const n = nodes.get(norm(path)); if (!n) { cb(err("ENOENT")); return; } n.data = n.data.slice(0, length); dirty.add(norm(path)); cb(null); },
    ftruncate(fd, length, cb) { const f = fds.get(fd); const n = f && nodes.get(f.path); if (!n) { cb(err("EBADF")); return; } n.data = n.data.slice(0, length); dirty.add(f.path); cb(null); },
    readlink(path, cb) { cb(err("EINVAL")); },
    link(path, link, cb) { cb(err("ENOSYS")); },
    symlink(path, link, cb) { cb(err("ENOSYS")); },
  };

  // The worker's persistence hooks.
  globalThis.memfs = {
    // load puts stored files back (a Map of path -> Uint8Array), creating
    // their directories.
    load(files) {
      for (const [path, data] of files) {
        const parts = path.split("/").filter(Boolean);
        for (let i = 1; i < parts.length; i++) {
          const d = "/" + parts.slice(0, i).join("/");
          if (!nodes.has(d)) nodes.set(d, { dir: true, mode: 0o700, mtime: Date.now() });
        }
        nodes.set(path, { dir: false, data: new Uint8Array(data), mode: 0o600, mtime: Date.now() });
      }
    },
    // takeDirty returns the changed files under prefix: [path, bytes or null
    // when removed], and forgets them. Temporary files are skipped.
    takeDirty(prefix) {
      const out = [];
      for (const p of dirty) {
        if (!p.startsWith(prefix) || p.includes(".tmp")) { if (p.includes(".tmp")) dirty.delete(p); continue; }
        const n = nodes.get(p);
        out.push([p, n && !n.dir ? n.data.slice() : null]);
        dirty.delete(p);
      }
      return out;
    },
  };
  globalThis.fs = fs;
})();
