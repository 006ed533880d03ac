// The real-music corpus's truth comes from MIDI events (scripts/lib/midi-file.ts, scripts/lib/midi-truth.ts):
// these build small MIDI files whose tempo, meter and key are known and check what the reader makes of them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeMidi, meta, parseMidi, type RawEvent, TempoMap, ticksAt, truncateMidi } from '../scripts/lib/midi-file.ts';
import { keyFitsNotes, keySignatureTonic, midiTruth, PITCH_NAMES } from '../scripts/lib/midi-truth.ts';
import { deflateSync } from 'node:zlib';
import { lmmsProjectXml, lmmsTruth } from '../scripts/lib/lmms-project.ts';

const TPQ = 480;

/** A scale's notes, one per quarter note, from `startTick`, `bars` bars of 4/4, on `channel`. */
function scaleNotes(pcs: number[], startTick: number, quarters: number, channel = 0, base = 60): RawEvent[] {
  const out: RawEvent[] = [];
  for (let i = 0; i < quarters; i++) {
    const t = startTick + i * TPQ;
    out.push(...meta.note(channel, t, t + TPQ - 10, base + pcs[i % pcs.length]));
  }
  return out;
}

const C_MAJOR_TUNE = [0, 4, 7, 4, 0, 2, 4, 5, 7, 9, 11, 0, 7, 4, 0, 0];
const A_MINOR_TUNE = [9, 0, 4, 0, 9, 11, 0, 2, 4, 5, 8, 9, 4, 0, 9, 9];

describe('MIDI reader', () => {
  const conductor = [
    meta.tempo(0, 120),
    meta.timeSignature(0, 3, 4),
    meta.keySignature(0, -3, true), // C minor
    meta.tempo(TPQ * 8, 60), // at 4 s
    meta.timeSignature(TPQ * 12, 6, 8), // at 4 + 4 = 8 s
    meta.keySignature(TPQ * 12, 2, false), // D major
  ];
  const notes = [...meta.note(0, 0, TPQ, 60), ...meta.note(9, TPQ, TPQ * 2, 36), ...meta.note(0, TPQ * 12, TPQ * 13, 62)];
  const bytes = encodeMidi(TPQ, [conductor, notes]);
  const midi = parseMidi(bytes);

  it('reads set-tempo, time-signature and key-signature events at their ticks', () => {
    expect(midi.format).toBe(1);
    expect(midi.ticksPerQuarter).toBe(TPQ);
    expect(midi.tempos.map((t) => [t.tick, Math.round(60e6 / t.usPerQuarter)])).toEqual([[0, 120], [TPQ * 8, 60]]);
    expect(midi.timeSignatures.map((t) => `${t.numerator}/${t.denominator}@${t.tick}`)).toEqual(['3/4@0', `6/8@${TPQ * 12}`]);
    expect(midi.keySignatures.map((k) => [k.sharps, k.minor])).toEqual([[-3, true], [2, false]]);
    expect(midi.notes.map((n) => [n.channel, n.pitch, n.tick, n.endTick])).toEqual([
      [0, 60, 0, TPQ],
      [9, 36, TPQ, TPQ * 2],
      [0, 62, TPQ * 12, TPQ * 13],
    ]);
  });

  it('turns ticks into seconds through the tempo map', () => {
    const map = new TempoMap(midi.ticksPerQuarter, midi.tempos);
    expect(map.seconds(0)).toBe(0);
    expect(map.seconds(TPQ)).toBeCloseTo(0.5, 9); // 120 BPM
    expect(map.seconds(TPQ * 8)).toBeCloseTo(4, 9);
    expect(map.seconds(TPQ * 12)).toBeCloseTo(8, 9); // 60 BPM after 4 s
    expect(ticksAt(map, 8)).toBe(TPQ * 12);
    // No set-tempo event: 120 BPM, as the specification says.
    expect(new TempoMap(TPQ, []).seconds(TPQ * 2)).toBeCloseTo(1, 9);
  });

  it('gives the tempo map, meter and key changes in seconds', () => {
    const t = midiTruth(midi);
    expect(t.tempo.map).toEqual([
      { atSec: 0, bpm: 120 },
      { atSec: 4, bpm: 60 },
    ]);
    expect(t.tempo.constant).toBe(false);
    expect(t.tempoChanges).toBe(1);
    expect(t.lastNoteSec).toBeCloseTo(9, 6);
    expect(t.keyChanges).toBe(1);
    expect(t.meterChanges).toBe(1);
    // Up to 4 s only: 120 BPM throughout, 3/4, C minor.
    const head = midiTruth(midi, { endSec: 4 });
    expect(head.tempo).toMatchObject({ bpm: 120, constant: true, map: [{ atSec: 0, bpm: 120 }] });
    expect(head.meter).toBe('3/4');
    expect(head.key).toMatchObject({ tonic: 'C', mode: 'minor' });
    expect(head.keyChanges).toBe(0);
  });

  it('names key signatures by their tonic', () => {
    const name = (sf: number, minor: boolean) => PITCH_NAMES[keySignatureTonic(sf, minor)];
    expect([name(0, false), name(1, false), name(-1, false), name(-3, false), name(6, false), name(-5, false)]).toEqual(['C', 'G', 'F', 'Eb', 'F#', 'C#']);
    expect([name(0, true), name(-3, true), name(1, true), name(4, true), name(-1, true)]).toEqual(['A', 'C', 'E', 'C#', 'D']);
  });

  it('gives 6/8 pieces the dotted-quarter beat rate as well', () => {
    const m = parseMidi(encodeMidi(TPQ, [[meta.tempo(0, 150), meta.timeSignature(0, 6, 8)], scaleNotes(C_MAJOR_TUNE, 0, 16)]));
    const t = midiTruth(m);
    expect(t.meter).toBe('6/8');
    expect(t.tempo.bpm).toBe(150);
    expect(t.tempo.beatBpm).toBe(100);
  });

  it('maps other meters to null but keeps them as written', () => {
    const m = parseMidi(encodeMidi(TPQ, [[meta.timeSignature(0, 5, 4)], scaleNotes(C_MAJOR_TUNE, 0, 16)]));
    expect(midiTruth(m)).toMatchObject({ meter: null, meterRaw: '5/4' });
    const none = parseMidi(encodeMidi(TPQ, [[], scaleNotes(C_MAJOR_TUNE, 0, 16)]));
    expect(midiTruth(none)).toMatchObject({ meter: null, meterRaw: null, key: null, keyChanges: 0 });
  });

  it('counts a tempo within ±2 % as constant and takes the tempo held longest as the bpm', () => {
    const m = parseMidi(encodeMidi(TPQ, [[meta.tempo(0, 100), meta.tempo(TPQ * 4, 101.5), meta.tempo(TPQ * 40, 100.5)], scaleNotes(C_MAJOR_TUNE, 0, 48)]));
    const t = midiTruth(m);
    expect(t.tempo.constant).toBe(true);
    expect(t.tempo.bpm).toBe(101.5);
    const v = parseMidi(encodeMidi(TPQ, [[meta.tempo(0, 100), meta.tempo(TPQ * 40, 90)], scaleNotes(C_MAJOR_TUNE, 0, 48)]));
    expect(midiTruth(v).tempo).toMatchObject({ bpm: 100, constant: false });
  });

  it('leaves out a tempo that only the silence before the first note is held at', () => {
    // As MMA writes its songs: 120 BPM at tick 0, the song's 180 BPM one beat later, where the first note starts.
    const leadIn = parseMidi(encodeMidi(TPQ, [[meta.tempo(0, 120), meta.tempo(TPQ, 180)], scaleNotes(C_MAJOR_TUNE, TPQ, 48)]));
    expect(midiTruth(leadIn).tempo).toMatchObject({ bpm: 180, constant: true, map: [{ atSec: 0.5, bpm: 180 }] });
    // A tempo under which a note sounds, however briefly, stays; a chart's (not pitched) lead-in stays too.
    const early = parseMidi(encodeMidi(TPQ, [[meta.tempo(0, 120), meta.tempo(TPQ, 180)], scaleNotes(C_MAJOR_TUNE, TPQ / 2, 48)]));
    expect(midiTruth(early).tempo.constant).toBe(false);
    expect(midiTruth(early).tempoChanges).toBe(1);
    expect(midiTruth(leadIn, { pitched: false }).tempoChanges).toBe(1);
  });
});

describe('key signature against the notes', () => {
  const piece = (sharps: number, minor: boolean, tune: number[], bass: number[]) =>
    parseMidi(
      encodeMidi(TPQ, [
        [meta.keySignature(0, sharps, minor)],
        scaleNotes(tune, 0, 64),
        scaleNotes(bass, 0, 64, 1, 36),
        scaleNotes([0, 0, 0, 0], 0, 64, 9, 36), // drums: left out
      ]),
    );

  it('accepts a key signature that fits the notes', () => {
    expect(midiTruth(piece(0, false, C_MAJOR_TUNE, [0, 0, 7, 7])).key).toEqual({ tonic: 'C', mode: 'major', fitsNotes: true });
    expect(midiTruth(piece(0, true, A_MINOR_TUNE, [9, 9, 4, 4])).key).toEqual({ tonic: 'A', mode: 'minor', fitsNotes: true });
  });

  it('rejects the relative key when the notes centre on the other tonic', () => {
    expect(midiTruth(piece(0, false, A_MINOR_TUNE, [9, 9, 4, 4])).key).toEqual({ tonic: 'C', mode: 'major', fitsNotes: false });
    expect(midiTruth(piece(0, true, C_MAJOR_TUNE, [0, 0, 7, 7])).key).toEqual({ tonic: 'A', mode: 'minor', fitsNotes: false });
  });

  it('rejects a key signature the notes do not keep to (a sequencer default of C major)', () => {
    const eFlat = C_MAJOR_TUNE.map((pc) => (pc + 3) % 12);
    const t = midiTruth(piece(0, false, eFlat, [3, 3, 10, 10]));
    expect(t.key).toEqual({ tonic: 'C', mode: 'major', fitsNotes: false });
    expect(t.keyScaleShare).toBeLessThan(0.8);
  });

  it('says false without notes', () => {
    expect(keyFitsNotes(new Array(12).fill(0), new Array(12).fill(0), 0, 'major').fits).toBe(false);
  });
});

describe('truncateMidi', () => {
  it('keeps every track up to the cut and ends it there', () => {
    const bytes = encodeMidi(TPQ, [[meta.tempo(0, 120), meta.tempo(TPQ * 100, 90)], scaleNotes(C_MAJOR_TUNE, 0, 200)]);
    const cut = parseMidi(truncateMidi(bytes, TPQ * 10));
    expect(cut.lastTick).toBe(TPQ * 10);
    expect(cut.tempos).toHaveLength(1);
    expect(cut.notes.filter((n) => n.tick < TPQ * 10)).toHaveLength(10);
    const whole = parseMidi(bytes);
    expect(cut.notes.slice(0, 9)).toEqual(whole.notes.slice(0, 9));
  });

  it('silences every channel at the cut (a held note would keep FluidSynth rendering forever)', () => {
    const bytes = encodeMidi(TPQ, [[meta.tempo(0, 120)], meta.note(3, 0, TPQ * 100, 60)]);
    const cut = truncateMidi(bytes, TPQ * 4);
    const hex = Buffer.from(cut).toString('hex');
    expect(hex).toContain('b37b00'); // all notes off, channel 4
    expect(hex).toContain('b37800'); // all sound off
    expect(parseMidi(cut).notes).toEqual([{ tick: 0, endTick: TPQ * 4, channel: 3, pitch: 60, velocity: 100 }]);
  });
});

describe('LMMS project reader', () => {
  /** An .mmpz as LMMS writes it: the XML's length (4 bytes, big-endian), then the XML through zlib. */
  const mmpz = (xml: string) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(Buffer.byteLength(xml));
    return Buffer.concat([length, deflateSync(xml)]);
  };
  const project = (head: string, song = '') =>
    `<?xml version="1.0"?>\n<!DOCTYPE lmms-project>\n<lmms-project version="1.0" type="song"><head ${head}</head><song>${song}</song></lmms-project>`;

  it('reads the tempo and meter from the head of a compressed or a plain project', () => {
    const xml = project('timesig_numerator="6" timesig_denominator="8" bpm="126" mastervol="100">');
    expect(lmmsProjectXml(mmpz(xml))).toBe(xml);
    expect(lmmsProjectXml(Buffer.from(xml))).toBe(xml);
    expect(lmmsTruth(xml)).toEqual({ tempo: { bpm: 126, beatBpm: 84, constant: true, map: [{ atSec: 0, bpm: 126 }] }, meter: '6/8', meterRaw: '6/8' });
  });

  it('names no meter for a time signature the truth does not map, and keeps it as written', () => {
    const t = lmmsTruth(project('timesig_numerator="8" timesig_denominator="4" bpm="140">'));
    expect(t).toMatchObject({ meter: null, meterRaw: '8/4', tempo: { bpm: 140, constant: true } });
  });

  it('calls the tempo not constant only when an automation pattern drives it', () => {
    const head = 'timesig_numerator="4" timesig_denominator="4"><bpm value="128" id="777"/>';
    const drivesTempo = '<track type="5"><automationpattern name="tempo" pos="0" len="192"><time pos="0" value="128"/><time pos="96" value="140"/><object id="777"/></automationpattern></track>';
    const drivesOther = '<track type="5"><automationpattern name="vol" pos="0" len="192"><time pos="0" value="1"/><object id="778"/></automationpattern></track>';
    expect(lmmsTruth(project(head, drivesTempo)).tempo).toMatchObject({ bpm: 128, constant: false });
    expect(lmmsTruth(project(head, drivesOther)).tempo).toMatchObject({ bpm: 128, constant: true });
  });

  it('refuses a compressed project whose length header does not match its XML', () => {
    const bad = mmpz(project('bpm="120">'));
    bad.writeUInt32BE(5, 0);
    expect(() => lmmsProjectXml(bad)).toThrow(/header says 5/);
  });
});

describe('the committed truth table (bench/real-corpus/truth.json)', () => {
  const pieces = (JSON.parse(readFileSync(join(__dirname, '../bench/real-corpus/truth.json'), 'utf8')) as {
    pieces: Array<{ id: string; ci: boolean; heldOut?: boolean; variantOf?: string; source: { package: string } }>;
  }).pieces;
  const heldOut = pieces.filter((p) => p.heldOut);
  const tuned = pieces.filter((p) => !p.heldOut);

  it('keeps the held-out pieces out of the CI slice, out of the variants, and after every tuned piece', () => {
    expect(heldOut.length).toBeGreaterThanOrEqual(15);
    expect(heldOut.filter((p) => p.ci || p.variantOf || tuned.some((t) => t.variantOf === p.id))).toEqual([]);
    expect(pieces.findIndex((p) => p.heldOut)).toBe(tuned.length);
  });

  it('holds out every LMMS render, and gives it no key (an LMMS project has none)', () => {
    const lmms = (pieces as Array<(typeof pieces)[number] & { kind: string; key: unknown }>).filter((p) => p.kind === 'lmms-render');
    expect(lmms.length).toBeGreaterThanOrEqual(10);
    expect(lmms.filter((p) => !p.heldOut || p.key !== null || p.ci).map((p) => p.id)).toEqual([]);
  });

  it('draws the held-out pieces from packages none of the tuned pieces comes from', () => {
    const tunedPackages = new Set(tuned.map((p) => p.source.package));
    expect(heldOut.filter((p) => tunedPackages.has(p.source.package)).map((p) => p.id)).toEqual([]);
  });
});
