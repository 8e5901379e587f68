/**
 * Removes one attribute of the `<manifest>` element from a compiled (binary XML)
 * AndroidManifest.xml. A vendor app declaring sharedUserId android.uid.system is refused by the
 * package manager of a foreign base (that shared user belongs to the base's platform key);
 * without the attribute, and re-signed, it installs and runs under a uid of its own.
 *
 * The format is Android's ResXMLTree: a file chunk holding a string pool, a resource map (the
 * attribute resource id of the first strings) and the element chunks. Only the `<manifest>`
 * start element changes: 20 bytes fewer, its attribute count and the chunk sizes adjusted.
 */

const RES_XML_TYPE = 0x0003;
const RES_STRING_POOL_TYPE = 0x0001;
const RES_XML_RESOURCE_MAP_TYPE = 0x0180;
const RES_XML_START_ELEMENT_TYPE = 0x0102;
const UTF8_FLAG = 1 << 8;
const NO_INDEX = 0xffffffff;

/** android:sharedUserId's attribute resource id. */
export const SHARED_USER_ID_ATTR = { name: 'sharedUserId', resourceId: 0x0101000b } as const;

export class ManifestFormatError extends Error {
  override readonly name = 'ManifestFormatError';
}

/**
 * The manifest without the attribute, or undefined when `<manifest>` does not carry it.
 * Throws ManifestFormatError when the bytes are not a binary manifest this reader understands.
 */
export function removeManifestAttribute(
  axml: Buffer,
  attribute: { name: string; resourceId: number } = SHARED_USER_ID_ATTR,
): Buffer | undefined {
  const fail = (why: string) => new ManifestFormatError(`binary manifest: ${why}`);
  if (axml.length < 8 || axml.readUInt16LE(0) !== RES_XML_TYPE) throw fail('no XML file header');
  const fileHeaderSize = axml.readUInt16LE(2);
  const fileSize = axml.readUInt32LE(4);
  if (fileSize > axml.length || fileHeaderSize < 8) throw fail('its size is wrong');

  let strings: string[] = [];
  let resourceIds: number[] = [];
  for (let at = fileHeaderSize; at + 8 <= fileSize;) {
    const type = axml.readUInt16LE(at);
    const size = axml.readUInt32LE(at + 4);
    if (size < 8 || at + size > fileSize) throw fail(`a chunk at ${at} runs past the file`);
    if (type === RES_STRING_POOL_TYPE) strings = readStringPool(axml.subarray(at, at + size), fail);
    if (type === RES_XML_RESOURCE_MAP_TYPE) {
      const headerSize = axml.readUInt16LE(at + 2);
      resourceIds = [];
      for (let i = at + headerSize; i + 4 <= at + size; i += 4)
        resourceIds.push(axml.readUInt32LE(i));
    }
    if (type === RES_XML_START_ELEMENT_TYPE) {
      // The first element is <manifest>: nothing else is looked at.
      const headerSize = axml.readUInt16LE(at + 2);
      const ext = at + headerSize;
      if (strings[axml.readUInt32LE(ext + 4)] !== 'manifest')
        throw fail('the root is not <manifest>');
      const attributeStart = axml.readUInt16LE(ext + 8);
      const attributeSize = axml.readUInt16LE(ext + 10);
      const count = axml.readUInt16LE(ext + 12);
      if (attributeSize < 20 || ext + attributeStart + count * attributeSize > at + size)
        throw fail('the <manifest> attributes run past their chunk');
      for (let index = 0; index < count; index++) {
        const attr = ext + attributeStart + index * attributeSize;
        const name = axml.readUInt32LE(attr + 4);
        const matches =
          (name < resourceIds.length && resourceIds[name] === attribute.resourceId) ||
          (name !== NO_INDEX &&
            resourceIds[name] === undefined &&
            strings[name] === attribute.name);
        if (!matches) continue;
        const out = Buffer.concat([axml.subarray(0, attr), axml.subarray(attr + attributeSize)]);
        out.writeUInt32LE(fileSize - attributeSize, 4);
        out.writeUInt32LE(size - attributeSize, at + 4);
        out.writeUInt16LE(count - 1, ext + 12);
        // id, class and style attribute indexes count from 1; those after the removed one move.
        for (const field of [ext + 14, ext + 16, ext + 18]) {
          const position = out.readUInt16LE(field);
          if (position === index + 1) out.writeUInt16LE(0, field);
          else if (position > index + 1) out.writeUInt16LE(position - 1, field);
        }
        return out;
      }
      return undefined;
    }
    at += size;
  }
  throw fail('it has no <manifest> element');
}

function readStringPool(chunk: Buffer, fail: (why: string) => Error): string[] {
  const headerSize = chunk.readUInt16LE(2);
  const count = chunk.readUInt32LE(8);
  const utf8 = (chunk.readUInt32LE(16) & UTF8_FLAG) !== 0;
  const stringsStart = chunk.readUInt32LE(20);
  if (headerSize + count * 4 > chunk.length || stringsStart > chunk.length)
    throw fail('its string pool runs past its chunk');
  const strings: string[] = [];
  for (let i = 0; i < count; i++) {
    let at = stringsStart + chunk.readUInt32LE(headerSize + i * 4);
    if (at >= chunk.length) throw fail(`string ${i} lies past the string pool`);
    if (utf8) {
      // Two lengths, each one or two bytes: characters, then bytes.
      at += (chunk.readUInt8(at) & 0x80) !== 0 ? 2 : 1;
      let bytes = chunk.readUInt8(at);
      if ((bytes & 0x80) !== 0) {
        bytes = ((bytes & 0x7f) << 8) | chunk.readUInt8(at + 1);
        at += 2;
      } else at += 1;
      strings.push(chunk.subarray(at, Math.min(at + bytes, chunk.length)).toString('utf8'));
    } else {
      let units = chunk.readUInt16LE(at);
      if ((units & 0x8000) !== 0) {
        units = ((units & 0x7fff) << 16) | chunk.readUInt16LE(at + 2);
        at += 4;
      } else at += 2;
      strings.push(chunk.subarray(at, Math.min(at + units * 2, chunk.length)).toString('utf16le'));
    }
  }
  return strings;
}
