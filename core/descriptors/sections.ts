/**
 * The song's sections, found from the music itself.
 *
 * Methods:
 * - Beat-synchronous frames (Bartsch & Wakefield 2001; Ellis & Poliner 2007): the chroma (chroma.ts) and the
 *   MFCC-like timbre (timbre.ts) averaged between beats: a unit per beat, or per two beats when the beat is
 *   faster than MIN_UNIT_SEC (a grid read at double tempo gives units of about the same length), so a repeat at
 *   the same tempo lines up whatever the tempo. Without a steady beat, fixed-length units. Units are coarsened on
 *   long files so the work stays bounded (MAX_UNITS).
 * - Self-similarity of the units (Foote 1999) after smoothing over SMOOTH_SEC (as CENS does): correlation of chroma
 *   (harmony) and a Gaussian similarity of the standardised timbre, mixed with CHROMA_WEIGHT.
 * - Novelty: Foote's checkerboard kernel with a Gaussian taper slid along the diagonal (Foote 2000, "Automatic
 *   audio segmentation using a measure of audio novelty"), computed on the band of the matrix it touches only.
 *   A boundary scores the mean similarity within the two sides less the mean across them.
 * - Peaks picked as in Foote 2000: local maxima over ±MIN_SECTION_SEC/2 above MIN_NOVELTY, strongest first, none
 *   closer than MIN_SECTION_SEC to another boundary or the ends.
 * - Labels: average-linkage agglomerative clustering of the sections' mean features (the segment-clustering step
 *   of Cooper & Foote 2003 / Paulus, Müller & Klapuri 2010's state approach), merged while closer than
 *   LABEL_DISTANCE; neighbours that end up with one label are one section. Labels A, B, C … by first appearance.
 * - Names only where the evidence is good: an intro or outro is a short, unrepeated first or last section that is
 *   clearly quieter than the song; a break is a middle section far quieter than the song; the peak is the loudest
 *   section when it stands clearly above the rest.
 *
 * Every threshold is in SECTIONS below.
 */
import type { PieceLoop, SectionName, SongSection, WindowTags } from './types.ts';
import { PITCH_CLASSES } from './frames.ts';

export const SECTIONS = {
  /** Beats are grouped by powers of two until a unit lasts at least this. A boundary falls on a unit's start, so
   * the unit is the finest a boundary can be placed. With 0.9 (units of 0.9-1.8 s, two beats at most tempi) the
   * section bench found 89 % of the boundaries within ±3 s on its tuned pieces and 89 % on pieces cut from the
   * held-out groups; with 0.45 (a unit per beat up to 133 BPM) 93.5 % and 93.5 %, with fewer spurious boundaries
   * (0.33 → 0.22 and 0.28 → 0.18 a minute) and repeats sharing a label 100 % on both. Finer units won at four of
   * five neighbouring kernel and smoothing lengths too, so the gain is the placement, not a lucky setting. */
  MIN_UNIT_SEC: 0.45,
  /** Unit length without a steady beat. */
  FALLBACK_UNIT_SEC: 1,
  /** At most this many units (a 60-minute file gets units of about 3 s), so the work and memory stay bounded. */
  MAX_UNITS: 1200,
  /** Half-width of the checkerboard kernel: each side of a boundary is compared over this long. */
  KERNEL_SEC: 12,
  /** No section is shorter than this (8 bars at 160 BPM). On the section bench 12 s against 8 s cut spurious
   * boundaries from 1.0 to 0.2 a minute (a phrase change inside an excerpt is no longer a section) and lost 3 % of
   * the hits; 10 s against 12 s doubles the spurious ones for no more hits. */
  MIN_SECTION_SEC: 12,
  /** Never more sections than this, whatever the length (a 60-minute file gets at most one per 75 s on average). */
  MAX_SECTIONS: 48,
  /** Novelty (mean within − mean across, 0 … 1) a boundary needs: a uniform track has none. Chosen on the section
   * bench (bench/lib/eval-structure.ts): with 8-s sections 0.12 → 0.16 traded boundaries found (93 → 85 %) for
   * spurious ones (1.0 → 0.5 a minute); with 12-s sections 0.10 … 0.12 score alike. A threshold adapted to the track
   * (median + 4·MAD) missed half the boundaries of pieces full of them. */
  MIN_NOVELTY: 0.12,
  /** Features are averaged over this long around each unit before they are compared (as CENS smooths chroma,
   * Müller, Kurth & Clausen 2005): a chord change inside a phrase is not a new section. */
  SMOOTH_SEC: 8,
  /** Harmony's share of the similarity; timbre has the rest. On the section bench's 24 pieces, with the 12-s kernel and
   * 8-s smoothing: 0.4 finds 91 % of the boundaries, 0.5 88 %, 0.7 85 % (at 0.24–0.30 spurious a minute); refining
   * each boundary on unsmoothed features (a 4-s kernel within ±3–5 s) lost 7–17 % of the hits and was dropped. */
  CHROMA_WEIGHT: 0.4,
  /** Timbre similarity exp(−d²/(D·TIMBRE_SCALE)) of standardised coefficients: a random pair (d² ≈ 2D) scores ~0.14. */
  TIMBRE_SCALE: 1,
  /** Standard deviation floor of a timbre coefficient (log10 units): a stationary drone is not stretched into noise. */
  TIMBRE_STD_FLOOR: 0.15,
  /** Sections whose mean features are closer than this (1 − similarity) share a label. */
  LABEL_DISTANCE: 0.14,
  /** A unit whose chroma sums to less than this per frame has no harmony to compare (noise and silence leave a few
   * stray peaks, ~1e-6; the quietest passages of the real corpus are above 1e-4): it is compared by timbre alone. */
  CHROMA_FLOOR: 1e-5,
  /** Intro/outro: the first/last section, unrepeated, at most this long and this share of the track … */
  EDGE_MAX_SEC: 45,
  EDGE_MAX_SHARE: 0.2,
  /** … and this much quieter (LU) than the median section. */
  EDGE_QUIETER_LU: 3,
  /**
   * Break: a middle section this much quieter than the median section, with the full sound (a section not this much
   * quieter) somewhere before it and somewhere after it: a break is a pause in the music, which goes on after it. A
   * quiet stretch that only leads to the end is the music's ending (Hedgewars' Olympics fades out over 1:38 in
   * three quiet sections, which were told as three breaks), and one that follows only a quiet intro is how the
   * music begins (its pirate theme: "after an 18 s intro, a quiet break comes").
   */
  BREAK_QUIETER_LU: 6,
  /** Peak: the loudest section, this much louder than the median section. */
  PEAK_LOUDER_LU: 2,
  /** Names need at least this many sections (a two-part song has no intro to speak of). */
  MIN_SECTIONS_FOR_NAMES: 3,
  /** A loop (findLoop) is looked for on units of this long, or longer to keep to LOOP_MAX_UNITS: equal units, so a
   * lag is one time all along the track (beat-synchronous units stretch where the grid drops beats). */
  LOOP_UNIT_SEC: 1,
  LOOP_MAX_UNITS: 1200,
  /** Features averaged over this long around each unit: a period that is no whole number of units leaves the repeat
   * up to half a unit off. */
  LOOP_SMOOTH_SEC: 2,
  /** A piece of at least this long played again … */
  LOOP_MIN_PERIOD_SEC: 30,
  /** … units matching the unit a period later at this similarity … */
  LOOP_MATCH: 0.85,
  /** … densely (this share of the units from the first match to the last) … */
  LOOP_MIN_DENSITY: 0.8,
  /** … over this much of a period or more (the piece heard nearly twice), on to the end of the track but this much
   * (a fade-out changes the timbre and stops matching) … */
  LOOP_MIN_REPEAT: 0.75,
  LOOP_END_SLACK_SEC: 15,
  /** … and this much more alike than at lags NEIGHBOUR_SEC away (a track that never changes, or repeats one bar
   * throughout, is as alike there: that is no loop). */
  LOOP_MIN_CONTRAST: 0.15,
  LOOP_NEIGHBOUR_MIN_SEC: 4,
  LOOP_NEIGHBOUR_MAX_SEC: 10,
  /** A multiple of the best lag is the piece where its units are this much more alike (scanLoop). */
  LOOP_CLOSER: 0.03,
} as const;

export interface SectionInput {
  durationSec: number;
  /** Beat times in seconds; empty without a steady beat. */
  beats: ArrayLike<number>;
  /** PITCH_CLASSES values per frame; frame n is centred on n·hopSec. */
  chroma: Float32Array;
  /** `dimensions` values per frame, on the same frames as the chroma. */
  timbre: Float32Array;
  timbreDimensions: number;
  hopSec: number;
}

/** Measures a range of the track (tempo, key, loudness, brightness): the section's tags. */
export type MeasureRange = (range: { startSec: number; endSec: number }) => WindowTags;

/** The sections' boundaries and labels without tags: what the bench scores. */
export interface Segmentation {
  boundaries: number[];
  labels: string[];
  novelty: Float64Array;
  unitStarts: Float64Array;
}

/** Finds the sections of a track, with their tags and names. Never throws on odd input: one section at worst. */
export function findSections(input: SectionInput, measure: MeasureRange): SongSection[] {
  const duration = Number.isFinite(input.durationSec) ? Math.max(0, input.durationSec) : 0;
  const { boundaries, labels } = segment(input);
  const sections: SongSection[] = labels.map((label, index) => {
    const startSec = boundaries[index];
    const endSec = boundaries[index + 1];
    const tags = measure({ startSec, endSec });
    return {
      index, startSec: round(startSec, 3), endSec: round(endSec, 3), label, name: null,
      tags: { bpm: tags.bpm, key: tags.key, loudnessLufs: tags.loudnessLufs, energy: 0, spectralCentroidHz: tags.spectralCentroidHz },
    };
  });
  if (sections.length) sections[sections.length - 1].endSec = round(duration, 3);
  const loudest = Math.max(...sections.map((s) => s.tags.loudnessLufs ?? -Infinity));
  for (const section of sections) {
    const lufs = section.tags.loudnessLufs;
    section.tags.energy = lufs === null || !Number.isFinite(loudest) ? 0 : round(10 ** ((lufs - loudest) / 10), 3);
  }
  nameSections(sections, duration);
  return sections;
}

/** Boundaries (from 0 to the duration) and a label per section. */
export function segment(input: SectionInput): Segmentation {
  const duration = Number.isFinite(input.durationSec) ? Math.max(0, input.durationSec) : 0;
  const unitStarts = buildUnits(duration, input.beats);
  const units = unitStarts.length;
  const one: Segmentation = { boundaries: [0, duration], labels: ['A'], novelty: new Float64Array(units), unitStarts };
  if (duration < 2 * SECTIONS.MIN_SECTION_SEC || units < 4) return one;
  const features = unitFeatures(input, unitStarts, duration, SECTIONS.SMOOTH_SEC);
  const unitSec = duration / units;
  const half = Math.max(2, Math.round(SECTIONS.KERNEL_SEC / unitSec));
  const novelty = noveltyCurve(features, half);
  const chosen = pickPeaks(novelty, unitStarts, duration);
  if (!chosen.length) return { ...one, novelty };
  // Sections as unit ranges, then labels from their mean features.
  const edges = [0, ...chosen, units];
  const labelsOf = clusterSections(features, edges);
  // Neighbours with one label are one section: the novelty peak between them was a change inside the material.
  const keptEdges = [0];
  const keptLabels = [labelsOf[0]];
  for (let s = 1; s < labelsOf.length; s++) {
    if (labelsOf[s] === keptLabels[keptLabels.length - 1]) continue;
    keptEdges.push(edges[s]);
    keptLabels.push(labelsOf[s]);
  }
  keptEdges.push(units);
  const names = new Map<number, string>();
  const labels = keptLabels.map((cluster) => {
    if (!names.has(cluster)) names.set(cluster, labelName(names.size));
    return names.get(cluster)!;
  });
  const boundaries = keptEdges.map((u, i) => (i === keptEdges.length - 1 ? duration : unitStarts[u]));
  return { boundaries, labels, novelty, unitStarts };
}

/** A, B, …, Z, then AA, AB, …: labels by order of first appearance. */
function labelName(n: number): string {
  let name = '';
  let k = n;
  do {
    name = String.fromCharCode(65 + (k % 26)) + name;
    k = Math.floor(k / 26) - 1;
  } while (k >= 0);
  return name;
}

/** Unit start times: groups of beats lasting about a second, or fixed steps without a beat; gaps in the grid are filled. */
export function buildUnits(duration: number, beats: ArrayLike<number>): Float64Array {
  const starts: number[] = [0];
  const usable: number[] = [];
  for (let i = 0; i < beats.length; i++) {
    const t = beats[i];
    if (Number.isFinite(t) && t > 0 && t < duration && (usable.length === 0 || t > usable[usable.length - 1])) usable.push(t);
  }
  let step = Math.max(SECTIONS.FALLBACK_UNIT_SEC, duration / SECTIONS.MAX_UNITS);
  if (usable.length >= 8) {
    const gaps = usable.slice(1).map((t, i) => t - usable[i]).sort((a, b) => a - b);
    const period = gaps[Math.floor(gaps.length / 2)];
    let group = 1;
    while (group * period < SECTIONS.MIN_UNIT_SEC) group *= 2;
    while (usable.length / group > SECTIONS.MAX_UNITS) group *= 2;
    step = Math.max(step, group * period);
    for (let i = 0; i < usable.length; i += group) {
      const t = usable[i];
      fillGap(starts, t, step);
      if (t - starts[starts.length - 1] >= 0.25 * step) starts.push(t);
    }
  }
  fillGap(starts, duration, step);
  return Float64Array.from(starts);
}

/** Adds evenly spaced starts between the last start and `until` where the gap exceeds 1.5 steps. */
function fillGap(starts: number[], until: number, step: number): void {
  const from = starts[starts.length - 1];
  const gap = until - from;
  if (gap <= 1.5 * step) return;
  const pieces = Math.round(gap / step);
  for (let k = 1; k < pieces; k++) starts.push(from + (gap * k) / pieces);
}

interface UnitFeatures {
  units: number;
  /** PITCH_CLASSES per unit, unit length (or all zero for a silent unit). */
  chroma: Float64Array;
  /** dims per unit, standardised over the track (with a floor on the spread). */
  timbre: Float64Array;
  dims: number;
  /** 1 where the unit (after smoothing: most of its neighbourhood) has no harmony to compare. */
  toneless: Uint8Array;
}

/** Averages the frames overlapping each unit (weighted by the overlap), then normalises. */
function unitFeatures(input: SectionInput, unitStarts: Float64Array, duration: number, smoothSec: number): UnitFeatures {
  const units = unitStarts.length;
  const dims = input.timbreDimensions;
  const hop = input.hopSec;
  const frames = Math.min(Math.floor(input.chroma.length / PITCH_CLASSES), dims > 0 ? Math.floor(input.timbre.length / dims) : 0);
  const chroma = new Float64Array(units * PITCH_CLASSES);
  const timbre = new Float64Array(units * dims);
  const tonelessShare = new Float64Array(units);
  for (let u = 0; u < units; u++) {
    const start = unitStarts[u];
    const end = u + 1 < units ? unitStarts[u + 1] : duration;
    // Frame n covers [(n − ½)·hop, (n + ½)·hop).
    let first = Math.max(0, Math.floor(start / hop + 0.5));
    let last = Math.min(frames - 1, Math.floor(end / hop + 0.5));
    if (frames === 0) continue;
    if (first > last) first = last = Math.min(frames - 1, Math.max(0, Math.round((start + end) / 2 / hop)));
    let total = 0;
    for (let n = first; n <= last; n++) {
      const overlap = Math.max(1e-6, Math.min(end, (n + 0.5) * hop) - Math.max(start, (n - 0.5) * hop));
      total += overlap;
      for (let c = 0; c < PITCH_CLASSES; c++) chroma[u * PITCH_CLASSES + c] += overlap * input.chroma[n * PITCH_CLASSES + c];
      for (let d = 0; d < dims; d++) timbre[u * dims + d] += overlap * input.timbre[n * dims + d];
    }
    for (let d = 0; d < dims; d++) timbre[u * dims + d] /= total;
    let norm = 0;
    let sum = 0;
    for (let c = 0; c < PITCH_CLASSES; c++) {
      norm += chroma[u * PITCH_CLASSES + c] ** 2;
      sum += chroma[u * PITCH_CLASSES + c];
    }
    norm = Math.sqrt(norm);
    const tonal = sum / (total / hop) >= SECTIONS.CHROMA_FLOOR;
    tonelessShare[u] = tonal ? 0 : 1;
    for (let c = 0; c < PITCH_CLASSES; c++) chroma[u * PITCH_CLASSES + c] = tonal ? chroma[u * PITCH_CLASSES + c] / norm : 0;
  }
  const reach = Math.round(smoothSec / 2 / (duration / units));
  smooth(chroma, PITCH_CLASSES, units, reach);
  smooth(tonelessShare, 1, units, reach);
  const toneless = Uint8Array.from(tonelessShare, (share) => (share > 0.5 ? 1 : 0));
  for (let d = 0; d < dims; d++) {
    let mean = 0;
    for (let u = 0; u < units; u++) mean += timbre[u * dims + d];
    mean /= units;
    let variance = 0;
    for (let u = 0; u < units; u++) variance += (timbre[u * dims + d] - mean) ** 2;
    const spread = Math.max(SECTIONS.TIMBRE_STD_FLOOR, Math.sqrt(variance / units));
    for (let u = 0; u < units; u++) timbre[u * dims + d] = (timbre[u * dims + d] - mean) / spread;
  }
  smooth(timbre, dims, units, reach);
  // Harmony is compared as correlation (each unit's chroma less its mean): all-positive chroma vectors of any two
  // tonal passages have a high cosine, their centred shapes do not.
  for (let u = 0; u < units; u++) {
    let mean = 0;
    for (let c = 0; c < PITCH_CLASSES; c++) mean += chroma[u * PITCH_CLASSES + c] / PITCH_CLASSES;
    if (mean === 0) continue;
    for (let c = 0; c < PITCH_CLASSES; c++) chroma[u * PITCH_CLASSES + c] -= mean;
  }
  return { units, chroma, timbre, dims, toneless };
}

/** Moving average over ±reach rows, in place (rows of `width` values). */
function smooth(values: Float64Array, width: number, rows: number, reach: number): void {
  if (reach < 1) return;
  const source = values.slice();
  for (let r = 0; r < rows; r++) {
    const from = Math.max(0, r - reach);
    const to = Math.min(rows - 1, r + reach);
    for (let k = 0; k < width; k++) {
      let sum = 0;
      for (let q = from; q <= to; q++) sum += source[q * width + k];
      values[r * width + k] = sum / (to - from + 1);
    }
  }
}

/** Similarity of two feature vectors (a unit's, or a section's mean), 0 … 1. */
function similarity(
  chromaA: Float64Array, a: number, chromaB: Float64Array, b: number, timbreA: Float64Array, timbreB: Float64Array, dims: number, toneless: boolean,
): number {
  let distance = 0;
  for (let d = 0; d < dims; d++) distance += (timbreA[a * dims + d] - timbreB[b * dims + d]) ** 2;
  const colour = Math.exp(-distance / (Math.max(1, dims) * SECTIONS.TIMBRE_SCALE));
  // Without harmony on either side (noise, silence, drums alone), timbre alone decides.
  if (toneless) return colour;
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let c = 0; c < PITCH_CLASSES; c++) {
    const x = chromaA[a * PITCH_CLASSES + c];
    const y = chromaB[b * PITCH_CLASSES + c];
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  if (!(normA > 0 && normB > 0)) return colour;
  const harmony = (1 + dot / Math.sqrt(normA * normB)) / 2;
  return SECTIONS.CHROMA_WEIGHT * harmony + (1 - SECTIONS.CHROMA_WEIGHT) * colour;
}

/**
 * Foote's novelty at each unit boundary i (between units i−1 and i): Gaussian-tapered mean similarity within
 * [i−half, i) and within [i, i+half) less the mean across them. The diagonal is left out; near the ends the
 * kernel is cut to what exists, its weights renormalised.
 */
function noveltyCurve(f: UnitFeatures, half: number): Float64Array {
  const { units, chroma, timbre, dims } = f;
  const width = 2 * half;
  // The band of the self-similarity matrix the kernel touches: band[a·width + (b − a − 1)] for a < b < a + width + 1.
  const band = new Float32Array(units * width);
  for (let a = 0; a < units; a++) {
    for (let k = 1; k <= width && a + k < units; k++) band[a * width + k - 1] = similarity(chroma, a, chroma, a + k, timbre, timbre, dims, f.toneless[a] === 1 || f.toneless[a + k] === 1);
  }
  const sim = (a: number, b: number) => (a < b ? band[a * width + b - a - 1] : band[b * width + a - b - 1]);
  const taper = new Float64Array(width);
  const sigma = half / 2;
  for (let k = 0; k < width; k++) taper[k] = Math.exp(-(((k - half + 0.5) / sigma) ** 2) / 2);
  const novelty = new Float64Array(units);
  for (let i = 1; i < units; i++) {
    let within = 0;
    let withinWeight = 0;
    let across = 0;
    let acrossWeight = 0;
    for (let p = 0; p < width; p++) {
      const a = i - half + p;
      if (a < 0 || a >= units) continue;
      for (let q = p + 1; q < width; q++) {
        const b = i - half + q;
        if (b >= units) break;
        const w = taper[p] * taper[q];
        const s = sim(a, b);
        if ((p < half) === (q < half)) {
          within += w * s;
          withinWeight += w;
        } else {
          across += w * s;
          acrossWeight += w;
        }
      }
    }
    novelty[i] = withinWeight > 0 && acrossWeight > 0 ? Math.max(0, within / withinWeight - across / acrossWeight) : 0;
  }
  return novelty;
}

/** Boundary units, ascending: the strongest local maxima over the threshold, MIN_SECTION_SEC apart and from the ends. */
function pickPeaks(novelty: Float64Array, unitStarts: Float64Array, duration: number): number[] {
  const units = novelty.length;
  const threshold = SECTIONS.MIN_NOVELTY;
  const reach = SECTIONS.MIN_SECTION_SEC / 2;
  const candidates: number[] = [];
  for (let i = 1; i < units; i++) {
    if (novelty[i] < threshold) continue;
    const t = unitStarts[i];
    let isPeak = true;
    for (let j = i - 1; j >= 1 && t - unitStarts[j] <= reach; j--) if (novelty[j] >= novelty[i]) { isPeak = false; break; }
    for (let j = i + 1; isPeak && j < units && unitStarts[j] - t <= reach; j++) if (novelty[j] > novelty[i]) { isPeak = false; break; }
    if (isPeak) candidates.push(i);
  }
  candidates.sort((a, b) => novelty[b] - novelty[a]);
  const chosen: number[] = [];
  for (const i of candidates) {
    if (chosen.length >= SECTIONS.MAX_SECTIONS - 1) break;
    const t = unitStarts[i];
    if (t < SECTIONS.MIN_SECTION_SEC || duration - t < SECTIONS.MIN_SECTION_SEC) continue;
    if (chosen.some((j) => Math.abs(unitStarts[j] - t) < SECTIONS.MIN_SECTION_SEC)) continue;
    chosen.push(i);
  }
  return chosen.sort((a, b) => a - b);
}

/** A cluster id per section (unit ranges edges[s] … edges[s+1]), from average-linkage clustering of mean features. */
function clusterSections(f: UnitFeatures, edges: number[]): number[] {
  const count = edges.length - 1;
  const { dims } = f;
  const chroma = new Float64Array(count * PITCH_CLASSES);
  const timbre = new Float64Array(count * dims);
  const toneless: boolean[] = [];
  for (let s = 0; s < count; s++) {
    const n = edges[s + 1] - edges[s];
    let tonelessUnits = 0;
    for (let u = edges[s]; u < edges[s + 1]; u++) {
      tonelessUnits += f.toneless[u];
      for (let c = 0; c < PITCH_CLASSES; c++) chroma[s * PITCH_CLASSES + c] += f.chroma[u * PITCH_CLASSES + c] / n;
      for (let d = 0; d < dims; d++) timbre[s * dims + d] += f.timbre[u * dims + d] / n;
    }
    toneless.push(tonelessUnits > n / 2);
  }
  const distance: number[][] = [];
  for (let a = 0; a < count; a++) {
    distance.push([]);
    for (let b = 0; b < count; b++) distance[a].push(a === b ? 0 : 1 - similarity(chroma, a, chroma, b, timbre, timbre, dims, toneless[a] || toneless[b]));
  }
  // Average linkage: the distance of two clusters is the mean distance of their members.
  let clusters = Array.from({ length: count }, (_, s) => [s]);
  for (;;) {
    let best = Infinity;
    let pair: [number, number] = [-1, -1];
    for (let x = 0; x < clusters.length; x++) {
      for (let y = x + 1; y < clusters.length; y++) {
        let sum = 0;
        for (const a of clusters[x]) for (const b of clusters[y]) sum += distance[a][b];
        const mean = sum / (clusters[x].length * clusters[y].length);
        if (mean < best) {
          best = mean;
          pair = [x, y];
        }
      }
    }
    if (best > SECTIONS.LABEL_DISTANCE || pair[0] < 0) break;
    const [x, y] = pair;
    clusters[x] = clusters[x].concat(clusters[y]);
    clusters = clusters.filter((_, i) => i !== y);
  }
  const id = new Array<number>(count);
  clusters.forEach((members, c) => { for (const s of members) id[s] = c; });
  return id;
}

/** Plain names, only where the loudness makes them plain (see SECTIONS). */
export function nameSections(sections: SongSection[], duration: number): void {
  if (sections.length < SECTIONS.MIN_SECTIONS_FOR_NAMES) return;
  const levels = sections.map((s) => s.tags.loudnessLufs).filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (levels.length < SECTIONS.MIN_SECTIONS_FOR_NAMES) return;
  const median = levels[Math.floor(levels.length / 2)];
  const level = (s: SongSection) => s.tags.loudnessLufs ?? -Infinity;
  const repeats = (s: SongSection) => sections.some((o) => o !== s && o.label === s.label);
  const isEdge = (s: SongSection) => {
    const length = s.endSec - s.startSec;
    return !repeats(s) && length <= SECTIONS.EDGE_MAX_SEC && length <= SECTIONS.EDGE_MAX_SHARE * duration
      && level(s) <= median - SECTIONS.EDGE_QUIETER_LU;
  };
  const first = sections[0];
  const last = sections[sections.length - 1];
  const name = (s: SongSection, n: SectionName) => { s.name = n; };
  if (isEdge(first)) name(first, 'intro');
  if (isEdge(last)) name(last, 'outro');
  const quiet = (s: SongSection) => level(s) <= median - SECTIONS.BREAK_QUIETER_LU;
  // Between the first and the last section with the full sound (so never the first or the last section).
  const firstFull = sections.findIndex((s) => !quiet(s));
  const lastFull = sections.findLastIndex((s) => !quiet(s));
  for (let i = firstFull + 1; firstFull >= 0 && i < lastFull; i++) if (quiet(sections[i])) name(sections[i], 'break');
  const loudest = sections.reduce((a, b) => (level(b) > level(a) ? b : a));
  if (loudest.name === null && level(loudest) >= median + SECTIONS.PEAK_LOUDER_LU) name(loudest, 'peak');
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** What the loop scan found at its best lag, accepted or not. */
interface LoopScan {
  lagSec: number;
  /** The stretch whose units match the units a lag later: [startSec, startSec + matchedSec). */
  startSec: number;
  matchedSec: number;
  /** Share of the units in that stretch that match. */
  density: number;
  /** Mean similarity at the lag over the stretch, and at the most similar lag LOOP_NEIGHBOUR_*_SEC away. */
  similarity: number;
  neighbourSimilarity: number;
}

/**
 * The lag at which the most units match the unit that lag later, and the stretch those matches span: the
 * time-lag similarity r(t, l) of Goto 2003 ("A chorus-section detecting method for musical audio signals", ICASSP),
 * summed over t as his R_all(l) is, on equal units of chroma and timbre. A repeat of the whole piece matches unit
 * for unit over all but its last period; at the period's multiples the overlap is shorter, so the period itself
 * has the most matches.
 */
function scanLoop(input: SectionInput): LoopScan | null {
  const duration = Number.isFinite(input.durationSec) ? Math.max(0, input.durationSec) : 0;
  if (duration < 2 * SECTIONS.LOOP_MIN_PERIOD_SEC) return null;
  const step = Math.max(SECTIONS.LOOP_UNIT_SEC, duration / SECTIONS.LOOP_MAX_UNITS);
  const units = Math.floor(duration / step);
  const unitStarts = new Float64Array(units);
  for (let u = 0; u < units; u++) unitStarts[u] = u * step;
  const f = unitFeatures(input, unitStarts, duration, SECTIONS.LOOP_SMOOTH_SEC);
  // Each unit's chroma as a unit vector (centred already), so harmony is one dot product.
  const chroma = new Float64Array(units * PITCH_CLASSES);
  const tonal = new Uint8Array(units);
  for (let u = 0; u < units; u++) {
    let norm = 0;
    for (let c = 0; c < PITCH_CLASSES; c++) norm += f.chroma[u * PITCH_CLASSES + c] ** 2;
    if (!(norm > 0) || f.toneless[u] === 1) continue;
    tonal[u] = 1;
    const scale = 1 / Math.sqrt(norm);
    for (let c = 0; c < PITCH_CLASSES; c++) chroma[u * PITCH_CLASSES + c] = f.chroma[u * PITCH_CLASSES + c] * scale;
  }
  const dims = f.dims;
  const timbre = f.timbre;
  const timbreScale = 1 / (Math.max(1, dims) * SECTIONS.TIMBRE_SCALE);
  const sim = (u: number, v: number) => similarity(f.chroma, u, f.chroma, v, timbre, timbre, dims, tonal[u] === 0 || tonal[v] === 0);
  const match = (u: number, v: number) => unitsMatch(chroma, tonal, timbre, dims, timbreScale, u, v);
  const minLag = Math.ceil(SECTIONS.LOOP_MIN_PERIOD_SEC / step);
  // The overlap must be able to hold LOOP_MIN_REPEAT of a period.
  const maxLag = Math.floor(units / (1 + SECTIONS.LOOP_MIN_REPEAT));
  let bestLag = 0;
  let bestCount = 0;
  for (let lag = minLag; lag <= maxLag; lag++) {
    const count = matchesAtLag(chroma, tonal, timbre, dims, timbreScale, units, lag);
    if (count > bestCount) {
      bestCount = count;
      bestLag = lag;
    }
  }
  if (bestCount === 0) return null;
  const measure = (lag: number): LoopScan => {
    let first = -1;
    let last = -1;
    let count = 0;
    for (let u = 0; u + lag < units; u++) {
      if (!match(u, u + lag)) continue;
      if (first < 0) first = u;
      last = u;
      count++;
    }
    const span = Math.max(1, last + 1 - first);
    let total = 0;
    for (let u = first; u >= 0 && u <= last; u++) total += sim(u, u + lag);
    let neighbourSimilarity = 0;
    const nearFrom = Math.max(1, Math.round(SECTIONS.LOOP_NEIGHBOUR_MIN_SEC / step));
    const nearTo = Math.max(nearFrom, Math.round(SECTIONS.LOOP_NEIGHBOUR_MAX_SEC / step));
    for (let k = nearFrom; k <= nearTo && first >= 0; k++) {
      for (const near of [lag - k, lag + k]) {
        let sum = 0;
        let n = 0;
        for (let u = first; u <= last && u + near < units; u++) {
          sum += sim(u, u + near);
          n++;
        }
        if (n > 0) neighbourSimilarity = Math.max(neighbourSimilarity, sum / n);
      }
    }
    return { lagSec: lag * step, startSec: Math.max(0, first) * step, matchedSec: span * step, density: count / span, similarity: total / span, neighbourSimilarity };
  };
  // A piece made of two near-alike halves matches at the half too, and over a longer overlap: where a multiple of the
  // lag repeats clearly closer (LOOP_CLOSER) and is a loop by every other test, that is the piece (Planet Blupi's
  // 28-minute file: a 5:04 piece, whose halves match at 0.85 but not at 0.9).
  let best = measure(bestLag);
  for (let multiple = 2; multiple * bestLag <= maxLag; multiple++) {
    const longer = measure(multiple * bestLag);
    if (longer.similarity - best.similarity >= SECTIONS.LOOP_CLOSER && isLoop(longer, duration)) {
      best = longer;
      break;
    }
  }
  return best;
}

/** Whether a scan's best lag passes LOOP_*: dense matches over most of a period and on to the end, clearly alike. */
function isLoop(scan: LoopScan, duration: number): boolean {
  return scan.density >= SECTIONS.LOOP_MIN_DENSITY
    && scan.matchedSec >= SECTIONS.LOOP_MIN_REPEAT * scan.lagSec
    && scan.startSec + scan.matchedSec + scan.lagSec >= duration - SECTIONS.LOOP_END_SLACK_SEC
    && scan.similarity - scan.neighbourSimilarity >= SECTIONS.LOOP_MIN_CONTRAST;
}

/**
 * The whole piece (after any intro) played more than once, where the music says so plainly: LOOP_* above. Null
 * otherwise, and for any track shorter than two of the shortest periods.
 */
export function findLoop(input: SectionInput): PieceLoop | null {
  const scan = scanLoop(input);
  const duration = input.durationSec;
  if (!scan || !isLoop(scan, duration)) return null;
  return { startSec: round(scan.startSec, 1), periodSec: round(scan.lagSec, 1), passes: round((duration - scan.startSec) / scan.lagSec, 2) };
}

/**
 * Whether units u and v reach LOOP_MATCH by similarity() (harmony and timbre mixed by CHROMA_WEIGHT), without the
 * exponential: the timbre distance the harmony leaves room for, the sum stopped once past it. `chroma` holds unit
 * vectors (`tonal` 0 where a unit has none), `timbre` the standardised coefficients. Top-level and monomorphic: the
 * scan over every lag asks this of every pair.
 */
function unitsMatch(chroma: Float64Array, tonal: Uint8Array, timbre: Float64Array, dims: number, timbreScale: number, u: number, v: number): boolean {
  let needColour = SECTIONS.LOOP_MATCH;
  if (tonal[u] === 1 && tonal[v] === 1) {
    let dot = 0;
    for (let c = 0; c < PITCH_CLASSES; c++) dot += chroma[u * PITCH_CLASSES + c] * chroma[v * PITCH_CLASSES + c];
    needColour = (SECTIONS.LOOP_MATCH - SECTIONS.CHROMA_WEIGHT * ((1 + dot) / 2)) / (1 - SECTIONS.CHROMA_WEIGHT);
  }
  if (needColour > 1) return false;
  if (needColour <= 0) return true;
  const limit = -Math.log(needColour) / timbreScale;
  let distance = 0;
  for (let d = 0; d < dims; d++) {
    const x = timbre[u * dims + d] - timbre[v * dims + d];
    distance += x * x;
    if (distance > limit) return false;
  }
  return true;
}

/** How many units u match unit u + lag. */
function matchesAtLag(chroma: Float64Array, tonal: Uint8Array, timbre: Float64Array, dims: number, timbreScale: number, units: number, lag: number): number {
  let count = 0;
  for (let u = 0; u + lag < units; u++) if (unitsMatch(chroma, tonal, timbre, dims, timbreScale, u, u + lag)) count++;
  return count;
}
