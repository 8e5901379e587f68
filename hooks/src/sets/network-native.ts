import { base64, toBytes } from '../bytes.ts';
import type { AgentContext } from '../context.ts';
import type { ModuleLike, NativePointerLike } from '../frida.ts';

const AF_INET = 2;
const AF_INET6 = 10;
const TLS_LIBRARIES = [
  'libssl.so',
  'libconscrypt_jni.so',
  'libconscrypt_openjdk_jni.so',
  'libjavacrypto.so',
];

/** A sockaddr as IP and port; undefined for Unix sockets and anything not IP. */
export function parseSockaddr(
  address: NativePointerLike,
): { ip: string; port: number } | undefined {
  const family = address.readU16();
  const portBytes = new Uint8Array(address.add(2).readByteArray(2) ?? new ArrayBuffer(2));
  const port = ((portBytes[0] ?? 0) << 8) | (portBytes[1] ?? 0);
  if (family === AF_INET) {
    const ip = Array.from(
      new Uint8Array(address.add(4).readByteArray(4) ?? new ArrayBuffer(4)),
    ).join('.');
    return { ip, port };
  }
  if (family === AF_INET6) {
    const raw = new Uint8Array(address.add(8).readByteArray(16) ?? new ArrayBuffer(16));
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2)
      groups.push((((raw[i] ?? 0) << 8) | (raw[i + 1] ?? 0)).toString(16));
    return { ip: groups.join(':'), port };
  }
  return undefined;
}

/**
 * Native network: connect/send/sendto/write on IP sockets (fd → peer address through Frida's
 * Socket API), getaddrinfo, and the plaintext side of BoringSSL/Conscrypt — which also holds
 * for pinned connections the proxy cannot open.
 */
export function installNativeNetworkHooks(context: AgentContext): void {
  const { rt } = context;
  const libc = rt.Process.findModuleByName('libc.so');
  if (!libc) return;
  const attach = (
    module: ModuleLike,
    symbol: string,
    callbacks: Parameters<typeof rt.Interceptor.attach>[1],
  ) => {
    const address = module.findExportByName(symbol);
    if (address) rt.Interceptor.attach(address, callbacks);
  };
  const peerOf = (fd: number): { ip: string; port: number } | undefined => {
    const type = rt.Socket.type(fd);
    if (type !== 'tcp' && type !== 'tcp6' && type !== 'udp' && type !== 'udp6') return undefined;
    const peer = rt.Socket.peerAddress(fd);
    return peer?.ip !== undefined && peer.port !== undefined
      ? { ip: peer.ip, port: peer.port }
      : undefined;
  };
  const sent = (ip: string, port: number, buffer: NativePointerLike, length: number): void => {
    if (length <= 0) return;
    const bytes = buffer.readByteArray(Math.min(length, 64 * 1024));
    if (bytes) context.emit({ type: 'net.send', ip, port, data: base64(toBytes(bytes)) });
  };

  attach(libc, 'connect', {
    onEnter(args) {
      const peer = parseSockaddr(args[1]!);
      if (peer) context.emit({ type: 'net.connect', ip: peer.ip, port: peer.port });
    },
  });
  for (const symbol of ['send', 'write']) {
    attach(libc, symbol, {
      onEnter(args) {
        const peer = peerOf(args[0]!.toInt32());
        if (peer) sent(peer.ip, peer.port, args[1]!, args[2]!.toInt32());
      },
    });
  }
  attach(libc, 'sendto', {
    onEnter(args) {
      const target = args[4]!.isNull() ? peerOf(args[0]!.toInt32()) : parseSockaddr(args[4]!);
      if (target) sent(target.ip, target.port, args[1]!, args[2]!.toInt32());
    },
  });
  attach(libc, 'getaddrinfo', {
    onEnter(args) {
      const name = args[0]!.isNull() ? null : args[0]!.readUtf8String();
      if (name) context.emit({ type: 'dns.query', name });
    },
  });

  const hooked = new Set<string>();
  const hookTls = (module: ModuleLike): void => {
    if (!TLS_LIBRARIES.includes(module.name) || hooked.has(module.name)) return;
    hooked.add(module.name);
    const getFd = module.findExportByName('SSL_get_fd');
    const getName = module.findExportByName('SSL_get_servername');
    const fdOf = getFd ? new rt.NativeFunction(getFd, 'int', ['pointer']) : undefined;
    const nameOf = getName
      ? new rt.NativeFunction(getName, 'pointer', ['pointer', 'int'])
      : undefined;
    const endpoint = (ssl: NativePointerLike): { host?: string; ip?: string; port?: number } => {
      const name = nameOf?.(ssl, 0) as NativePointerLike | undefined;
      const host = name && !name.isNull() ? (name.readUtf8String() ?? undefined) : undefined;
      const peer = fdOf ? peerOf(Number(fdOf(ssl))) : undefined;
      return { ...(host ? { host } : {}), ...(peer ?? {}) };
    };
    attach(module, 'SSL_write', {
      onEnter(args) {
        const length = args[2]!.toInt32();
        const bytes = length > 0 ? args[1]!.readByteArray(Math.min(length, 64 * 1024)) : null;
        if (bytes)
          context.emit({ type: 'tls.write', ...endpoint(args[0]!), data: base64(toBytes(bytes)) });
      },
    });
    attach(module, 'SSL_read', {
      onEnter(args) {
        this['ssl'] = args[0];
        this['buffer'] = args[1];
      },
      onLeave(retval) {
        const length = retval.toInt32();
        const buffer = this['buffer'] as NativePointerLike;
        const bytes = length > 0 ? buffer.readByteArray(length) : null;
        const host = endpoint(this['ssl'] as NativePointerLike).host;
        if (bytes)
          context.emit({
            type: 'tls.read',
            ...(host ? { host } : {}),
            data: base64(toBytes(bytes)),
          });
      },
    });
  };
  for (const name of TLS_LIBRARIES) {
    const module = rt.Process.findModuleByName(name);
    if (module) hookTls(module);
  }
  // Apps load their TLS library late; hook it the moment it maps.
  rt.Process.attachModuleObserver?.({ onAdded: hookTls });
}
