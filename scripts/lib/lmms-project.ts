/**
 * The tempo and meter an LMMS project (.mmp, or .mmpz: a 4-byte big-endian length, then the zlib-compressed
 * XML) is written at: `<head bpm=".." timesig_numerator=".." timesig_denominator="..">`. LMMS 1.2 writes the
 * tempo as the attribute, or as a `<bpm value=".." id=".."/>` child once something connects to it; an
 * automation pattern that lists that id (`<object id=".."/>`) moves the tempo, and the tempo is then not constant.
 * The project has no key. (A few attribute reads, not a general XML parser: LMMS writes these elements itself.)
 */
import { inflateSync } from 'node:zlib';
import { compoundBeatBpm, METERS, type Meter, type TempoTruth } from './midi-truth.ts';

export interface LmmsTruth {
  tempo: TempoTruth;
  meter: Meter | null;
  meterRaw: string;
}

/** The project's XML from the bytes of a .mmp (plain) or .mmpz (length-prefixed zlib) file. */
export function lmmsProjectXml(data: Buffer): string {
  // A plain project starts with '<' (the XML declaration or the root element); a compressed one with its length.
  if (data[0] === 0x3c || (data[0] === 0xef && data[3] === 0x3c)) return data.toString('utf8');
  const length = data.readUInt32BE(0);
  const xml = inflateSync(data.subarray(4)).toString('utf8');
  if (Buffer.byteLength(xml) !== length) throw new Error(`LMMS project: ${Buffer.byteLength(xml)} bytes inflated, its header says ${length}`);
  return xml;
}

const attribute = (tag: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];

export function lmmsTruth(xml: string): LmmsTruth {
  const head = /<head\b[^>]*?(?:\/>|>[\s\S]*?<\/head>)/.exec(xml)?.[0];
  if (!head) throw new Error('LMMS project: no <head> element');
  const headTag = /<head\b[^>]*>/.exec(head)![0];
  const bpmChild = /<bpm\b[^>]*>/.exec(head)?.[0];
  const bpm = Number(attribute(headTag, 'bpm') ?? (bpmChild && attribute(bpmChild, 'value')));
  if (!(bpm > 0)) throw new Error('LMMS project: no tempo in <head>');
  const bpmId = bpmChild && attribute(bpmChild, 'id');
  const automated =
    !!bpmId && [...xml.matchAll(/<automationpattern\b[\s\S]*?<\/automationpattern>/g)].some((p) => new RegExp(`<object\\s+id="${bpmId}"`).test(p[0]));
  const meterRaw = `${attribute(headTag, 'timesig_numerator') ?? 4}/${attribute(headTag, 'timesig_denominator') ?? 4}`;
  const meter = METERS[meterRaw] ?? null;
  const tempo: TempoTruth = { bpm, constant: !automated, map: [{ atSec: 0, bpm }] };
  const beatBpm = compoundBeatBpm(meter, bpm);
  if (beatBpm !== undefined) tempo.beatBpm = beatBpm;
  return { tempo, meter, meterRaw };
}
