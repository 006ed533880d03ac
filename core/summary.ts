/**
 * Summarize: window captions + measurements → one description and the result document.
 * The LLM is a collaborator handed in (SummaryWriter); without one, or when it stays unavailable, the local
 * summary is built from the measurements and the de-duplicated caption content.
 */
import type { CaptionEntry, CaptionerInfo, Manifest, ResultChunk, ResultDocument, Summary } from './contract.ts';
import type { TrackTags, WindowTags } from './descriptors/types.ts';
import { CaptionsMissing } from './errors.ts';
import { formatClock } from './run-steps.ts';

export interface SummaryPrompt {
  system: string;
  user: string;
}

/** An LLM that turns a prompt into text. Adapters map its failures to the Summary* errors. */
export interface SummaryWriter {
  readonly model: string;
  write(prompt: SummaryPrompt): Promise<string>;
}

/** Merges the captions of every shard into one list in window order; the first caption of a window wins. */
export function mergeCaptionParts(parts: readonly CaptionEntry[][]): CaptionEntry[] {
  const byIndex = new Map<number, CaptionEntry>();
  for (const part of parts) for (const entry of part) if (!byIndex.has(entry.index)) byIndex.set(entry.index, entry);
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

/** Joins each window of the manifest with its caption; every window must have one. */
export function joinChunks(manifest: Manifest, captions: readonly CaptionEntry[]): ResultChunk[] {
  const byIndex = new Map(captions.map((entry) => [entry.index, entry]));
  const missing = manifest.windows.filter((window) => !byIndex.get(window.index)?.caption?.trim());
  if (missing.length > 0) {
    throw new CaptionsMissing(
      `The captioning step wrote no caption for ${missing.length} of ${manifest.windows.length} windows ` +
        `(${missing.slice(0, 5).map((w) => `${formatClock(w.startSec)}–${formatClock(w.endSec)}`).join(', ')}${missing.length > 5 ? ', …' : ''}).`,
    );
  }
  return manifest.windows.map((window) => {
    const entry = byIndex.get(window.index)!;
    return {
      index: window.index,
      startSec: window.startSec,
      endSec: window.endSec,
      caption: entry.caption.trim(),
      quality: entry.quality ?? 'ok',
      tags: window.tags,
    };
  });
}

export function buildResult(manifest: Manifest, chunks: ResultChunk[], summary: Summary, captioner: CaptionerInfo, now = new Date()): ResultDocument {
  return { id: manifest.id, status: 'SUCCEEDED', file: manifest.file, chunks, tags: manifest.tags, summary, captioner, createdAt: now.toISOString() };
}

const describeTempo = (tags: WindowTags) =>
  tags.bpm === null ? 'no steady beat measured' : `${Math.round(tags.bpm)} BPM (confidence ${tags.bpmConfidence.toFixed(2)})`;
const describeKey = (tags: WindowTags) => (tags.key ? `${tags.key} (confidence ${tags.keyConfidence.toFixed(2)})` : 'no clear key measured');

/** The prompt: captions with their times, and the measurements as facts the text must not contradict. */
export function summaryPrompt(manifest: Manifest, chunks: readonly ResultChunk[]): SummaryPrompt {
  const track = manifest.tags;
  const usable = chunks.filter((chunk) => chunk.quality !== 'degenerate');
  const lines = usable.map(
    (chunk) =>
      `[${formatClock(chunk.startSec)}–${formatClock(chunk.endSec)}] ${chunk.caption} ` +
      `(measured: ${describeTempo(chunk.tags)}; ${chunk.tags.key ?? 'no clear key'}; ${fmtLufs(chunk.tags.loudnessLufs)}; centroid ${Math.round(chunk.tags.spectralCentroidHz)} Hz)`,
  );
  return {
    system:
      'You write one description of a piece of music for a listener, in 3 to 5 sentences of plain prose. ' +
      'Ground every statement in the window captions and the measurements you are given. The measurements are facts: ' +
      'never state a tempo or a key other than the measured ones, and if no tempo or key was measured, do not name one. ' +
      'Describe how the music develops over time. Do not mention captions, windows, models or measurements as such.',
    user: [
      `Track: ${manifest.file.name}, ${formatClock(manifest.file.durationSec)} long.`,
      `Measured over the whole track: tempo ${describeTempo(track)}; key ${describeKey(track)}; integrated loudness ${fmtLufs(track.loudnessLufs)}, ` +
        `loudness range ${track.loudnessRangeLu.toFixed(1)} LU, peak ${track.peakDbfs.toFixed(1)} dBFS; spectral centroid ${Math.round(track.spectralCentroidHz)} Hz; ` +
        `${track.onsetsPerSec.toFixed(1)} onsets per second; percussive share ${Math.round(track.percussiveRatio * 100)}%; silence ${Math.round(track.silenceRatio * 100)}%.`,
      '',
      'Window captions in time order:',
      ...lines,
    ].join('\n'),
  };
}

function fmtLufs(lufs: number | null): string {
  return lufs === null ? 'near silence' : `${lufs.toFixed(1)} LUFS`;
}

const PITCH_CLASS: Record<string, number> = { C: 0, D: 2, E: 4, F: 5, G: 7, A: 9, B: 11 };

/** "F# minor" and "Gb minor" name the same key. */
function keyId(name: string): string | null {
  const match = /^([A-G])\s*([#♯b♭]?)\s*(major|minor)$/i.exec(name.trim());
  if (!match) return null;
  const letter = match[1].toUpperCase();
  const shift = match[2] === '#' || match[2] === '♯' ? 1 : match[2] === 'b' || match[2] === '♭' ? -1 : 0;
  return `${(PITCH_CLASS[letter] + shift + 12) % 12}:${match[3].toLowerCase()}`;
}

/**
 * Tempos and keys the text states that were not measured anywhere in the track. A stated tempo counts as
 * measured within 6 % of the track's or any window's tempo.
 */
export function findContradictions(text: string, track: TrackTags, windows: readonly WindowTags[]): string[] {
  const problems: string[] = [];
  const tempos = [track, ...windows].map((tags) => tags.bpm).filter((bpm): bpm is number => bpm !== null);
  for (const match of text.matchAll(/(\d{2,3}(?:\.\d+)?)\s*(?:bpm|beats per minute)/gi)) {
    const stated = Number(match[1]);
    if (!tempos.some((bpm) => Math.abs(stated - bpm) / bpm <= 0.06)) {
      problems.push(`states ${match[0]} but the measured tempo is ${tempos.length ? `${Math.round(track.bpm ?? tempos[0])} BPM` : 'not steady'}`);
    }
  }
  const keys = new Set([track, ...windows].map((tags) => (tags.key ? keyId(tags.key) : null)).filter(Boolean));
  for (const match of text.matchAll(/\b([A-G](?:[#♯b♭]|\s+(?:sharp|flat))?)\s+(major|minor)\b/g)) {
    const spelled = match[1].replace(/\s+sharp/, '#').replace(/\s+flat/, 'b');
    const id = keyId(`${spelled} ${match[2]}`);
    if (id && !keys.has(id)) problems.push(`states ${match[0]} but the measured key is ${track.key ?? 'unclear'}`);
  }
  return problems;
}

/** The local summary: the measurements and the distinct things the captions say, in plain sentences. */
export function localSummary(manifest: Manifest, chunks: readonly ResultChunk[], captioner?: CaptionerInfo): string {
  const track = manifest.tags;
  const facts: string[] = [];
  const tempo = track.bpm !== null && track.bpmConfidence >= 0.15 ? ` at about ${Math.round(track.bpm)} BPM` : ' with no steady beat';
  const key = track.key && track.keyConfidence >= 0.2 ? ` in ${track.key}` : '';
  facts.push(`"${manifest.file.name}" runs ${formatClock(manifest.file.durationSec)}${tempo}${key}.`);
  if (track.loudnessLufs !== null) {
    facts.push(
      `It measures ${track.loudnessLufs.toFixed(1)} LUFS overall with a loudness range of ${track.loudnessRangeLu.toFixed(1)} LU ` +
        `and peaks at ${track.peakDbfs.toFixed(1)} dBFS; its sound is ${track.spectralCentroidHz >= 1500 ? 'bright' : track.spectralCentroidHz >= 700 ? 'mellow' : 'dark'} ` +
        `and ${track.percussiveRatio >= 0.55 ? 'driven by percussion' : track.percussiveRatio <= 0.25 ? 'mostly tonal' : 'balanced between percussion and tones'}.`,
    );
  } else {
    facts.push('It is almost entirely silent.');
  }
  const audible = chunks.filter((chunk) => chunk.tags.loudnessLufs !== null);
  if (audible.length >= 2) {
    const loudest = audible.reduce((a, b) => (b.tags.loudnessLufs! > a.tags.loudnessLufs! ? b : a));
    const quietest = audible.reduce((a, b) => (b.tags.loudnessLufs! < a.tags.loudnessLufs! ? b : a));
    if (loudest.tags.loudnessLufs! - quietest.tags.loudnessLufs! >= 3) {
      facts.push(
        `It is loudest at ${span(loudest)} (${loudest.tags.loudnessLufs!.toFixed(0)} LUFS) and quietest at ${span(quietest)} (${quietest.tags.loudnessLufs!.toFixed(0)} LUFS).`,
      );
    } else {
      facts.push('Its level stays even from start to end.');
    }
    const tempos = audible.filter((chunk) => chunk.tags.bpm !== null && chunk.tags.bpmConfidence >= 0.3).map((chunk) => chunk.tags.bpm!);
    if (tempos.length >= 2 && Math.max(...tempos) / Math.min(...tempos) > 1.08) {
      facts.push(`The tempo moves between about ${Math.round(Math.min(...tempos))} and ${Math.round(Math.max(...tempos))} BPM.`);
    }
  }
  const captions = chunks.filter((chunk) => chunk.quality !== 'degenerate').map((chunk) => chunk.caption);
  // The built-in captioner's sentences restate the measurements above; only its sentences about change add to them.
  const said =
    captioner?.backend === 'builtin'
      ? distinctSentences(captions.flatMap((caption) => caption.split(/(?<=[.!?])\s+/)).filter((s) => CHANGE_WORDS.test(s)), 4)
      : distinctSentences(captions, 4);
  if (said.length > 0) facts.push(`Along the way: ${said.map((s) => lowerFirst(s.replace(/[.!]+$/, ''))).join('; ')}.`);
  const left = chunks.filter((chunk) => chunk.quality === 'degenerate').length;
  if (left > 0) facts.push(`${left} window caption${left === 1 ? ' was' : 's were'} left out because the captioner repeated itself.`);
  return facts.join(' ');
}

const CHANGE_WORDS = /\b(louder|quieter|brighter|darker|busier|sparser|picks up|eases back|moves from|comes in|drops away|settles|stops)\b/i;

function span(chunk: ResultChunk): string {
  return `${formatClock(chunk.startSec)}–${formatClock(chunk.endSec)}`;
}

function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text;
}

/** Sentences that say something new: a sentence sharing most of its words with one already kept is dropped. */
export function distinctSentences(captions: readonly string[], limit: number): string[] {
  const kept: Array<{ text: string; words: Set<string> }> = [];
  for (const caption of captions) {
    for (const sentence of caption.split(/(?<=[.!?])\s+/)) {
      const text = sentence.trim();
      const words = new Set(text.toLowerCase().match(/[a-z]+/g) ?? []);
      if (words.size < 3) continue;
      const similar = kept.some((other) => jaccard(words, other.words) >= 0.5);
      if (!similar) kept.push({ text, words });
      if (kept.length >= limit) return kept.map((k) => k.text);
    }
  }
  return kept.map((k) => k.text);
}

function jaccard(a: Set<string>, b: Set<string>): number {
  let shared = 0;
  for (const word of a) if (b.has(word)) shared++;
  return shared / (a.size + b.size - shared);
}

/** Writes the summary with the LLM, holding it to the measurements; one corrective try, then the caller falls back. */
export async function llmSummary(writer: SummaryWriter, manifest: Manifest, chunks: readonly ResultChunk[]): Promise<{ text: string } | { rejected: string }> {
  const prompt = summaryPrompt(manifest, chunks);
  const windowTags = chunks.map((chunk) => chunk.tags);
  let text = (await writer.write(prompt)).trim();
  let problems = findContradictions(text, manifest.tags, windowTags);
  if (problems.length > 0) {
    text = (
      await writer.write({
        system: prompt.system,
        user: `${prompt.user}\n\nYour previous answer ${problems.join('; ')}. Write it again using only the measured values.`,
      })
    ).trim();
    problems = findContradictions(text, manifest.tags, windowTags);
  }
  if (problems.length > 0) return { rejected: `the LLM's summary contradicted the measurements (${problems.join('; ')})` };
  if (!text) return { rejected: 'the LLM returned an empty summary' };
  return { text };
}
