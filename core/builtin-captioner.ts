/**
 * The captioner that stands in where no BART weights are present: each window's caption is written from the
 * measurements, in the context of the whole track (its tempo, meter, key sections, tempo changes and level).
 *
 * The first window of music says what is there, with the numbers (tempo, meter, key, how loud the master
 * is against the −14 LUFS streaming reference). Every later window says only what changed — a tempo change
 * the beat grid shows, a modulation where the key sections have a boundary, the beat dropping out or coming
 * back, a build, a quiet break, a return of earlier music, louder, brighter, busier — and a window of the
 * same music says so in few words, worded by what little differs and where in the song it is, so that no
 * two neighbouring captions read alike. Levels are words relative to the track itself; nothing is said that
 * was not measured.
 */
import type { CaptionEntry, ManifestWindow } from './contract.ts';
import type { SongSection, WindowTags } from './descriptors/types.ts';
import { formatClock } from './run-steps.ts';
import {
  beatToldAt,
  hasBeat,
  isQuiet,
  cancelsInMono,
  isSilent,
  keyChanges,
  loopRestarts,
  ordinal,
  sectionAt,
  songShape,
  statedKey,
  sectionKeyAt,
  statedMeter,
  tempoAt,
  tempoChangeWords,
  tempoOnReturnWords,
  type ToldTempoChange,
  windowOwnStart,
  windowReadings,
  withoutNumbers,
  type ShapeEvent,
  type TrackContext,
} from './song-shape.ts';
import {
  activityChange,
  brightnessChange,
  CHANGE_WORDS,
  colourWord,
  FREE_FLOWING_BELOW_ONSETS,
  GROOVE_HYSTERESIS,
  GROOVE_MIN_PERCUSSIVE,
  masterLevel,
  meterWords,
  NO_CLEAR_KEY,
  NO_STEADY_BEAT,
  NOTICEABLE_CHANGE,
  PART_LATE_IN_WINDOW,
  percussionChange,
  percussionWords,
  SAME_MUSIC_UNITS,
  SAME_TEMPO_SHARE,
  tempoWord,
  textureWords,
  TRACK_LEVEL,
  type LevelClass,
} from './vocabulary.ts';

export const BUILTIN_CAPTIONER = { backend: 'builtin', model: 'measurements-v2' } as const;

export type { TrackContext } from './song-shape.ts';

/** How far apart a pass's opening part and the loop's own restart may be found and still be one event (seconds). */
const LOOP_PART_SLACK_SEC = 10;

/** Captions every window, each against the one before and the whole track. */
export function captionWindows(windows: readonly ManifestWindow[], context: TrackContext): CaptionEntry[] {
  const writer = new CaptionWriter(windows, context);
  const captions: string[] = [];
  for (let i = 0; i < windows.length; i++) {
    const before = i > 0 ? withoutNumbers(captions[i - 1]) : undefined;
    let caption = writer.caption(i, 0);
    // Same words as the window before: say it another way (the variants differ by construction).
    for (let variant = 1; variant < 6 && before !== undefined && withoutNumbers(caption) === before; variant++) caption = writer.caption(i, variant);
    captions.push(caption);
  }
  return windows.map((window, i) => ({ index: window.index, startSec: window.startSec, endSec: window.endSec, caption: captions[i], quality: 'ok' }));
}

class CaptionWriter {
  private readonly classes: LevelClass[];
  /** Whether each window's beat is a groove (percussive) or a pulse, with hysteresis (grooveWindows). */
  private readonly grooves: boolean[];
  /** The beat of each window as told: true, false, or null where the window's own measurement wavers (narratedBeats). */
  private readonly beats: Array<boolean | null>;
  private readonly shape: ShapeEvent[];
  /** Where each tempo change is told (toldTempoChanges): a step while the beat was out, with the beat's return. */
  private readonly tempoTold: readonly ToldTempoChange[];
  private readonly durationSec: number;
  /** Where the music comes round again as a whole (analysis.loop). */
  private readonly restarts: number[];
  /** Windows already said to bring back earlier music: two in a row would be noise, not form. */
  private readonly returns = new Set<number>();

  constructor(
    private readonly windows: readonly ManifestWindow[],
    private readonly context: TrackContext,
  ) {
    const readings = windowReadings(windows, context);
    this.classes = readings.classes;
    this.grooves = grooveWindows(windows);
    this.beats = readings.beats;
    this.shape = songShape(windows, context, readings);
    this.tempoTold = readings.tempo;
    this.durationSec = windows.length > 0 ? Math.max(...windows.map((w) => w.endSec)) : 0;
    this.restarts = loopRestarts(context.analysis, this.durationSec);
  }

  /** The caption of window i; `variant` picks another wording of the same content. */
  caption(i: number, variant: number): string {
    const { windows } = this;
    const tags = windows[i].tags;
    const musicBefore = windows.slice(0, i).some((w) => !isSilent(w.tags));
    if (cancelsInMono(tags)) return this.cancelled(i, variant);
    if (isSilent(tags)) return this.silence(i, variant, musicBefore);
    if (!musicBefore) return this.opening(i);
    return this.change(i, variant);
  }

  /** Where window i's own time starts (windowOwnStart). */
  private ownStart(i: number): number {
    return windowOwnStart(this.windows, i);
  }

  private within(i: number, atSec: number): boolean {
    return atSec >= this.ownStart(i) && atSec < this.windows[i].endSec && atSec > 0;
  }

  /** Music the stereo file holds but its mono mix cancels: say so, rather than call it silence. */
  private cancelled(i: number, variant: number): string {
    const lufs = Math.round(this.windows[i].tags.loudnessLufs!);
    if (i === 0 || !cancelsInMono(this.windows[i - 1].tags)) {
      return `The left and right channels cancel when mixed to mono (one is the other inverted): the file plays at about ${lufs} LUFS, ` +
        'but in mono, which is what is analysed here, it is near silence, so no beat or key can be named.';
    }
    const pool = ['The channels still cancel in mono.', 'Still heard only in stereo: the mono mix stays silent.', 'The mono mix is still cancelled out.'];
    return pool[(i + variant) % pool.length];
  }

  private silence(i: number, variant: number, musicBefore: boolean): string {
    const last = i === this.windows.length - 1;
    const previousSilent = i > 0 && isSilent(this.windows[i - 1].tags);
    if (!previousSilent) {
      if (!musicBefore) return 'Near silence, with no music to speak of.';
      return last || this.windows.slice(i).every((w) => isSilent(w.tags)) ? 'The music ends: near silence.' : 'The music stops: near silence.';
    }
    let run = 0;
    while (i - run - 1 >= 0 && isSilent(this.windows[i - run - 1].tags)) run++;
    if (last) return variant % 2 === 0 ? 'Silence to the end.' : 'Still silent to the end.';
    const pool = ['Still near silence.', 'The silence goes on.', 'Nothing but silence here.', 'More silence.'];
    return pool[(run + variant) % pool.length];
  }

  /** The first window with music: what is there, with the numbers. */
  private opening(i: number): string {
    const { track } = this.context;
    const tags = this.windows[i].tags;
    const lead = i === 0 ? 'Opens with' : 'Out of the silence comes';
    const middle = (this.windows[i].startSec + this.windows[i].endSec) / 2;
    const first = `${lead} ${this.pulse(tags, middle, this.grooves[i])}${this.tonality(tags, middle)}.`;
    const cls = this.classes[i];
    const master = masterLevel(track.loudnessLufs ?? tags.loudnessLufs, track.loudnessRangeLu);
    const trackLufs = track.loudnessLufs ?? tags.loudnessLufs!;
    const level = isQuiet(cls)
      ? `A quiet start (${Math.round(tags.loudnessLufs!)} LUFS) to a track that is ${master} (${Math.round(trackLufs)} LUFS overall)`
      // "Overall": the master's level, which the window's own figure beside the caption can differ from by a few LU.
      : `${capitalize(master)} (about ${Math.round(trackLufs)} LUFS overall)`;
    const silent = tags.silenceRatio >= TRACK_LEVEL.partlySilentShare ? ` About ${Math.round(tags.silenceRatio * 100)}% of it is silent.` : '';
    return `${first} ${level}; ${colourWord(tags.spectralCentroidHz)}, ${textureWords(tags)}.${silent}`;
  }

  /**
   * The window's beat at the track's tempo in effect there (the beat grid's metrical level, as the summary states it);
   * without a number where the window's own tempo disagrees with it (toldBpmMatching).
   */
  private pulse(tags: WindowTags, atSec: number, groove: boolean): string {
    if (!hasBeat(tags)) return tags.onsetsPerSec < FREE_FLOWING_BELOW_ONSETS ? `free-flowing sound and ${NO_STEADY_BEAT}` : `a loose rhythm and ${NO_STEADY_BEAT}`;
    const told = this.toldBpmMatching(tags, atSec);
    const meter = statedMeter(this.context.track);
    const meterText = meter ? ` ${meterWords(meter)}` : '';
    if (told === null) return `a steady ${groove ? 'groove' : 'beat'}${meterText}`;
    const bpm = Math.round(told);
    const word = tempoWord(bpm);
    // "An upbeat beat" will not do: the noun is the one the later windows use for this beat, groove or pulse.
    const noun = word === 'upbeat' ? `an upbeat ${groove ? 'groove' : 'pulse'}` : `a ${word} beat`;
    return `${noun} at about ${bpm} BPM${meterText}`;
  }

  /**
   * The tempo in effect at `atSec` as the story tells it, or null where the window's own tempo (the figure shown beside
   * its caption) is not the same tempo at any metrical level (SAME_TEMPO_SHARE): a beat that comes in or opens a track
   * off the track's tempo with no tempo change to tell (Wesnoth's Knolls comes in at 105-107 for its first minute and
   * a half, and its grid shows no change the tempo states bear out before it settles at 120; its caption said "a
   * steady beat comes in at about 118 BPM" beside the window's 107). The caption then names no number; the window's
   * own stands beside it.
   */
  private toldBpmMatching(tags: WindowTags, atSec: number): number | null {
    const told = this.bpmAt(tags, atSec);
    if (tags.bpm === null) return told;
    // At another metrical level (double or half time) the window still reads the told tempo.
    const ratio = tags.bpm / told;
    const sameLevel = ratio / 2 ** Math.round(Math.log2(ratio));
    return Math.abs(sameLevel - 1) >= SAME_TEMPO_SHARE ? null : told;
  }

  private bpmAt(tags: WindowTags, atSec: number): number {
    return tempoAt(this.context, atSec) ?? tags.bpm!;
  }

  /** The key of the window's key section; the window's own only where there are no sections. */
  private tonality(tags: WindowTags, atSec: number): string {
    const section = sectionKeyAt(this.context, atSec);
    const key = section === undefined ? statedKey(tags.key, tags.keyConfidence) : section;
    return key ? `, in ${key}` : `, with ${NO_CLEAR_KEY}`;
  }

  /** A later window of music: what changed, or that the same music goes on. */
  private change(i: number, variant: number): string {
    const { windows, classes } = this;
    const tags = windows[i].tags;
    const before = windows[i - 1].tags;
    const cls = classes[i];
    const previous = classes[i - 1];
    const major: string[] = [];
    let levelSaid = false;
    const beginning = this.sectionBeginningIn(i);

    // Where the music comes round again as a whole (analysis.loop), that is the news, first: the part it opens with
    // returns with it, unannounced.
    const pass = this.restarts.findIndex((at) => this.within(i, at));
    if (pass >= 0) major.push(`the music comes round again, the ${ordinal(pass + 2)} time through`);
    if (isSilent(before)) {
      major.push(`the music comes back in${hasBeat(tags) ? ' with the beat' : ''}`);
      levelSaid = true;
    }
    const tempoHere = this.tempoTold.filter((told) => told.window === i);
    // A step while the beat was out goes with the words for its return, where they are said here.
    let tempoOnReturn = tempoHere.find((told) => told.withBeatReturn)?.change;
    for (const { change } of tempoHere) if (change !== tempoOnReturn) major.push(tempoChangeWords(change));
    let beatBack = false;
    // The beat as told (narratedBeats): a lone window whose own measurement wavers says nothing of it either way.
    const beatNow = this.beats[i];
    const beatThen = beatToldAt(this.beats, i - 1);
    if (!isSilent(before) && beatNow !== null) {
      if (!beatNow && beatThen) major.push(isQuiet(cls) ? 'the beat drops out' : 'the steady beat drops out');
      if (beatNow && !beatThen) {
        const beatBefore = this.beats.slice(0, i).some((told) => told === true);
        if (!beatBefore) {
          const told = this.toldBpmMatching(tags, (windows[i].startSec + windows[i].endSec) / 2);
          major.push(told === null ? 'a steady beat comes in' : `a steady beat comes in at about ${Math.round(told)} BPM`);
        }
        else if (isQuiet(previous) && !isQuiet(cls)) beatBack = true;
        else {
          major.push(`the beat comes back${tempoOnReturn ? tempoOnReturnWords(tempoOnReturn) : ''}`);
          tempoOnReturn = undefined;
        }
      }
    }
    if (tempoOnReturn) major.push(tempoChangeWords(tempoOnReturn));
    for (const change of keyChanges(this.context.analysis)) {
      if (!this.within(i, change.atSec)) continue;
      const heard = sectionKeyAt(this.context, 0) === change.to || keyChanges(this.context.analysis).some((c) => c.atSec < change.atSec && c.to === change.to);
      if (change.from && change.to) major.push(heard ? `the music returns to ${change.to}` : `the music modulates from ${change.from} to ${change.to}`);
      // After a stretch without a clear key, a key heard before is a return too (Planet Blupi's loop "settled in"
      // its home key of Ab major at 5:52, six minutes after opening in it).
      else if (change.to) major.push(heard ? `the music returns to ${change.to}` : `the harmony settles in ${change.to}`);
      else major.push('the harmony loses its clear key');
    }

    const lufs = tags.loudnessLufs!;
    const delta = lufs - (before.loudnessLufs ?? -70);
    const quietEvent = levelSaid ? undefined : this.quietEvent(i, variant, beatBack);
    if (quietEvent) {
      major.push(quietEvent);
      levelSaid = true;
    }
    const build = this.buildAt(i);
    if (!levelSaid && build) {
      // A build is first told where no earlier window of it was taken by a level event of its own (the full sound
      // coming back on its first step), so that "still building" always follows "it starts to build".
      let toldBefore = false;
      for (let k = i - 1; k > 0 && windows[k].startSec > build.atSec && !toldBefore; k--) {
        toldBefore = !isSilent(windows[k - 1].tags) && !this.quietEvent(k, 0, false);
      }
      const top = windows[i].endSec === build.endSec;
      const topWords = cls === 'peak' ? 'the build tops out at the loudest so far' : 'the build tops out';
      major.push(!toldBefore ? (top ? (cls === 'peak' ? 'it builds up to the loudest so far' : 'it builds up') : 'it starts to build')
        : top ? topWords : ['still building', 'the build goes on', 'building further'][variant % 3]);
      levelSaid = true;
    }
    if (!levelSaid && !isQuiet(cls) && isQuiet(previous)) {
      major.push('the music opens up to full level');
      levelSaid = true;
    }
    if (!levelSaid && previous === 'peak' && cls === 'body' && i >= 2 && classes[i - 2] === 'peak') {
      major.push('the loudest stretch ends');
      levelSaid = true;
    }
    // Where the loudest part itself begins here, its announcement says so: the window's own peak is not told twice.
    if (!levelSaid && cls === 'peak' && previous !== 'peak' && (i < 2 || classes[i - 2] !== 'peak') && beginning?.name !== 'peak') {
      const words = classes.slice(0, i).includes('peak') ? "back up to the track's loudest" : 'the track reaches its loudest';
      major.push(delta >= NOTICEABLE_CHANGE.largeLevelLu ? `${words} (${Math.round(lufs)} LUFS)` : words);
      levelSaid = true;
    }
    const part = pass < 0 && beginning && !this.opensAPass(beginning) ? this.partBeginning(beginning) : undefined;
    if (part) major.push(part);
    // A section that begins here already says whether its music was heard before.
    const echo = part || pass >= 0 ? undefined : this.returnOf(i);
    if (echo !== undefined) major.push(`back to the music of ${formatClock(windows[echo].startSec)}`);

    // After "back to the music of …", or after silence, the comparison with the window before says nothing more.
    // Where the loudest part or a quiet break begins, its announcement tells the level: the window's own level against
    // the one before is left out (it would repeat it, "now at its loudest. Louder", or, with the part before still
    // filling most of the window, contradict it, "the loudest part begins … A little quieter").
    const levelAgainstPart = beginning?.name === 'peak' || beginning?.name === 'break';
    const minor = echo !== undefined || isSilent(before) ? [] : this.differences(this.recent(i), tags, levelSaid || levelAgainstPart ? undefined : delta);
    const sentences: string[] = [];
    if (major.length > 0) {
      sentences.push(capitalize(major.join('; ')) + '.');
      if (minor.length > 0) sentences.push(`${capitalize(joinList(minor))}${variant % 2 === 1 ? ' than before' : ''}.`);
      return sentences.join(' ');
    }
    const where = this.position(i, variant);
    // "Holds steady" would contradict a clear change; the plainer verbs carry one.
    const steady = !minor.some((words) => !/^(a little|a shade|slightly)/.test(words));
    const carries = `${capitalize(this.subject(i))} ${this.verb(i, variant, steady)}${where}`;
    return minor.length > 0 ? `${carries}, ${joinList(minor)}.` : `${carries}.`;
  }

  /** The build (songShape) window i is a step of, if any. */
  private buildAt(i: number): Extract<ShapeEvent, { kind: 'build' }> | undefined {
    const window = this.windows[i];
    return this.shape.find((e): e is Extract<ShapeEvent, { kind: 'build' }> => e.kind === 'build' && e.atSec < window.startSec && window.endSec <= e.endSec);
  }

  /** Window i's level told against quiet: falling away or fading into it, the full sound coming back out of it, a fade going on. */
  private quietEvent(i: number, variant: number, beatBack: boolean): string | undefined {
    const { windows, classes } = this;
    const cls = classes[i];
    const previous = classes[i - 1];
    const lufs = windows[i].tags.loudnessLufs!;
    const delta = lufs - (windows[i - 1].tags.loudnessLufs ?? -70);
    const fadesOut = isQuiet(cls) && windows.slice(i).every((_, k) => isQuiet(classes[i + k]));
    if (isQuiet(cls) && !isQuiet(previous)) {
      const number = delta <= -NOTICEABLE_CHANGE.largeLevelLu ? ` (${Math.round(lufs)} LUFS)` : '';
      return fadesOut ? `the music fades${number}` : `it falls away to a quiet passage${number}`;
    }
    if (!isQuiet(cls) && isQuiet(previous) && classes.slice(0, i).some((c) => !isQuiet(c))) {
      const words = beatBack ? 'the full sound comes back with the beat' : 'the full sound comes back';
      return delta >= NOTICEABLE_CHANGE.largeLevelLu ? `${words} (${Math.round(lufs)} LUFS)` : words;
    }
    if (fadesOut && delta <= -1.5) return ['fading further', 'still fading', 'the fade goes on'][variant % 3];
    return undefined;
  }

  /**
   * Whether a section is the return of the part a loop's pass opens with, found a few seconds from where the loop says
   * the pass begins (section boundaries and the loop's period are placed apart): "the music comes round again" has
   * told it (Verbose's daytime theme: "comes round again" at 0:41, then "Part A returns at 0:48").
   */
  private opensAPass(section: SongSection): boolean {
    const { analysis, sections } = this.context;
    if (!analysis.loop || !sections) return false;
    const opening = sectionAt(sections, analysis.loop.startSec + 0.5);
    return opening !== undefined && section.label === opening.label && section.index > opening.index
      && this.restarts.some((at) => Math.abs(section.startSec - at) <= LOOP_PART_SLACK_SEC);
  }

  /**
   * The words for a section a window announces (sectionBeginningIn): a new part, or a part heard before coming back
   * (same label), with its plain name where the section has one.
   */
  private partBeginning(section: SongSection): string {
    const first = (this.context.sections ?? []).find((s) => s.label === section.label)!;
    const heard = first.index < section.index;
    const at = formatClock(section.startSec);
    if (section.name === 'outro') return `the outro begins at ${at}`;
    // A part heard before under no name (or another) comes back now quiet or at its loudest: the same part, not a new name.
    const since = formatClock(first.startSec);
    if (heard && section.name === 'break' && first.name !== 'break') return `part ${section.label} returns at ${at}, first heard at ${since}, now as a quiet break`;
    if (heard && section.name === 'peak' && first.name !== 'peak') return `part ${section.label} returns at ${at}, first heard at ${since}, now at its loudest`;
    if (section.name === 'break') return heard ? `the quiet break (${section.label}) comes back at ${at}` : `a quiet break (${section.label}) begins at ${at}`;
    if (section.name === 'peak') return heard ? `the loudest part (${section.label}) comes back at ${at}` : `the loudest part (${section.label}) begins at ${at}`;
    return heard ? `part ${section.label} returns at ${at}, first heard at ${since}` : `a new part (${section.label}) begins at ${at}`;
  }

  /**
   * The section (after the first) that window i announces: one that begins inside its own time, unless late in it
   * (PART_LATE_IN_WINDOW) with a window after it, which then announces it instead.
   */
  private sectionBeginningIn(i: number): SongSection | undefined {
    const sections = this.context.sections ?? [];
    if (sections.length < 2) return undefined;
    const late = (k: number, atSec: number) => {
      const start = this.ownStart(k);
      return k + 1 < this.windows.length && atSec - start >= PART_LATE_IN_WINDOW * (this.windows[k].endSec - start);
    };
    return sections.find(
      (s) => s.index > 0 && ((this.within(i, s.startSec) && !late(i, s.startSec)) || (i > 0 && this.within(i - 1, s.startSec) && late(i - 1, s.startSec))),
    );
  }

  /**
   * "through part B" / "through the return of part A" / "through the outro": where the window lies in the song's
   * sections. The intro and the outro go by those names, as the captions announce them (a letter no caption gave
   * would mean nothing to a reader).
   */
  private partOf(i: number): string {
    const sections = this.context.sections ?? [];
    if (sections.length < 2) return '';
    const window = this.windows[i];
    const section = sectionAt(sections, (this.ownStart(i) + window.endSec) / 2);
    if (!section) return '';
    if (section.name === 'intro' || section.name === 'outro') return ` through the ${section.name}`;
    const heard = sections.some((s) => s.label === section.label && s.index < section.index);
    return heard ? ` through the return of part ${section.label}` : ` through part ${section.label}`;
  }

  /**
   * Differences from the window before, as comparatives: the two that stand out most, each at least half a
   * noticeable change (core/vocabulary.ts's NOTICEABLE_CHANGE).
   */
  private differences(before: WindowTags, now: WindowTags, delta: number | undefined): string[] {
    const found: Array<{ words: string; salience: number }> = [];
    const add = (salience: number, words: string) => {
      if (salience >= 0.5) found.push({ words, salience });
    };
    const { largeLevelLu, plainLevelLu } = NOTICEABLE_CHANGE;
    if (delta !== undefined) {
      const lufs = Math.round(now.loudnessLufs!);
      const { louder, quieter } = CHANGE_WORDS;
      const salience = Math.abs(delta) / NOTICEABLE_CHANGE.levelLu;
      if (delta > 0) add(salience, delta >= largeLevelLu ? `${louder.much} (${lufs} LUFS)` : delta >= plainLevelLu ? louder.plain : louder.slight);
      else add(salience, delta <= -largeLevelLu ? `${quieter.much} (${lufs} LUFS)` : delta <= -plainLevelLu ? quieter.plain : quieter.slight);
    }
    const brightness = brightnessChange(before.spectralCentroidHz, now.spectralCentroidHz);
    const { brighter, darker, busier, sparser } = CHANGE_WORDS;
    if (brightness > 0) add(brightness, brightness >= 1 ? brighter.plain : brighter.slight);
    else add(-brightness, brightness <= -1 ? darker.plain : darker.slight);
    const activity = activityChange(before.onsetsPerSec, now.onsetsPerSec);
    if (activity > 0) add(activity, activity >= 1 ? busier.plain : busier.slight);
    else add(-activity, activity <= -1 ? sparser.plain : sparser.slight);
    const percussion = percussionChange(before.percussiveRatio, now.percussiveRatio);
    if (percussion >= 1) add(percussion, CHANGE_WORDS.morePercussion);
    else if (percussion <= -1) add(-percussion, CHANGE_WORDS.lessPercussion);
    // "with more percussion" reads best last.
    return found
      .sort((x, y) => y.salience - x.salience)
      .slice(0, 2)
      .map((d) => d.words)
      .sort((x, y) => Number(x.startsWith('with ')) - Number(y.startsWith('with ')));
  }

  /**
   * What the music has sounded like just before window i: the window before, averaged with up to two more of
   * the same stretch (no silence, no break between), so that jitter from window to window is not narrated.
   */
  private recent(i: number): WindowTags {
    const { windows, classes } = this;
    const before = windows[i - 1].tags;
    const stretch: WindowTags[] = [before];
    for (let k = i - 2; k >= Math.max(0, i - 3); k--) {
      if (isSilent(windows[k].tags) || isQuiet(classes[k]) !== isQuiet(classes[i - 1])) break;
      stretch.push(windows[k].tags);
    }
    const mean = (pick: (t: WindowTags) => number) => stretch.reduce((sum, t) => sum + pick(t), 0) / stretch.length;
    return {
      ...before,
      spectralCentroidHz: Math.exp(mean((t) => Math.log(Math.max(1, t.spectralCentroidHz)))),
      onsetsPerSec: mean((t) => t.onsetsPerSec),
      percussiveRatio: mean((t) => t.percussiveRatio),
    };
  }

  /** An earlier window (not the one before) this one sounds like, after a window that sounded different. */
  private returnOf(i: number): number | undefined {
    if (i < 3 || this.returns.has(i - 1) || isSilent(this.windows[i - 1].tags)) return undefined;
    const { windows } = this;
    const now = windows[i].tags;
    const previous = windows[i - 1].tags;
    if (distance(previous, now, this.keyAt(i - 1), this.keyAt(i)) < 3) return undefined;
    for (let k = i - 3; k >= 0; k--) {
      if (isSilent(windows[k].tags)) continue;
      if (distance(windows[k].tags, now, this.keyAt(k), this.keyAt(i)) < 1) {
        // A return only when the window before sounded unlike the music that comes back.
        if (distance(previous, windows[k].tags, this.keyAt(i - 1), this.keyAt(k)) < 3) return undefined;
        this.returns.add(i);
        return k;
      }
    }
    return undefined;
  }

  private keyAt(i: number): string | null {
    const window = this.windows[i];
    const section = sectionKeyAt(this.context, (window.startSec + window.endSec) / 2);
    return section === undefined ? statedKey(window.tags.key, window.tags.keyConfidence) : section;
  }

  private subject(i: number): string {
    const tags = this.windows[i].tags;
    const beat = this.beats[i] === true;
    if (isQuiet(this.classes[i])) return beat ? 'the quiet groove' : 'the quiet passage';
    if (beat) return this.grooves[i] ? 'the groove' : 'the pulse';
    return percussionWords(tags.percussiveRatio) === 'mostly sustained tones' ? 'the sustained sound' : 'the music';
  }

  /** Rotates with the window's index, so neighbours never share a verb; "holds steady" only when little changed. */
  private verb(i: number, variant: number, steady: boolean): string {
    const verbs = isQuiet(this.classes[i])
      ? ['lingers', 'goes on', 'stays', 'continues']
      : ['carries on', 'keeps going', steady ? 'holds steady' : 'presses on', 'rolls on', 'continues', 'goes on'];
    return verbs[(i + variant) % verbs.length];
  }

  /** Where the window lies in the song, when that is worth saying. */
  private position(i: number, variant: number): string {
    const { windows } = this;
    const start = this.ownStart(i);
    const end = windows[i].endSec;
    if (i === windows.length - 1) return ' to the end';
    if (i === windows.length - 2 && this.durationSec >= 40) return ' towards the close';
    const minute = Math.floor(end / 60);
    if (minute >= 1 && start <= minute * 60 && end > minute * 60) return ` into the ${ordinal(minute + 1)} minute`;
    const half = this.durationSec / 2;
    if (this.durationSec >= 60 && start <= half && end > half) return ' past the halfway mark';
    if (i === 1) return variant % 2 === 0 ? ' as it settles in' : '';
    const part = this.partOf(i);
    if (part) return variant % 2 === 1 ? `${part} as before` : part;
    return variant % 2 === 1 ? ' as before' : '';
  }
}

/** How different two windows sound: level, brightness, activity, percussion, beat and key, each in core/vocabulary.ts's SAME_MUSIC_UNITS. */
function distance(a: WindowTags, b: WindowTags, keyA: string | null, keyB: string | null): number {
  const units = SAME_MUSIC_UNITS;
  const level = Math.abs((a.loudnessLufs ?? -70) - (b.loudnessLufs ?? -70)) / units.levelLu;
  const brightness = Math.abs(Math.log2(Math.max(1, a.spectralCentroidHz) / Math.max(1, b.spectralCentroidHz))) / units.brightnessOctaves;
  const activity = Math.abs(a.onsetsPerSec - b.onsetsPerSec) / units.activityPerSec;
  const percussion = Math.abs(a.percussiveRatio - b.percussiveRatio) / units.percussion;
  const beat = hasBeat(a) !== hasBeat(b) ? units.beat : 0;
  const key = keyA !== keyB ? units.key : 0;
  return level + brightness + activity + percussion + beat + key;
}

function joinList(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Groove or pulse, window by window, with hysteresis (a Schmitt trigger): a beat over GROOVE_MIN_PERCUSSIVE is a
 * groove, but a window keeps the word of the window before until its percussive share crosses the line by
 * GROOVE_HYSTERESIS. Windows of one steady song sit a few hundredths either side of the line, and the captions
 * called them "the pulse", "the groove", "the pulse" in turn, as if something had changed.
 */
function grooveWindows(windows: readonly ManifestWindow[]): boolean[] {
  const out: boolean[] = [];
  let previous: boolean | undefined;
  for (const { tags } of windows) {
    if (!hasBeat(tags)) {
      previous = undefined;
      out.push(false);
      continue;
    }
    const ratio = tags.percussiveRatio;
    const groove = previous === undefined ? ratio >= GROOVE_MIN_PERCUSSIVE
      : previous ? ratio >= GROOVE_MIN_PERCUSSIVE - GROOVE_HYSTERESIS : ratio >= GROOVE_MIN_PERCUSSIVE + GROOVE_HYSTERESIS;
    out.push(groove);
    previous = groove;
  }
  return out;
}
