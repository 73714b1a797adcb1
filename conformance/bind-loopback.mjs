// Preloaded into the conformance CLI by run.sh (`node --import <this file>`).
//
// @modelcontextprotocol/conformance starts its scenario servers with
// `app.listen(0)` / `server.listen(0, cb)`, i.e. on every interface, and has
// no option or environment variable to choose the bind address. This module
// patches net.Server.prototype.listen so that a listen call that names no
// host (and no unix socket path / handle / fd) binds to CONFORMANCE_BIND_HOST
// (default 127.0.0.1). The suite advertises its servers as
// http://localhost:<port>, which resolves to 127.0.0.1 here.
//
// The suite reads `server.address().port` synchronously right after
// `listen(0)`. Node's own listen(port, host) resolves the host asynchronously
// (address() would still be null), so for an IPv4 literal we bind a TCP
// handle synchronously and listen on that handle instead. Anything we cannot
// handle that way falls back to listen(port, host).
import net from 'node:net';

const host = process.env.CONFORMANCE_BIND_HOST || '127.0.0.1';
const originalListen = net.Server.prototype.listen;

let TCP;
let TCPConstants;
try {
  ({ TCP, constants: TCPConstants } = process.binding('tcp_wrap'));
} catch {
  TCP = undefined;
}

function isPort(v) {
  return typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v));
}

function emptyHost(h) {
  return h === undefined || h === null || h === '';
}

// listen on `host:port`; `rest` are the remaining listen() arguments
// (backlog and/or callback).
function listenOnHost(server, port, rest) {
  if (TCP && net.isIPv4(host)) {
    const handle = new TCP(TCPConstants.SERVER);
    const err = handle.bind(host, Number(port));
    if (err === 0) {
      return originalListen.call(server, handle, ...rest);
    }
    handle.close();
  }
  return originalListen.call(server, Number(port), host, ...rest);
}

net.Server.prototype.listen = function listen(...args) {
  const first = args[0];
  if (args.length === 0 || typeof first === 'function') {
    // listen() / listen(cb): random port on all interfaces.
    return listenOnHost(this, 0, args);
  }
  if (isPort(first)) {
    // listen(port[, host][, backlog][, cb])
    const second = args[1];
    if (args.length === 1 || typeof second === 'function' || typeof second === 'number') {
      return listenOnHost(this, first, args.slice(1));
    }
    if (emptyHost(second)) {
      return listenOnHost(this, first, args.slice(2));
    }
    return originalListen.apply(this, args);
  }
  if (first && typeof first === 'object' && !Array.isArray(first) && !(TCP && first instanceof TCP)) {
    // listen(options[, cb]); leave handles, fds and unix socket paths alone.
    const plain = !('_handle' in first) && !('handle' in first) && !('fd' in first) && first.path === undefined;
    if (plain && emptyHost(first.host) && !first.ipv6Only) {
      const rest = [];
      if (first.backlog !== undefined) rest.push(first.backlog);
      rest.push(...args.slice(1));
      return listenOnHost(this, first.port ?? 0, rest);
    }
  }
  return originalListen.apply(this, args);
};
