/**
 * Summarize: window captions + measurements → one description and the result document.
 * The LLM is a collaborator handed in (SummaryWriter), held to the measured tempo, meter and key sections;
 * without one, or when it stays unavailable or keeps contradicting them, the local summary describes the
 * song's shape from the measurements (core/song-shape.ts).
 */
import type { CaptionEntry, CaptionerInfo, Manifest, ResultChunk, ResultDocument, Summary } from './contract.ts';
import type { TrackAnalysis, TrackTags } from './descriptors/types.ts';
import { CaptionsMissing } from './errors.ts';
import { formatClock } from './run-steps.ts';
import {
  analysisOrFallback,
  cancelsInMono,
  hasBeat,
  isSilent,
  levelClass,
  levelScale,
  openingKey,
  firstPassEnd,
  loopFact,
  windowOwnStart,
  sectionKeys,
  sectionsDifferInLevel,
  sectionStory,
  openingTempo,
  songShape,
  statedMeter,
  tempoAt,
  tempoOnReturnWords,
  type ShapeEvent,
  type TrackContext,
} from './song-shape.ts';
import {
  againstReference,
  colourWord,
  EVEN_LEVEL_RANGE_LU,
  LEVEL_FACTS,
  masterLevel,
  meterWords,
  beatStated,
  NEAR_SILENCE,
  NO_CLEAR_KEY,
  NO_METER,
  NO_STEADY_BEAT,
  normalizeKeyName,
  overStreamingPeak,
  SAME_TEMPO_SHARE,
  STREAMING_MAX_TRUE_PEAK_DBTP,
  STREAMING_REFERENCE_LUFS,
  textureWords,
} from './vocabulary.ts';

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
  return {
    id: manifest.id,
    status: 'SUCCEEDED',
    file: manifest.file,
    chunks,
    tags: manifest.tags,
    analysis: analysisOf(manifest),
    ...(manifest.sections ? { sections: manifest.sections } : {}),
    summary,
    captioner,
    createdAt: now.toISOString(),
  };
}

function analysisOf(manifest: Manifest): TrackAnalysis {
  return analysisOrFallback(manifest.analysis, manifest.tags, manifest.file.durationSec);
}

const describeTempo = (tags: TrackTags) =>
  tags.bpm === null ? `${NO_STEADY_BEAT} measured` : `${Math.round(tags.bpm)} BPM (confidence ${tags.bpmConfidence.toFixed(2)})`;
const describeMeter = (tags: TrackTags) => {
  const meter = statedMeter(tags);
  return meter ? `${meter} (confidence ${tags.meterConfidence.toFixed(2)})` : NO_METER;
};

/**
 * The prompt: the whole-track facts (tempo and meter, tempo changes and key sections with their times, the
 * file's loudness against the streaming reference), the song's shape, and the captions with their times.
 */
export function summaryPrompt(manifest: Manifest, chunks: readonly ResultChunk[]): SummaryPrompt {
  const track = manifest.tags;
  const analysis = analysisOf(manifest);
  const context = { track, analysis, sections: manifest.sections };
  const scale = levelScale(context, chunks);
  const usable = chunks.filter((chunk) => chunk.quality !== 'degenerate');
  const lines = usable.map((chunk) => {
    const cls = levelClass(chunk.tags, scale);
    const level = chunk.tags.loudnessLufs === null ? NEAR_SILENCE : `${chunk.tags.loudnessLufs.toFixed(0)} LUFS, ${LEVEL_FACTS[cls]}`;
    return `[${formatClock(chunk.startSec)}–${formatClock(chunk.endSec)}] ${chunk.caption} (${hasBeat(chunk.tags) ? 'beat' : NO_STEADY_BEAT}; ${level})`;
  });
  const sections = (analysis.keySections ?? []).map(
    (section) => `${formatClock(section.startSec)}–${formatClock(section.endSec)} ${section.key ?? NO_CLEAR_KEY} (confidence ${section.confidence.toFixed(2)})`,
  );
  const changes = (analysis.tempoChanges ?? []).map(
    (change) => `at ${formatClock(change.atSec)} ${change.kind === 'gradual' ? 'gradually' : 'a step'} from ${Math.round(change.fromBpm)} to ${Math.round(change.toBpm)} BPM`,
  );
  const loudness =
    track.loudnessLufs === null
      ? NEAR_SILENCE
      : `integrated ${track.loudnessLufs.toFixed(1)} LUFS (${againstReference(track.loudnessLufs)}: ${masterLevel(track.loudnessLufs, track.loudnessRangeLu)}), ` +
        `loudness range ${track.loudnessRangeLu.toFixed(1)} LU${Number.isFinite(track.truePeakDbtp) ? `, true peak ${track.truePeakDbtp.toFixed(1)} dBTP` : ''}`;
  const shape = shapePhrases(songShape(chunks, context));
  const parts = (manifest.sections ?? []).slice(0, 40).map((s) => {
    const facts = [
      s.name,
      s.tags.bpm !== null && track.bpm !== null ? `${Math.round(s.tags.bpm)} BPM` : null,
      s.tags.key,
      s.tags.loudnessLufs === null ? NEAR_SILENCE : `${s.tags.loudnessLufs.toFixed(0)} LUFS`,
    ].filter(Boolean);
    return `${formatClock(s.startSec)}–${formatClock(s.endSec)} ${s.label} (${facts.join(', ')})`;
  });
  return {
    system:
      'You write one description of a piece of music for a listener, in 3 to 5 sentences of plain prose. ' +
      'Ground every statement in the facts and the window captions you are given. The facts are measurements: never state a tempo, ' +
      'meter or key other than the measured ones; a key belongs to its section and its times, a tempo change happens only where one is listed; ' +
      'if no tempo, meter or key was measured, do not name one. Speak of level as a listener does: against the track\'s own quiet and loud ' +
      `parts and against the usual streaming level of ${STREAMING_REFERENCE_LUFS} LUFS (a master louder than that is loud, never soft). ` +
      'Describe how the music develops over time: where it builds, breaks down, goes quiet, changes key or tempo. ' +
      'Where sections are given, tell the song in them: sections with the same letter hold the same music, so say when a part returns; ' +
      'call a section intro, outro, break or peak only where it is named so. ' +
      'Do not mention captions, windows, models or measurements as such.',
    user: [
      `Track: ${manifest.file.name}, ${formatClock(manifest.file.durationSec)} long.`,
      `Measured over the whole track: tempo ${describeTempo(track)}; meter ${describeMeter(track)}; key ${track.key ?? NO_CLEAR_KEY}.`,
      `Tempo changes: ${changes.length > 0 ? `opening at about ${Math.round(openingTempo(track, analysis) ?? 0)} BPM, then ${changes.join('; ')}` : 'none (one tempo throughout)'}.`,
      `Key sections: ${sections.length > 0 ? sections.join('; ') : 'none measured'}.`,
      `Sections (the same letter is the same music): ${parts.length > 0 ? parts.join('; ') : 'one throughout'}${(manifest.sections?.length ?? 0) > parts.length ? '; …' : ''}.`,
      ...(analysis.loop ? [`Repeats as a whole: ${loopFact(analysis.loop)}. Tell the piece once and say how often it comes round.`] : []),
      `Loudness of the file: ${loudness}.`,
      `Sound: spectral centroid ${Math.round(track.spectralCentroidHz)} Hz; ${track.onsetsPerSec.toFixed(1)} onsets per second; ` +
        `percussive share ${Math.round(track.percussiveRatio * 100)}%; silence ${Math.round(track.silenceRatio * 100)}%.`,
      `Shape: ${shape.length > 0 ? `it ${joinList(shape)}` : 'even from start to end'}.`,
      '',
      'Window captions in time order:',
      ...lines,
    ].join('\n'),
  };
}

/** "F# minor" and "Gb minor" name the same key. */
const keyId = (name: string) => normalizeKeyName(name) ?? null;

const METER_WORDS: Array<[RegExp, string]> = [
  [/\bcommon time\b/gi, '4/4'],
  [/\bwaltz time\b/gi, '3/4'],
  [/\btriple (?:meter|metre|time)\b/gi, '3/4'],
  [/\bduple (?:meter|metre|time)\b/gi, '2/4'],
];

/**
 * What the text states that was not measured: a tempo not within SAME_TEMPO_SHARE (8 %) of the track's tempo, its opening
 * tempo or its tempo changes, a key that is not among the key sections' keys, a meter other than the measured one (or any meter
 * when none was heard with confidence).
 */
export function findContradictions(text: string, track: TrackTags, analysis: TrackAnalysis): string[] {
  const problems: string[] = [];
  const changes = analysis.tempoChanges ?? [];
  const tempos = [track.bpm, openingTempo(track, analysis), ...changes.flatMap((change) => [change.fromBpm, change.toBpm])].filter(
    (bpm): bpm is number => bpm !== null && Number.isFinite(bpm),
  );
  // Every tempo a gradual change passes through was measured too.
  const glides = changes.filter((change) => change.kind === 'gradual').map((change) => [Math.min(change.fromBpm, change.toBpm), Math.max(change.fromBpm, change.toBpm)]);
  for (const match of text.matchAll(/(\d{2,3}(?:\.\d+)?)\s*(?:bpm|beats per minute)/gi)) {
    const stated = Number(match[1]);
    const measured = tempos.some((bpm) => Math.abs(stated - bpm) / bpm <= SAME_TEMPO_SHARE) || glides.some(([low, high]) => stated >= low && stated <= high);
    if (!measured) {
      problems.push(`states ${match[0]} but the measured tempo is ${track.bpm !== null ? `${Math.round(track.bpm)} BPM` : tempos.length ? `${Math.round(tempos[0])} BPM` : 'not steady'}`);
    }
  }
  const sectionKeyNames = [...new Set([...(analysis.keySections ?? []).map((section) => section.key), track.key].filter((key): key is string => Boolean(key)))];
  const keys = new Set(sectionKeyNames.map(keyId).filter(Boolean));
  for (const match of text.matchAll(/\b([A-G](?:[#♯b♭]|\s+(?:sharp|flat))?)[\s-]+(major|minor)\b/g)) {
    // "A major change comes at 1:30": the article, not the key of A.
    const before = text.slice(0, match.index);
    const after = text.slice(match.index + match[0].length);
    if (match[1] === 'A' && /(^|[.!?:]\s+)$/.test(before) && /^\s+[a-z]/.test(after) && !/^\s+(key|tonality|mode)\b/.test(after)) continue;
    const spelled = match[1].replace(/\s+sharp/, '#').replace(/\s+flat/, 'b');
    const id = keyId(`${spelled} ${match[2]}`);
    if (id && !keys.has(id)) problems.push(`states ${match[0]} but the measured key${sectionKeyNames.length > 1 ? 's are' : ' is'} ${sectionKeyNames.length ? sectionKeyNames.join(', ') : 'unclear'}`);
  }
  const stated: Array<[string, string]> = [...text.matchAll(/(?<![\d/])\b(2|3|4|5|6|7|9|12)\s*\/\s*(2|4|8)\b(?![\d/])/g)].map((m) => [m[0], `${m[1]}/${m[2]}`]);
  for (const [pattern, meter] of METER_WORDS) for (const m of text.matchAll(pattern)) stated.push([m[0], meter]);
  // A meter heard with too little confidence is not stated anywhere, so the text may not state one either.
  const measuredMeter = statedMeter(track);
  for (const [words, meter] of stated) {
    if (meter !== measuredMeter) problems.push(`states ${words} but the measured meter is ${measuredMeter ?? NO_METER}`);
  }
  return problems;
}

/**
 * What the summary may say of a track whose shape tells no change. "Even" only where nothing said so far tells a
 * change: with sections, their texture changes, so only the level can stay even, and not where a part is told
 * louder, quieter, a break or an outro. The level stays even only where the loudness range says so too (Drascula's
 * 9-second sting, silent for two of its seconds, read "stay even" beside a 12.1 LU range): above that band the loud
 * and soft passages come and go inside the 10-second windows, and no part stands out. One window compares nothing.
 */
function evenness(context: TrackContext, windowCount: number): string[] {
  const evenLevel = context.track.loudnessRangeLu < EVEN_LEVEL_RANGE_LU;
  if (windowCount < 2) return evenLevel ? ['Its level stays even from start to end.'] : [];
  if ((context.sections?.length ?? 0) < 2) {
    return [evenLevel ? 'Its level and texture stay even from start to end.' : 'Its texture stays even from start to end, and no part of it is louder or quieter than the rest.'];
  }
  if (sectionsDifferInLevel(context)) return [];
  return [evenLevel ? 'Its level stays even from start to end.' : 'No part of it is louder or quieter than the rest.'];
}

/**
 * The local summary: the song's shape with times — where it builds, breaks down, goes quiet, changes key or
 * tempo — and the tempo, meter, key and loudness facts once. BART's captions add what they hear; the
 * built-in captioner's captions say the same as the shape, so they are not repeated.
 */
export function localSummary(manifest: Manifest, chunks: readonly ResultChunk[], captioner?: CaptionerInfo): string {
  const track = manifest.tags;
  const analysis = analysisOf(manifest);
  const context = { track, analysis, sections: manifest.sections };
  const facts: string[] = [];
  const audible = chunks.some((chunk) => !isSilent(chunk.tags));
  const cancelled = chunks.filter((chunk) => cancelsInMono(chunk.tags)).length;
  if (track.loudnessLufs !== null && !audible && cancelled > 0) {
    facts.push(
      `"${manifest.file.name}" runs ${formatClock(manifest.file.durationSec)} and plays at ${track.loudnessLufs.toFixed(1)} LUFS in stereo, ` +
        'but its left and right channels cancel when mixed to mono (one is the other inverted), so its mono mix, which is what is analysed, ' +
        'is near silence: no beat or key can be named. Played on a mono speaker it would be all but inaudible.',
    );
    return facts.join(' ');
  }
  if (track.loudnessLufs === null || !audible) {
    facts.push(`"${manifest.file.name}" runs ${formatClock(manifest.file.durationSec)} and is almost entirely silent: no beat, no key and no level to speak of.`);
    return facts.join(' ');
  }

  const meter = statedMeter(track);
  const tempo =
    beatStated(track)
      ? `${(analysis.tempoChanges ?? []).length > 0 ? ', starting' : ''} at about ${Math.round(tempoAt(context, 0) ?? track.bpm)} BPM${meter ? ` ${meterWords(meter)}` : ''}`
      : ` with ${NO_STEADY_BEAT}`;
  // The opening key; where the key path moves on, "opening in" it (the track's own key, the one held longest, may be
  // another: the site's tag shows that one, and the shape below tells each change).
  // A track whose key path starts without a clear key does not open in its first stated key: the shape tells where
  // it settles in it (Warzone 2100's menu theme read "opening in G minor" and "settles in G minor at 0:57").
  const keys = sectionKeys(analysis);
  const firstKey = openingKey(context);
  const key = firstKey
    ? `, ${keys.length > 1 ? 'opening ' : ''}in ${firstKey}`
    : `, with ${NO_CLEAR_KEY}${keys.length > 0 ? ' at first' : ''}`;
  // "with no steady beat and no clear key", not "with no steady beat, with no clear key".
  const tempoAndKey = tempo.startsWith(' with ') && key.startsWith(', with ') ? `${tempo} and ${key.slice(', with '.length)}` : `${tempo}${key}`;
  facts.push(`"${manifest.file.name}" runs ${formatClock(manifest.file.durationSec)}${tempoAndKey}.`);

  const lufs = track.loudnessLufs;
  const peak = Number.isFinite(track.truePeakDbtp)
    ? ` and true peaks at ${track.truePeakDbtp.toFixed(1)} dBTP${overStreamingPeak(track.truePeakDbtp) ? ` (above the ${STREAMING_MAX_TRUE_PEAK_DBTP} dBTP that streaming services ask for)` : ''}`
    : '';
  facts.push(
    `The master is ${masterLevel(lufs, track.loudnessRangeLu)}: ${lufs.toFixed(1)} LUFS integrated, ${againstReference(lufs)}, ` +
      `with a loudness range of ${track.loudnessRangeLu.toFixed(1)} LU${peak}.`,
  );

  // A looped track is told over its first pass: the later ones repeat it (Planet Blupi's 29-minute files, a piece
  // played five or ten times, told the same parts and breaks over and over). A closing fade is still told.
  const passEnd = firstPassEnd(analysis);
  if (analysis.loop) facts.push(`${loopFact(analysis.loop)}; it is told here once.`);
  facts.push(...sectionStory(analysis.loop ? { ...context, sections: context.sections?.filter((section) => section.startSec < passEnd - 1) } : context));
  const shape = songShape(chunks, context);
  // Events are placed at the start of their window: the window where the music comes round again is the next pass's.
  const restartWindow = chunks.findIndex((chunk, i) => passEnd >= windowOwnStart(chunks, i) && passEnd < chunk.endSec);
  const storyEnd = restartWindow >= 0 ? chunks[restartWindow].startSec : passEnd;
  const events = shape.filter((event, k) => event.atSec < storyEnd || (k === shape.length - 1 && event.kind === 'fade'));
  if (events.length === 0) facts.push(...evenness(context, chunks.length));
  facts.push(...shapeSentences(events));
  facts.push(`Its sound is ${colourWord(track.spectralCentroidHz)}: ${textureWords(track)}.`);

  if (captioner?.backend !== 'builtin') {
    const captions = chunks.filter((chunk) => chunk.quality !== 'degenerate').map((chunk) => chunk.caption);
    const said = distinctSentences(captions, 4);
    if (said.length > 0) facts.push(`Along the way: ${said.map((s) => lowerFirst(s.replace(/[.!]+$/, ''))).join('; ')}.`);
  }
  const left = chunks.filter((chunk) => chunk.quality === 'degenerate').length;
  if (left > 0) facts.push(`${left} window caption${left === 1 ? ' was' : 's were'} left out because the captioner repeated itself.`);
  return facts.join(' ');
}

/** Past this many events (and a closing fade) the shape tells the first ones and counts the rest by kind. */
const SHAPE_MAX_EVENTS = 16;

/** How the events past the limit are counted: what each kind does (a return is the end of a quiet passage, not counted). */
const COUNTED_EVENT_WORDS: Partial<Record<ShapeEvent['kind'], string>> = {
  break: 'goes quiet',
  'beat-out': 'drops the beat',
  build: 'builds',
  peak: 'reaches its loudest',
  modulation: 'changes key',
  tempo: 'changes tempo',
};

/**
 * The shape in sentences of four phrases. Past SHAPE_MAX_EVENTS the rest is counted by kind, as the section story
 * counts its sections: Planet Blupi's 29-minute loop (a 6-minute piece played five times) was told in 60 events
 * over 2,400 characters. A fade that ends the track is told whatever comes before it.
 */
function shapeSentences(events: readonly ShapeEvent[]): string[] {
  const phrases = shapePhrases(events);
  const inFours = (told: readonly string[]) =>
    Array.from({ length: Math.ceil(told.length / 4) }, (_, i) => `${i === 0 ? 'It' : 'Then it'} ${joinList(told.slice(4 * i, 4 * i + 4))}.`);
  const closingFade = events.at(-1)?.kind === 'fade';
  const body = events.length - (closingFade ? 1 : 0);
  // One event past the limit is told: counting it takes as many words.
  if (body <= SHAPE_MAX_EVENTS + 1) return inFours(phrases);

  const toldKinds = new Set(events.slice(0, SHAPE_MAX_EVENTS).map((event) => event.kind));
  const counts = new Map<ShapeEvent['kind'], number>();
  for (const event of events.slice(SHAPE_MAX_EVENTS, body)) {
    if (COUNTED_EVENT_WORDS[event.kind]) counts.set(event.kind, (counts.get(event.kind) ?? 0) + 1);
  }
  const counted = [...counts].map(([kind, n]) => {
    const more = toldKinds.has(kind);
    return `${COUNTED_EVENT_WORDS[kind]} ${n === 1 ? (more ? 'once more' : 'once') : `${n}${more ? ' more' : ''} times`}`;
  });
  if (counted.length === 0) return inFours(phrases);
  const fade = closingFade ? `, and ${phrases.at(-1)}` : '';
  return [...inFours(phrases.slice(0, SHAPE_MAX_EVENTS)), `From ${formatClock(events[SHAPE_MAX_EVENTS].atSec)} on, it ${joinList(counted)}${fade}.`];
}

/** The shape as verb phrases with times: "builds from 0:20 to 0:50", "moves to E major at 1:32". */
function shapePhrases(events: readonly ShapeEvent[]): string[] {
  const out: string[] = [];
  const keysHeard = new Set<string>();
  let modulations = 0;
  for (const event of events) {
    const at = formatClock(event.atSec);
    switch (event.kind) {
      case 'quiet-opening':
        out.push('opens quietly');
        break;
      case 'build':
        out.push(`builds from ${at} to ${formatClock(event.endSec)}`);
        break;
      case 'peak':
        out.push(`is at its loudest from ${at} to ${formatClock(event.endSec)}`);
        break;
      case 'break':
        out.push(
          event.silent
            ? `stops at ${at}`
            : event.beatDrops
              ? `breaks down to a quiet passage without the beat at ${at}`
              : `goes quiet at ${at}`,
        );
        break;
      case 'beat-out':
        out.push(`drops the beat at ${at}`);
        break;
      case 'return':
        out.push(`comes back in at ${at}${event.tempo ? tempoOnReturnWords(event.tempo) : ''}`);
        break;
      case 'modulation':
        if (event.from) keysHeard.add(event.from);
        if (event.from && event.to) {
          out.push(keysHeard.has(event.to) ? `returns to ${event.to} at ${at}` : modulations > 0 ? `moves on to ${event.to} at ${at}` : `modulates from ${event.from} to ${event.to} at ${at}`);
          modulations++;
        } else if (event.to) out.push(keysHeard.has(event.to) ? `returns to ${event.to} at ${at}` : `settles in ${event.to} at ${at}`);
        else out.push(`loses its clear key at ${at}`);
        if (event.to) keysHeard.add(event.to);
        break;
      case 'tempo': {
        const { change } = event;
        const faster = change.toBpm > change.fromBpm;
        out.push(
          change.kind === 'gradual'
            ? `${faster ? 'speeds up' : 'slows'} gradually from about ${Math.round(change.fromBpm)} to ${Math.round(change.toBpm)} BPM from ${at}`
            : `${faster ? 'steps up' : 'drops'} from about ${Math.round(change.fromBpm)} to ${Math.round(change.toBpm)} BPM at ${at}`,
        );
        break;
      }
      case 'fade':
        out.push(event.silent ? `stops at ${at}, with silence to the end` : `fades out from ${at}`);
        break;
    }
  }
  return out;
}

function joinList(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
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
  const analysis = analysisOf(manifest);
  let text = (await writer.write(prompt)).trim();
  let problems = findContradictions(text, manifest.tags, analysis);
  if (problems.length > 0) {
    text = (
      await writer.write({
        system: prompt.system,
        user: `${prompt.user}\n\nYour previous answer ${problems.join('; ')}. Write it again using only the measured tempo, meter and keys.`,
      })
    ).trim();
    problems = findContradictions(text, manifest.tags, analysis);
  }
  if (problems.length > 0) return { rejected: `the LLM's summary contradicted the measurements (${problems.join('; ')})` };
  if (!text) return { rejected: 'the LLM returned an empty summary' };
  return { text };
}
