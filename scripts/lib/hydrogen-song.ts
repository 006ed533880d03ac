/**
 * The tempo and meter a Hydrogen song (.h2song: XML, plain or gzipped) is written at, read the way Hydrogen 1.2
 * plays it: `<song><bpm>` is the quarter-note tempo; the song is its `<patternSequence>`, one `<group>` (a column
 * of the song editor) after another, each as long as the longest pattern in it (Hydrogen's
 * Song::lengthInTicks; an empty column lasts one 4/4 bar, MAX_NOTES = 192 ticks); a pattern's `<size>` is in
 * ticks of 1/48 quarter note, so a pattern of `size` ticks over `<denominator>` d (4 when absent) is a bar of
 * size × d / 192 beats of 1/d: 192 = 4/4, 144 = 3/4, 144 over 8 = 6/8. The tempo changes only through the
 * timeline (`<isTimelineActivated>true` and `<BPMTimeLine><newBPM><BAR>column</BAR><BPM>..</BPM>`). A drum
 * machine's song has no key. (A few element reads, not a general XML parser: Hydrogen writes these itself.)
 */
import { gunzipSync } from 'node:zlib';
import { compoundBeatBpm, METERS, type Meter, type TempoTruth } from './midi-truth.ts';

/** Hydrogen's tick: 1/48 of a quarter note (192 to a 4/4 bar). */
export const HYDROGEN_TICKS_PER_QUARTER = 48;
const EMPTY_COLUMN_TICKS = 192;

export interface HydrogenTruth {
  tempo: TempoTruth;
  tempoChanges: number;
  meter: Meter | null;
  /** The meter of the most ticks, as written, e.g. "7/8", even where `meter` is null. */
  meterRaw: string;
  meterChanges: number;
  /** Seconds from the first column to the end of the last one. */
  lengthSec: number;
  columns: number;
}

export class HydrogenSongError extends Error {
  override name = 'HydrogenSongError';
}

/** The song's XML from the bytes of a .h2song, gzipped (Hydrogen 0.9's option) or plain. */
export function h2songXml(data: Buffer): string {
  return (data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data).toString('utf8');
}

const elements = (xml: string, tag: string) => [...xml.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]);
const element = (xml: string, tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1]?.trim();
const round3 = (x: number) => Math.round(x * 1000) / 1000;

export function hydrogenTruth(xml: string): HydrogenTruth {
  // The song's own <bpm> comes before its instrument and pattern lists.
  const head = xml.slice(0, Math.max(0, xml.indexOf('<instrumentList>')) || xml.length);
  const bpm = Number(element(head, 'bpm'));
  if (!(bpm > 0)) throw new HydrogenSongError('Hydrogen song: no <bpm>');

  const patternList = elements(xml, 'patternList')[0] ?? '';
  const patterns = new Map<string, { size: number; denominator: number }>();
  for (const p of elements(patternList, 'pattern')) {
    const name = element(p, 'name');
    const size = Number(element(p, 'size'));
    const denominator = Number(element(p, 'denominator') ?? 4);
    if (name === undefined || !(size > 0) || !(denominator > 0)) throw new HydrogenSongError(`Hydrogen song: pattern ${name ?? '?'} has no size`);
    patterns.set(name, { size, denominator });
  }
  const sequence = elements(xml, 'patternSequence')[0];
  if (sequence === undefined) throw new HydrogenSongError('Hydrogen song: no <patternSequence>');
  const columns = elements(sequence, 'group').map((g) => {
    const inColumn = elements(g, 'patternID').map((id) => {
      const p = patterns.get(id.trim());
      if (!p) throw new HydrogenSongError(`Hydrogen song: the sequence names an unknown pattern ${id}`);
      return p;
    });
    if (inColumn.length === 0) return { ticks: EMPTY_COLUMN_TICKS, meter: '4/4' };
    const longest = inColumn.reduce((a, b) => (b.size > a.size ? b : a));
    const beats = (longest.size * longest.denominator) / (4 * HYDROGEN_TICKS_PER_QUARTER);
    return { ticks: longest.size, meter: `${round3(beats)}/${longest.denominator}` };
  });
  if (columns.length === 0) throw new HydrogenSongError('Hydrogen song: the pattern sequence is empty');

  // Tempo per column: the song's bpm, or the timeline's markers where it is switched on.
  const markers = new Map<number, number>();
  if (element(xml, 'isTimelineActivated') === 'true') {
    for (const marker of elements(elements(xml, 'BPMTimeLine')[0] ?? '', 'newBPM')) {
      const bar = Number(element(marker, 'BAR'));
      const value = Number(element(marker, 'BPM'));
      if (Number.isInteger(bar) && value > 0) markers.set(bar, value);
    }
  }
  let sec = 0;
  let current = markers.get(0) ?? bpm;
  const map: Array<{ atSec: number; bpm: number }> = [];
  const secondsAtTempo = new Map<number, number>();
  const secondsInMeter = new Map<string, number>();
  for (const [i, column] of columns.entries()) {
    current = markers.get(i) ?? current;
    if (map.length === 0 || map[map.length - 1].bpm !== current) map.push({ atSec: round3(sec), bpm: current });
    const columnSec = (column.ticks / HYDROGEN_TICKS_PER_QUARTER) * (60 / current);
    sec += columnSec;
    secondsAtTempo.set(current, (secondsAtTempo.get(current) ?? 0) + columnSec);
    secondsInMeter.set(column.meter, (secondsInMeter.get(column.meter) ?? 0) + columnSec);
  }
  const longestHeld = <T>(spans: Map<T, number>) => [...spans].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  const dominantBpm = longestHeld(secondsAtTempo);
  const meterRaw = longestHeld(secondsInMeter);
  const meter = METERS[meterRaw] ?? null;
  const tempo: TempoTruth = { bpm: dominantBpm, constant: map.every((m) => Math.abs(m.bpm / dominantBpm - 1) <= 0.02), map };
  const beatBpm = compoundBeatBpm(meter, dominantBpm);
  if (beatBpm !== undefined) tempo.beatBpm = beatBpm;
  const meterChanges = columns.filter((c, i) => i > 0 && c.meter !== columns[i - 1].meter).length;
  return { tempo, tempoChanges: map.length - 1, meter, meterRaw, meterChanges, lengthSec: round3(sec), columns: columns.length };
}
