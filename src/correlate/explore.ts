import { createHash } from 'node:crypto';
import { looksBinary } from './bytes.ts';
import { compressionChildren, contentEncodingChildren, type Child } from './decode/compression.ts';
import { boundaryOf, dechunk, fieldChildren, multipartChildren } from './decode/http.ts';
import { base64Children, hexChildren, jsonEscapeChild, percentChild } from './decode/text.ts';
import { tryDecrypt } from './crypto-link.ts';
import type { Hit, SearchIndex } from './engine.ts';

/** What the carrier says about a layer's bytes (HTTP headers), so decoders need not guess. */
export interface LayerHints {
  contentType?: string;
  contentEncoding?: string;
  transferEncoding?: string;
}

export interface ExploreStats {
  layers: number;
  bytes: number;
}

const MAX_DEPTH = 10;
const MAX_LAYERS = 4000;
const MAX_BYTES = 512 * 1024 * 1024;

/**
 * Searches a layer, then every layer a decoder can find inside it, depth first. Decoders run only
 * where their container or encoding is present (magic bytes, escapes, runs of the alphabet, a
 * header), and each distinct byte string is searched once.
 */
export function explore(
  index: SearchIndex,
  root: Buffer,
  chain: readonly string[],
  hints: LayerHints,
  warn: (message: string) => void,
  stats: ExploreStats,
): Hit[] {
  const hits: Hit[] = [];
  const seen = new Set<string>();
  let layers = 0;

  const visit = (
    bytes: Buffer,
    path: readonly string[],
    depth: number,
    layerHints: LayerHints,
  ): void => {
    if (bytes.length === 0 || depth > MAX_DEPTH) return;
    if (layers >= MAX_LAYERS || stats.bytes > MAX_BYTES) return;
    const key = createHash('sha1').update(bytes).digest('base64');
    if (seen.has(key)) return;
    seen.add(key);
    layers++;
    stats.layers++;
    stats.bytes += bytes.length;
    const { hits: found, linked } = index.scanLayer(bytes, path);
    hits.push(...found);
    for (const link of linked) visit(link.plaintext, [...path, ...link.transforms], depth + 1, {});
    for (const child of childrenOf(bytes, layerHints, index, warn, path)) {
      visit(child.bytes, [...path, ...child.transforms], depth + 1, {});
    }
  };
  visit(root, chain, 0, hints);
  if (layers >= MAX_LAYERS)
    warn(`${chain.join(' → ')}: stopped decoding after ${MAX_LAYERS} layers`);
  return hits;
}

function childrenOf(
  bytes: Buffer,
  hints: LayerHints,
  index: SearchIndex,
  warn: (message: string) => void,
  path: readonly string[],
): Child[] {
  if (hints.transferEncoding && /chunked/i.test(hints.transferEncoding)) {
    const body = dechunk(bytes);
    if (body) {
      if (!body.complete)
        warn(`${path.join(' → ')}: chunked body ends early; searched what arrived`);
      return [{ transforms: ['chunked'], bytes: body.bytes }];
    }
  }
  const children: Child[] = [];
  if (hints.contentEncoding) {
    const decoded = contentEncodingChildren(bytes, hints.contentEncoding);
    if (decoded) children.push(decoded);
    else
      warn(
        `${path.join(' → ')}: Content-Encoding ${hints.contentEncoding} could not be undone; searched as sent`,
      );
  }
  const boundary = boundaryOf(hints.contentType);
  if (boundary) children.push(...multipartChildren(bytes, boundary));
  const form = hints.contentType !== undefined && /x-www-form-urlencoded/i.test(hints.contentType);
  const fields = fieldChildren(bytes, 'form', form);
  children.push(...fields);
  if (children.length === 0) children.push(...compressionChildren(bytes));
  const binary = looksBinary(bytes);
  if (!binary) {
    const unescaped = jsonEscapeChild(bytes);
    if (unescaped) children.push(unescaped);
    if (fields.length === 0) {
      const percent = percentChild(bytes);
      if (percent) children.push(percent);
    }
  } else if (index.keys.length > 0) {
    for (const { name, plaintext } of tryDecrypt(bytes, index.keys))
      children.push({ transforms: [name], bytes: plaintext });
  }
  // Binary layers too: protobuf and other framings carry base64 and hex strings.
  children.push(...base64Children(bytes), ...hexChildren(bytes));
  return children;
}
