// The real-music corpus's truth comes from MIDI events (scripts/lib/midi-file.ts, scripts/lib/midi-truth.ts):
// these build small MIDI files whose tempo, meter and key are known and check what the reader makes of them.
// Likewise small LMMS projects, Hydrogen songs and WAD archives for their readers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeMidi, meta, parseMidi, type RawEvent, TempoMap, ticksAt, truncateMidi } from '../scripts/lib/midi-file.ts';
import { GRID_TOLERANCE_QUARTERS, gridFit, keyFitsNotes, keySignatureTonic, midiTruth, ON_GRID_MIN, PITCH_NAMES } from '../scripts/lib/midi-truth.ts';
import { deflateSync, gzipSync } from 'node:zlib';
import { lmmsProjectXml, lmmsTruth } from '../scripts/lib/lmms-project.ts';
import { h2songXml, hydrogenTruth } from '../scripts/lib/hydrogen-song.ts';
import { musicLumps, readWad, WadFormatError } from '../scripts/lib/wad.ts';
import { scorePiece, tuningToolPieces } from '../bench/lib/real-corpus.ts';

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

describe('grid fit (is the written tempo the one the notes follow?)', () => {
  /** A deterministic generator (mulberry32), so that the humanised file is the same on every run. */
  const random = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  // 16ths, 8ths and triplet 8ths over 32 quarter notes at 100 BPM.
  const positions = Array.from({ length: 32 }, (_, q) => [0, 0.25, 0.5, 0.75, q % 4 === 3 ? 1 / 3 : 0.5, q % 4 === 3 ? 2 / 3 : 0.75].map((p) => q + p)).flat();
  const file = (ticks: number[]) =>
    parseMidi(encodeMidi(TPQ, [[meta.tempo(0, 100)], ticks.flatMap((t, i) => meta.note(0, Math.round(t), Math.round(t) + TPQ / 8, 60 + (i % 12)))]));

  it('puts every onset of a quantized file on the grid, whatever a constant shift of the whole file', () => {
    const fit = gridFit(file(positions.map((p) => p * TPQ)))!;
    expect(fit).toMatchObject({ onGrid: 1, medianOffsetMs: 0, phaseQuarters: 0 });
    // Planet Blupi's files start every bar 20 ticks (of 192) late: still on their grid.
    const late = gridFit(file(positions.map((p) => p * TPQ + (20 / 192) * TPQ)))!;
    expect(late.onGrid).toBe(1);
    expect(late.medianOffsetMs).toBeLessThan(1);
  });

  it('finds a part played in live (onsets anywhere within the beat) off the grid, near the chance level of 25 %', () => {
    const next = random(7);
    // A player at about 100 BPM who drifts: each onset up to ±1/8 quarter note from where it was meant.
    const played = positions.map((p) => (p + (next() - 0.5) / 4) * TPQ).filter((t) => t >= 0);
    const fit = gridFit(file(played))!;
    expect(fit.onGrid).toBeLessThan(ON_GRID_MIN);
    expect(fit.onGrid).toBeGreaterThan(0.15);
    expect(fit.medianOffsetMs).toBeGreaterThan(10);
  });

  it('keeps a lightly humanised file (onsets within the tolerance) on the grid', () => {
    const next = random(11);
    const humanised = positions.map((p) => (p + (next() - 0.5) * GRID_TOLERANCE_QUARTERS) * TPQ).filter((t) => t >= 0);
    expect(gridFit(file(humanised))!.onGrid).toBeGreaterThanOrEqual(0.95);
  });

  it('writes the share into the tempo truth (not for charts), and the bench scores the tempo only at ON_GRID_MIN or more', () => {
    const next = random(3);
    const played = file(positions.map((p) => (p + (next() - 0.5) / 4) * TPQ).filter((t) => t >= 0));
    const onGridTruth = midiTruth(file(positions.map((p) => p * TPQ)));
    const offGridTruth = midiTruth(played);
    expect(onGridTruth.tempo.onGrid).toBe(1);
    expect(offGridTruth.tempo.onGrid).toBeLessThan(ON_GRID_MIN);
    expect(midiTruth(played, { pitched: false }).tempo.onGrid).toBeUndefined();
    const estimate = { bpm: 100 };
    expect(scorePiece({ id: 'quantized', tempo: onGridTruth.tempo, meter: null, key: null, keyChanges: 0 }, estimate)).toMatchObject({ tempoExact: true });
    expect(scorePiece({ id: 'played', tempo: offGridTruth.tempo, meter: null, key: null, keyChanges: 0 }, estimate).tempoExact).toBeUndefined();
  });
});

describe('WAD reader', () => {
  /** A WAD as Doom's tools write it: header, the lumps' data, then the directory. */
  const wad = (magic: string, lumps: Array<[string, Uint8Array]>) => {
    const data = Buffer.concat(lumps.map(([, d]) => Buffer.from(d)));
    const directory = Buffer.alloc(16 * lumps.length);
    let at = 12;
    lumps.forEach(([name, d], i) => {
      directory.writeInt32LE(at, 16 * i);
      directory.writeInt32LE(d.length, 16 * i + 4);
      directory.write(name, 16 * i + 8, 8, 'latin1');
      at += d.length;
    });
    const header = Buffer.alloc(12);
    header.write(magic, 0, 'latin1');
    header.writeInt32LE(lumps.length, 4);
    header.writeInt32LE(12 + data.length, 8);
    return Buffer.concat([header, data, directory]);
  };
  const song = encodeMidi(TPQ, [[meta.tempo(0, 140)], scaleNotes(C_MAJOR_TUNE, 0, 16)]);
  const mus = Buffer.from('MUS\x1a\x10\x00\x00\x00', 'latin1');

  it('lists the lumps and tells MIDI music lumps from MUS ones, byte for byte', () => {
    const bytes = wad('IWAD', [['MAP01', Buffer.from('map')], ['D_RUNNIN', song], ['D_E1M1', mus], ['DEMO1', Buffer.alloc(0)]]);
    expect(readWad(bytes)).toEqual({
      kind: 'IWAD',
      lumps: [
        { name: 'MAP01', filepos: 12, size: 3 },
        { name: 'D_RUNNIN', filepos: 15, size: song.length },
        { name: 'D_E1M1', filepos: 15 + song.length, size: mus.length },
        { name: 'DEMO1', filepos: 15 + song.length + mus.length, size: 0 },
      ],
    });
    const music = musicLumps(bytes);
    expect(music.map((m) => [m.name, m.format])).toEqual([['D_RUNNIN', 'midi'], ['D_E1M1', 'mus']]);
    expect(Buffer.from(music[0].data).equals(Buffer.from(song))).toBe(true);
    expect(midiTruth(parseMidi(music[0].data)).tempo.bpm).toBe(140);
  });

  it('refuses a file that is not a WAD, or whose directory or lumps lie outside it', () => {
    expect(() => readWad(Buffer.from('PK\x03\x04 a zip file', 'latin1'))).toThrow(WadFormatError);
    const truncated = wad('PWAD', [['D_A', song]]).subarray(0, 40);
    expect(() => readWad(truncated)).toThrow(/does not fit/);
    const bad = wad('PWAD', [['D_A', song]]);
    bad.writeInt32LE(1 << 20, 12 + song.length + 4); // the lump's size
    expect(() => readWad(bad)).toThrow(/outside the file/);
  });
});

describe('Hydrogen song reader', () => {
  const pattern = (name: string, size: number, denominator?: number) =>
    `<pattern><name>${name}</name><category></category><size>${size}</size>${denominator ? `<denominator>${denominator}</denominator>` : ''}<noteList><note><position>0</position><instrument>0</instrument></note></noteList></pattern>`;
  const songXml = (bpm: number, patterns: string[], sequence: string[][], timeline = '') =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<song><version>1.2.0</version><bpm>${bpm}</bpm><name>test</name>${timeline}`
    + `<instrumentList><instrument><id>0</id><name>Kick</name></instrument></instrumentList>`
    + `<patternList>${patterns.join('')}</patternList><virtualPatternList/>`
    + `<patternSequence>${sequence.map((g) => `<group>${g.map((id) => `<patternID>${id}</patternID>`).join('')}</group>`).join('')}</patternSequence></song>`;

  it('reads the tempo, the meter of the most bars and the length from the pattern sequence, plain or gzipped', () => {
    const xml = songXml(90, [pattern('verse', 192, 4), pattern('waltz', 144, 4), pattern('fill', 96)], [['verse'], ['verse'], ['waltz'], ['verse', 'fill']]);
    expect(h2songXml(gzipSync(xml))).toBe(xml);
    expect(h2songXml(Buffer.from(xml))).toBe(xml);
    // Three 4/4 bars (a column lasts as long as its longest pattern) and one 3/4 bar at 90 BPM.
    expect(hydrogenTruth(xml)).toEqual({
      tempo: { bpm: 90, constant: true, map: [{ atSec: 0, bpm: 90 }] },
      tempoChanges: 0,
      meter: '4/4',
      meterRaw: '4/4',
      meterChanges: 2,
      lengthSec: round((3 * 4 + 3) * (60 / 90)),
      columns: 4,
    });
  });

  it('reads a pattern over eighth notes as a compound meter and gives its dotted-quarter beat', () => {
    const t = hydrogenTruth(songXml(120, [pattern('jig', 144, 8)], [['jig'], ['jig']]));
    expect(t).toMatchObject({ meter: '6/8', meterRaw: '6/8', tempo: { bpm: 120, beatBpm: 80 } });
  });

  it('follows the timeline tempo markers only when the timeline is switched on', () => {
    const markers = '<BPMTimeLine><newBPM><BAR>0</BAR><BPM>100</BPM></newBPM><newBPM><BAR>2</BAR><BPM>150</BPM></newBPM></BPMTimeLine>';
    const sequence = [['a'], ['a'], ['a'], ['a'], ['a']];
    const on = hydrogenTruth(songXml(100, [pattern('a', 192, 4)], sequence, `<isTimelineActivated>true</isTimelineActivated>${markers}`));
    expect(on.tempo).toEqual({ bpm: 150, constant: false, map: [{ atSec: 0, bpm: 100 }, { atSec: 4.8, bpm: 150 }] });
    expect(on.tempoChanges).toBe(1);
    const off = hydrogenTruth(songXml(100, [pattern('a', 192, 4)], sequence, `<isTimelineActivated>false</isTimelineActivated>${markers}`));
    expect(off.tempo).toMatchObject({ bpm: 100, constant: true });
  });

  it('refuses a sequence that names a pattern the song does not have', () => {
    expect(() => hydrogenTruth(songXml(100, [pattern('a', 192)], [['b']]))).toThrow(/unknown pattern b/);
  });
});

const round = (x: number) => Math.round(x * 1000) / 1000;

describe('the committed truth table (bench/real-corpus/truth.json)', () => {
  const pieces = (JSON.parse(readFileSync(join(__dirname, '../bench/real-corpus/truth.json'), 'utf8')) as {
    pieces: Array<{ id: string; kind: string; ci: boolean; heldOut?: boolean; heldOutGroup?: 'A' | 'B'; variantOf?: string; source: { package: string }; tempo: { onGrid?: number } | null }>;
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

  it('puts every held-out piece in group A or B, B after A, B out of the CI slice, and B from packages neither A nor the tuned pieces use', () => {
    expect(heldOut.filter((p) => p.heldOutGroup !== 'A' && p.heldOutGroup !== 'B').map((p) => p.id)).toEqual([]);
    const b = pieces.filter((p) => p.heldOutGroup === 'B');
    expect(b.length).toBeGreaterThanOrEqual(30);
    expect(b.filter((p) => p.ci || !p.heldOut).map((p) => p.id)).toEqual([]);
    expect(pieces.findIndex((p) => p.heldOutGroup === 'B')).toBe(pieces.length - b.length);
    const earlier = new Set(pieces.filter((p) => p.heldOutGroup !== 'B').map((p) => p.source.package));
    expect(b.filter((p) => earlier.has(p.source.package)).map((p) => p.id)).toEqual([]);
    expect(new Set(b.map((p) => p.kind))).toEqual(new Set(['midi-render', 'hydrogen-render']));
  });

  it('gives the tuning tools the tuned pieces, or one held-out group alone with a warning', () => {
    expect(tuningToolPieces(pieces, []).pieces).toEqual(tuned);
    const a = tuningToolPieces(pieces, ['--held-out']);
    expect(a.pieces.map((p) => p.heldOutGroup)).toEqual(heldOut.filter((p) => p.heldOutGroup === 'A').map(() => 'A'));
    const b = tuningToolPieces(pieces, ['--held-out-b']);
    expect(b.pieces.length).toBe(pieces.filter((p) => p.heldOutGroup === 'B').length);
    expect(b.note).toMatch(/not to tune on/i);
  });

  it('measures the grid fit of every MIDI piece (and of no Hydrogen or LMMS song)', () => {
    const midi = pieces.filter((p) => p.kind === 'midi-render');
    expect(midi.filter((p) => !(p.tempo && typeof p.tempo.onGrid === 'number')).map((p) => p.id)).toEqual([]);
    expect(pieces.filter((p) => p.kind !== 'midi-render' && p.tempo?.onGrid !== undefined).map((p) => p.id)).toEqual([]);
  });
});
