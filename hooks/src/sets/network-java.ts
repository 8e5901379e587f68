import { base64, isByteArray, toBytes } from '../bytes.ts';
import type { AgentContext } from '../context.ts';
import type { JavaWrapper } from '../frida.ts';
import { callMethod, fieldValue, observe, tryUse } from '../java.ts';
import { installObfuscatedOkHttpHooks } from './okhttp-shape.ts';

const OKHTTP_CALLS = ['okhttp3.RealCall', 'okhttp3.internal.connection.RealCall'];

function text(target: unknown, method: string): string {
  return String(callMethod(target as JavaWrapper, method));
}

/** An OkHttp 3/4 request as an event: method, URL, headers and the body written to a Buffer. */
function okhttpRequest(context: AgentContext, request: JavaWrapper): void {
  const headers = callMethod(request, 'headers') as JavaWrapper;
  const count = Number(callMethod(headers, 'size'));
  const pairs: [string, string][] = [];
  for (let i = 0; i < count; i++)
    pairs.push([String(callMethod(headers, 'name', i)), String(callMethod(headers, 'value', i))]);
  const body = callMethod(request, 'body') as JavaWrapper | null;
  let bodyBytes: string | undefined;
  const buffer = body ? tryUse(context.java, 'okio.Buffer') : undefined;
  if (body && buffer) {
    const sink = callMethod(buffer, '$new') as JavaWrapper;
    callMethod(body, 'writeTo', sink);
    const bytes = callMethod(sink, 'readByteArray');
    if (isByteArray(bytes)) bodyBytes = base64(toBytes(bytes));
  }
  context.emit(
    {
      type: 'http.request',
      method: text(request, 'method'),
      url: text(callMethod(request, 'url'), 'toString'),
      headers: pairs,
      ...(bodyBytes !== undefined ? { body: bodyBytes } : {}),
    },
    true,
  );
}

/**
 * Java-level network: socket connects and stream writes, HttpURLConnection, OkHttp, WebView
 * loads and name lookups — the layer where the URL and the app are still known.
 */
export function installJavaNetworkHooks(context: AgentContext): void {
  const { java } = context;
  observe(java, 'java.net.Socket', 'connect', (call) => {
    const address = call.args[0] as JavaWrapper;
    const inet = callMethod(address, 'getAddress') as JavaWrapper | null;
    context.emit({
      type: 'net.connect',
      host: text(address, 'getHostString'),
      ip: inet ? text(inet, 'getHostAddress') : '',
      port: Number(callMethod(address, 'getPort')),
    });
  });
  // libcore's SocketOutputStream keeps its Socket in a field; the peer comes from there.
  observe(java, 'java.net.SocketOutputStream', 'socketWrite', (call) => {
    const [data, offset, length] = call.args;
    const socket = fieldValue(call.self, 'socket') as JavaWrapper | undefined;
    if (!socket || !isByteArray(data)) return;
    const inet = callMethod(socket, 'getInetAddress') as JavaWrapper | null;
    context.emit({
      type: 'net.send',
      ip: inet ? text(inet, 'getHostAddress') : '',
      port: Number(callMethod(socket, 'getPort')),
      data: base64(toBytes(data, Number(offset ?? 0), Number(length ?? data.length))),
    });
  });

  const seen = new Set<number>();
  for (const method of ['connect', 'getInputStream', 'getOutputStream', 'getResponseCode']) {
    observe(java, 'com.android.okhttp.internal.huc.HttpURLConnectionImpl', method, (call) => {
      const id = context.objectId(call.self);
      if (seen.has(id)) return;
      seen.add(id);
      context.emit(
        {
          type: 'http.request',
          method: text(call.self, 'getRequestMethod'),
          url: text(callMethod(call.self, 'getURL'), 'toString'),
        },
        true,
      );
    });
  }

  for (const className of OKHTTP_CALLS) {
    for (const method of ['execute', 'enqueue']) {
      observe(java, className, method, (call) => {
        okhttpRequest(context, callMethod(call.self, 'request') as JavaWrapper);
      });
    }
  }

  observe(java, 'android.webkit.WebView', 'loadUrl', (call) => {
    context.emit({ type: 'http.request', method: 'GET', url: String(call.args[0]) }, true);
  });
  observe(java, 'android.webkit.WebView', 'postUrl', (call) => {
    const [url, body] = call.args;
    context.emit(
      {
        type: 'http.request',
        method: 'POST',
        url: String(url),
        ...(isByteArray(body) ? { body: base64(toBytes(body)) } : {}),
      },
      true,
    );
  });

  installObfuscatedOkHttpHooks(context);

  for (const method of ['getByName', 'getAllByName']) {
    observe(java, 'java.net.InetAddress', method, (call) => {
      if (typeof call.args[0] === 'string') context.emit({ type: 'dns.query', name: call.args[0] });
    });
  }
}
