/**
 * Onset figures on the real-music corpus: the onsets the product counts (SuperFlux and its peak-picking,
 * core/descriptors/beats.ts pickOnsets) against the note onsets of the MIDI each render was made from, and the
 * share of 10 s windows each attack word gets (core/vocabulary.ts ATTACK_WORDS).
 *
 *   npx tsx bench/lib/eval-onsets.ts [--verbose] [--held-out | --held-out-b]
 *
 * A tuning tool like eval-rhythm.ts: the held-out groups only when asked, to look at.
 *
 * Definitions (as mir_eval.onset and the field use them):
 *   truth:      every note-on of the MIDI (all channels), those within 30 ms of the one before merged (a chord is
 *               one onset), before the render's end. Only MIDI renders whose MIDI is read as is (a .mid, a .mid.gz,
 *               a WAD lump); pieces converted from scores (abc, MuseScore) and recordings with charts (a chart has
 *               the guitar's notes, not the band's) are left out.
 *   F-measure:  onsets matched one to one within ±50 ms; precision, recall and F averaged over pieces.
 *   rate ratio: onsets counted per second ÷ note onsets per second, per piece (median, 10th and 90th percentile).
 *   noise:      onsets per second on 30 s of white noise at three levels (should be ~0: noise has no attacks).
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { TrackAnalyzer } from '../../core/descriptors/index.ts';
import { pickOnsets } from '../../core/descriptors/beats.ts';
import { ATTACK_WORDS } from '../../core/vocabulary.ts';
import { decode, tenSecondWindows } from './descriptor-corpus.ts';
import { tuningToolPieces, type HeldOutGroup } from './real-corpus.ts';
import { parseMidi, TempoMap } from '../../scripts/lib/midi-file.ts';
import { musicLumps } from '../../scripts/lib/wad.ts';

interface TruthPiece {
  id: string;
  file: string;
  kind?: string;
  source?: { path?: string; lump?: string; from?: unknown };
  heldOut?: boolean;
  heldOutGroup?: HeldOutGroup;
}

const args = process.argv.slice(2);
const verbose = args.includes('--verbose');
const TOLERANCE_SEC = 0.05;
const CHORD_SEC = 0.03;

/** The MIDI a render was made from, when it can be read without converting a score; else null. */
function midiBytes(source: TruthPiece['source']): Uint8Array | null {
  if (!source?.path || source.from || !existsSync(source.path)) return null;
  const data = new Uint8Array(readFileSync(source.path));
  if (source.lump) {
    const lump = musicLumps(data).find((l) => l.name === source.lump);
    return lump?.format === 'midi' ? lump.data : null;
  }
  if (/\.midi?\.gz$/i.test(source.path)) return new Uint8Array(gunzipSync(data));
  if (/\.(midi?|kar)$/i.test(source.path)) return data;
  return null;
}

function noteOnsets(midi: Uint8Array, endSec: number): number[] {
  const parsed = parseMidi(midi);
  const tempo = new TempoMap(parsed.ticksPerQuarter, parsed.tempos);
  const times = parsed.notes.map((note) => tempo.seconds(note.tick)).filter((t) => t < endSec).sort((a, b) => a - b);
  const merged: number[] = [];
  for (const t of times) if (merged.length === 0 || t - merged[merged.length - 1] > CHORD_SEC) merged.push(t);
  return merged;
}

/** Greedy one-to-one matching of two sorted lists within ±TOLERANCE_SEC (what mir_eval.onset.f_measure counts on sorted onsets this sparse). */
function fMeasure(estimated: number[], reference: number[]): { precision: number; recall: number; f: number } {
  let i = 0;
  let j = 0;
  let hits = 0;
  while (i < estimated.length && j < reference.length) {
    const d = estimated[i] - reference[j];
    if (Math.abs(d) <= TOLERANCE_SEC) {
      hits++;
      i++;
      j++;
    } else if (d < 0) i++;
    else j++;
  }
  const precision = estimated.length ? hits / estimated.length : 0;
  const recall = reference.length ? hits / reference.length : 0;
  return { precision, recall, f: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0 };
}

function analyze(samples: Float32Array): { superFlux: Float32Array; fps: number } {
  const analyzer = new TrackAnalyzer(16_000);
  for (let i = 0; i < samples.length; i += 16_384) analyzer.push(samples.subarray(i, i + 16_384));
  analyzer.finish([]);
  const short = analyzer.frames.short;
  return { superFlux: short.superFlux.values(), fps: 16_000 / short.hop };
}

function whiteNoise(amplitude: number, seconds: number): Float32Array {
  let state = 1;
  return Float32Array.from({ length: seconds * 16_000 }, () => {
    state = (state * 1_103_515_245 + 12_345) & 0x7fffffff;
    return amplitude * ((2 * state) / 0x7fffffff - 1);
  });
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function main() {
  const truth = JSON.parse(readFileSync('bench/real-corpus/truth.json', 'utf8')) as { pieces: TruthPiece[] };
  const chosen = tuningToolPieces(truth.pieces, args);
  if (chosen.note) console.log(chosen.note);
  const totals = { n: 0, precision: 0, recall: 0, f: 0, ratios: [] as number[] };
  const wordCounts = new Map<string, number>();
  let windows = 0;
  let skipped = 0;
  for (const piece of chosen.pieces) {
    if (piece.kind !== 'midi-render') continue;
    const midi = midiBytes(piece.source);
    const audio = `.corpus/real/${piece.file}`;
    if (!midi || !existsSync(audio)) {
      skipped++;
      continue;
    }
    const { samples } = await decode(audio);
    const duration = samples.length / 16_000;
    const reference = noteOnsets(midi, duration - 0.1);
    if (reference.length < 20) {
      skipped++;
      continue;
    }
    const { superFlux, fps } = analyze(samples);
    const onsets = pickOnsets(superFlux, 0, superFlux.length, fps);
    // A frame's time is its centre: 32 ms frames every 10 ms, the first centred at 16 ms.
    const estimated = onsets.map((frame) => frame / fps + 0.016);
    const score = fMeasure(estimated, reference);
    const ratio = estimated.length / duration / (reference.length / duration);
    totals.n++;
    totals.precision += score.precision;
    totals.recall += score.recall;
    totals.f += score.f;
    totals.ratios.push(ratio);
    for (const range of tenSecondWindows(duration)) {
      // As the window tags count them: the track's onsets inside the window.
      const inside = onsets.filter((frame) => frame >= range.startSec * fps && frame < range.endSec * fps).length;
      const rate = inside / (range.endSec - range.startSec);
      const word = (ATTACK_WORDS.find((w) => 'below' in w && rate < w.below) ?? ATTACK_WORDS[ATTACK_WORDS.length - 1]).words;
      wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
      windows++;
    }
    if (verbose) {
      console.log(`  ${piece.id.padEnd(40)} notes ${(reference.length / duration).toFixed(1)}/s, counted ${(estimated.length / duration).toFixed(1)}/s, `
        + `F ${score.f.toFixed(2)} (P ${score.precision.toFixed(2)}, R ${score.recall.toFixed(2)})`);
    }
  }
  const ratios = totals.ratios.sort((a, b) => a - b);
  const mean = (x: number) => (x / Math.max(1, totals.n)).toFixed(3);
  console.log(`onsets on ${totals.n} MIDI renders (${skipped} left out: no MIDI read as is, or under 20 notes): F ${mean(totals.f)}, `
    + `precision ${mean(totals.precision)}, recall ${mean(totals.recall)}; counted ÷ notes per second: median ${quantile(ratios, 0.5).toFixed(2)}, `
    + `10th percentile ${quantile(ratios, 0.1).toFixed(2)}, 90th ${quantile(ratios, 0.9).toFixed(2)}`);
  console.log(`attack words over ${windows} windows: ${ATTACK_WORDS.map((w) => `${w.words} ${((100 * (wordCounts.get(w.words) ?? 0)) / Math.max(1, windows)).toFixed(0)} %`).join(', ')}`);
  const noise = [0.03, 0.3, 0.9].map((amplitude) => {
    const { superFlux, fps } = analyze(whiteNoise(amplitude, 30));
    return `${amplitude} full scale ${(pickOnsets(superFlux, 0, superFlux.length, fps).length / 30).toFixed(2)}/s`;
  });
  console.log(`white noise (30 s): ${noise.join(', ')}`);
}

void main();
