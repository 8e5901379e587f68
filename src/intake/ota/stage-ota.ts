import { lstat, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../../errors.ts';
import { assertRoom } from '../../host/disk-room.ts';
import { checkSparseImage, SPARSE_MAGIC, unsparse } from '../sparse.ts';
import type { StageOptions } from '../stage-options.ts';
import { extractEntry, type OpenedZip, type ZipEntryInfo } from '../../android/zip-safe.ts';
import { extractPayload } from './payload.ts';
import { extractSuperPartitions } from './super-image.ts';
import { applyTransferList, parseTransferList, unbrotli } from './transfer-list.ts';

/**
 * Firmware containers that hold the system partition in another form: A/B payloads, non-A/B
 * transfer lists, super.img. Each writes system.img (and vendor.img when present) into the entry.
 */

/** Logical partition names of system and vendor, unslotted first. */
const SUPER_WANTED = [
  { names: ['system', 'system_a', 'system_b'], file: 'system.img' },
  { names: ['vendor', 'vendor_a', 'vendor_b'], file: 'vendor.img' },
];

function noSystem(label: string, container: string): InputError {
  return new InputError('image-no-system', `${label}: its ${container} has no system partition`, {
    hint: 'submit the OTA or factory image of the whole device, not a single-partition update',
  });
}

export async function stagePayload(
  payload: string,
  label: string,
  entryDir: string,
  options: StageOptions,
): Promise<void> {
  const written = await extractPayload(payload, label, entryDir, ['system', 'vendor'], options);
  if (!written.includes('system')) throw noSystem(label, 'payload.bin');
}

/**
 * A super.img's logical partitions. Images of its other block devices are looked up in the
 * scratch directory as `super_<device>.img`, where stageOtaZip puts those a zip carries beside
 * super.img; a bare super.img has none (its neighbours are outside what was submitted).
 */
export async function stageSuper(
  superImage: string,
  label: string,
  entryDir: string,
  options: StageOptions,
): Promise<void> {
  const deviceImage = async (device: string): Promise<string | undefined> => {
    if (!/^[A-Za-z0-9_.-]+$/.test(device) || device.includes('..')) return undefined;
    const path = join(options.scratchDir, `super_${device}.img`);
    const info = await lstat(path).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    if (!(await isSparse(path))) return path;
    const raw = join(options.scratchDir, `super_${device}.raw.img`);
    const deviceLabel = `${label}: super_${device}.img`;
    const summary = await checkSparseImage(path, deviceLabel, options.maxImageBytes);
    await assertRoom(options.scratchDir, summary.outputBytes);
    await unsparse(path, raw, deviceLabel, options.maxImageBytes, options.timeoutMs);
    return raw;
  };
  const written = await extractSuperPartitions(
    superImage,
    label,
    entryDir,
    SUPER_WANTED,
    options.maxImageBytes,
    deviceImage,
  );
  if (!written.includes('system.img')) throw noSystem(label, 'super.img');
}

async function isSparse(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return bytesRead === 4 && head.readUInt32LE(0) === SPARSE_MAGIC;
  } finally {
    await handle.close();
  }
}

/**
 * An OTA or factory zip: payload.bin, system.transfer.list with system.new.dat(.br), or
 * super.img, at the top or in one folder. Returns false when the zip holds none of them.
 * A super.img is left as system.img for the caller to expand and unwrap (see stageSuper).
 */
export async function stageOtaZip(
  zip: OpenedZip,
  label: string,
  entryDir: string,
  options: StageOptions,
): Promise<boolean> {
  const find = (name: string): ZipEntryInfo | undefined =>
    zip.entries
      .filter((e) => !e.isDirectory && (e.name === name || e.name.endsWith(`/${name}`)))
      .filter((e) => e.name.split('/').length <= 2)
      .sort((a, b) => a.name.length - b.name.length)[0];
  const extract = async (entry: ZipEntryInfo, as: string): Promise<string> => {
    await assertRoom(options.scratchDir, entry.uncompressedSize);
    await extractEntry(zip, entry, options.scratchDir, as, label);
    return join(options.scratchDir, as);
  };

  const payload = find('payload.bin');
  if (payload) {
    await stagePayload(
      await extract(payload, 'payload.bin'),
      `${label}: payload.bin`,
      entryDir,
      options,
    );
    return true;
  }
  const list = find('system.transfer.list');
  const dat = find('system.new.dat.br') ?? find('system.new.dat');
  if (list && dat) {
    const listLabel = `${label}: system.transfer.list`;
    if (list.uncompressedSize > 64 * 1024 * 1024) {
      throw new InputError('transfer-list-invalid', `${listLabel} is implausibly large`);
    }
    const parsed = parseTransferList(
      await readFile(await extract(list, 'system.transfer.list'), 'utf8'),
      listLabel,
      options.maxImageBytes,
    );
    let newDat = await extract(
      dat,
      dat.name.endsWith('.br') ? 'system.new.dat.br' : 'system.new.dat',
    );
    if (newDat.endsWith('.br')) {
      const plain = join(options.scratchDir, 'system.new.dat');
      const needed = parsed.newSpans.reduce((sum, s) => sum + (s.end - s.start), 0) * 4096;
      await unbrotli(newDat, plain, needed, `${label}: system.new.dat.br`);
      newDat = plain;
    }
    await applyTransferList(parsed, newDat, join(entryDir, 'system.img'), listLabel);
    return true;
  }
  const superImage = find('super.img');
  if (superImage) {
    // The images of super's other block devices, beside it in the same folder.
    const folder = superImage.name.slice(0, superImage.name.length - 'super.img'.length);
    for (const entry of zip.entries) {
      const rest = entry.name.startsWith(folder) ? entry.name.slice(folder.length) : '';
      if (!entry.isDirectory && /^super_[A-Za-z0-9_.-]+\.img$/.test(rest) && !rest.includes('..'))
        await extract(entry, rest);
    }
    // Staged as system.img: the caller expands it when sparse (as factory zips ship it) and
    // then finds the super.img magic in it.
    await extractEntry(zip, superImage, entryDir, 'system.img', label);
    return true;
  }
  return false;
}
