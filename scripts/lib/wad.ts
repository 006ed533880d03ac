/**
 * A reader for Doom's WAD archives, written from the format's description in the Unofficial Doom Specs (Matthew
 * S. Fell, 1994, §2) and the Doom Wiki's "WAD" page: a 12-byte header (the magic "IWAD" or "PWAD", the number of
 * lumps, the offset of the directory; little-endian 32-bit integers), and a directory of 16-byte entries (the
 * lump's offset and size, then its name in 8 bytes of ASCII padded with NULs). Music lumps are named D_*; Doom's
 * own are MUS ("MUS\x1a"), ports and Freedoom also store Standard MIDI Files ("MThd").
 */

export class WadFormatError extends Error {
  override name = 'WadFormatError';
}

export interface WadLump {
  name: string;
  /** Offset of the lump's data in the file, and its length in bytes. */
  filepos: number;
  size: number;
}

export interface Wad {
  kind: 'IWAD' | 'PWAD';
  lumps: WadLump[];
}

export function readWad(data: Uint8Array): Wad {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length < 12) throw new WadFormatError(`a WAD header is 12 bytes, the file has ${bytes.length}`);
  const kind = bytes.toString('latin1', 0, 4);
  if (kind !== 'IWAD' && kind !== 'PWAD') throw new WadFormatError(`not a WAD file (magic ${JSON.stringify(kind)})`);
  const count = bytes.readInt32LE(4);
  const directory = bytes.readInt32LE(8);
  if (count < 0 || directory < 12 || directory + 16 * count > bytes.length) {
    throw new WadFormatError(`directory of ${count} entries at byte ${directory} does not fit in ${bytes.length} bytes`);
  }
  const lumps: WadLump[] = [];
  for (let i = 0; i < count; i++) {
    const at = directory + 16 * i;
    const filepos = bytes.readInt32LE(at);
    const size = bytes.readInt32LE(at + 4);
    const name = bytes.toString('latin1', at + 8, at + 16).replace(/\0.*$/s, '');
    if (size < 0 || (size > 0 && (filepos < 0 || filepos + size > bytes.length))) {
      throw new WadFormatError(`lump ${name} (${size} bytes at ${filepos}) lies outside the file`);
    }
    lumps.push({ name, filepos, size });
  }
  return { kind, lumps };
}

export function lumpData(data: Uint8Array, lump: WadLump): Uint8Array {
  return data.subarray(lump.filepos, lump.filepos + lump.size);
}

export type MusicFormat = 'midi' | 'mus' | 'unknown';

export interface MusicLump {
  name: string;
  format: MusicFormat;
  data: Uint8Array;
}

/** The music lumps (D_*) of a WAD, each with the format its first bytes announce. */
export function musicLumps(data: Uint8Array): MusicLump[] {
  return readWad(data)
    .lumps.filter((l) => l.name.startsWith('D_') && l.size > 0)
    .map((l) => {
      const body = lumpData(data, l);
      const magic = Buffer.from(body.subarray(0, 4)).toString('latin1');
      return { name: l.name, format: magic === 'MThd' ? 'midi' : magic === 'MUS\x1a' ? 'mus' : 'unknown', data: body };
    });
}
