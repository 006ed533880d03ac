// A small reader for Standard MIDI Files (SMF formats 0, 1 and 2), written from the published
// specification ("Standard MIDI Files 1.0", MIDI Manufacturers Association). It reads what a truth table
// needs: notes (with their channel), set-tempo, time-signature and key-signature meta events, each at its
// absolute tick, and converts ticks to seconds through the file's tempo map.

export interface MidiNote {
  tick: number;
  endTick: number;
  channel: number; // 0-based: 9 is General MIDI's drum channel ("channel 10")
  pitch: number;
  velocity: number;
}

export interface MidiMeta {
  tick: number;
  track: number;
}

export interface TempoEvent extends MidiMeta {
  usPerQuarter: number;
}
export interface TimeSignatureEvent extends MidiMeta {
  numerator: number;
  denominator: number;
}
export interface KeySignatureEvent extends MidiMeta {
  sharps: number; // -7 (7 flats) … +7 (7 sharps)
  minor: boolean;
}

export interface MidiFile {
  format: number;
  trackCount: number;
  ticksPerQuarter: number;
  notes: MidiNote[];
  tempos: TempoEvent[];
  timeSignatures: TimeSignatureEvent[];
  keySignatures: KeySignatureEvent[];
  /** The last tick of any event in any track (end-of-track included). */
  lastTick: number;
}

export class MidiParseError extends Error {
  override name = 'MidiParseError';
}

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly end: number = buf.length) {}
  u8(): number {
    if (this.pos >= this.end) throw new MidiParseError(`unexpected end of data at byte ${this.pos}`);
    return this.buf[this.pos++];
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  u32(): number {
    return ((this.u8() << 24) >>> 0) + (this.u8() << 16) + (this.u8() << 8) + this.u8();
  }
  ascii(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.u8());
    return s;
  }
  /** Variable-length quantity: 7 bits a byte, high bit set on every byte but the last; at most 4 bytes. */
  vlq(): number {
    let value = 0;
    for (let i = 0; i < 4; i++) {
      const b = this.u8();
      value = value * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) return value;
    }
    throw new MidiParseError(`variable-length quantity longer than 4 bytes at byte ${this.pos}`);
  }
  /** A length (variable-length quantity) and that many bytes: sysex and meta event bodies. */
  skipBlock(): void {
    const length = this.vlq();
    this.pos += length;
  }
}

export function parseMidi(data: Uint8Array): MidiFile {
  const r = new Reader(data);
  if (r.ascii(4) !== 'MThd') throw new MidiParseError('not a Standard MIDI File (no MThd header)');
  const headerLength = r.u32();
  const format = r.u16();
  const trackCount = r.u16();
  const division = r.u16();
  r.pos = 8 + headerLength;
  if (division & 0x8000) throw new MidiParseError('SMPTE time division is not supported');
  const ticksPerQuarter = division;
  if (ticksPerQuarter === 0) throw new MidiParseError('division of 0 ticks per quarter note');

  const out: MidiFile = {
    format,
    trackCount,
    ticksPerQuarter,
    notes: [],
    tempos: [],
    timeSignatures: [],
    keySignatures: [],
    lastTick: 0,
  };

  for (let track = 0; track < trackCount && r.pos + 8 <= data.length; track++) {
    const id = r.ascii(4);
    const length = r.u32();
    const start = r.pos;
    const end = Math.min(start + length, data.length);
    r.pos = end;
    if (id !== 'MTrk') {
      track--; // an unknown chunk: skip it, as the specification asks
      continue;
    }
    readTrack(new Reader(data.subarray(start, end)), track, out);
  }
  out.notes.sort((a, b) => a.tick - b.tick || a.pitch - b.pitch);
  const byTick = (a: MidiMeta, b: MidiMeta) => a.tick - b.tick || a.track - b.track;
  out.tempos.sort(byTick);
  out.timeSignatures.sort(byTick);
  out.keySignatures.sort(byTick);
  return out;
}

function readTrack(r: Reader, track: number, out: MidiFile): void {
  let tick = 0;
  let status = 0;
  // Sounding notes per (channel, pitch): a stack, so that overlapping same-pitch notes pair first-in-first-out.
  const open = new Map<number, Array<{ tick: number; velocity: number }>>();
  const close = (channel: number, pitch: number, at: number) => {
    const key = channel * 128 + pitch;
    const stack = open.get(key);
    const on = stack?.shift();
    if (!on) return;
    out.notes.push({ tick: on.tick, endTick: at, channel, pitch, velocity: on.velocity });
  };

  while (r.pos < r.end) {
    tick += r.vlq();
    let byte = r.u8();
    if (byte === 0xff) {
      const type = r.u8();
      const length = r.vlq();
      const at = r.pos;
      if (type === 0x51 && length >= 3) {
        const us = (r.u8() << 16) | (r.u8() << 8) | r.u8();
        if (us > 0) out.tempos.push({ tick, track, usPerQuarter: us });
      } else if (type === 0x58 && length >= 2) {
        const numerator = r.u8();
        const denominator = 2 ** r.u8();
        out.timeSignatures.push({ tick, track, numerator, denominator });
      } else if (type === 0x59 && length >= 2) {
        const sf = r.u8();
        const sharps = sf > 127 ? sf - 256 : sf;
        const minor = r.u8() === 1;
        if (sharps >= -7 && sharps <= 7) out.keySignatures.push({ tick, track, sharps, minor });
      }
      r.pos = at + length;
      out.lastTick = Math.max(out.lastTick, tick);
      if (type === 0x2f) break; // end of track
      continue;
    }
    if (byte === 0xf0 || byte === 0xf7) {
      r.skipBlock(); // system exclusive
      continue;
    }
    if (byte & 0x80) {
      status = byte;
      byte = r.u8();
    } else if (status === 0) {
      throw new MidiParseError(`running status without a previous status byte (track ${track})`);
    }
    const kind = status & 0xf0;
    const channel = status & 0x0f;
    const data1 = byte;
    const data2 = kind === 0xc0 || kind === 0xd0 ? 0 : r.u8();
    out.lastTick = Math.max(out.lastTick, tick);
    if (kind === 0x90 && data2 > 0) {
      const key = channel * 128 + data1;
      let stack = open.get(key);
      if (!stack) open.set(key, (stack = []));
      stack.push({ tick, velocity: data2 });
    } else if (kind === 0x80 || (kind === 0x90 && data2 === 0)) {
      close(channel, data1, tick);
    }
  }
  // Notes never released end with the track.
  for (const [key, stack] of open) for (const on of stack) {
    out.notes.push({ tick: on.tick, endTick: tick, channel: Math.floor(key / 128), pitch: key % 128, velocity: on.velocity });
  }
}

/** Tick → seconds through the tempo map (120 BPM until the first set-tempo event, as the specification says). */
export class TempoMap {
  /** Segments: from `tick` on, `secPerTick`; `sec` is the time at `tick`. */
  readonly segments: Array<{ tick: number; sec: number; secPerTick: number; usPerQuarter: number }> = [];

  constructor(readonly ticksPerQuarter: number, tempos: ReadonlyArray<{ tick: number; usPerQuarter: number }>) {
    let us = 500_000;
    let tick = 0;
    let sec = 0;
    this.segments.push({ tick: 0, sec: 0, secPerTick: us / 1e6 / ticksPerQuarter, usPerQuarter: us });
    for (const t of tempos) {
      sec += ((t.tick - tick) * us) / 1e6 / ticksPerQuarter;
      tick = t.tick;
      us = t.usPerQuarter;
      const segment = { tick, sec, secPerTick: us / 1e6 / ticksPerQuarter, usPerQuarter: us };
      // Several events at one tick: the last one wins.
      if (this.segments[this.segments.length - 1].tick === tick) this.segments[this.segments.length - 1] = segment;
      else this.segments.push(segment);
    }
  }

  seconds(tick: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segments[mid].tick <= tick) lo = mid;
      else hi = mid - 1;
    }
    const s = this.segments[lo];
    return s.sec + (tick - s.tick) * s.secPerTick;
  }
}

function vlqBytes(value: number): number[] {
  const out = [value & 0x7f];
  for (let v = Math.floor(value / 128); v > 0; v = Math.floor(v / 128)) out.unshift((v & 0x7f) | 0x80);
  return out;
}

/**
 * The same file cut at `endTick`: every track keeps its events up to that tick, byte for byte, and ends there.
 * Renders then stop where the audio is cut instead of playing out a long tail (some game loops run 25 minutes).
 */
export function truncateMidi(data: Uint8Array, endTick: number): Uint8Array {
  const r = new Reader(data);
  if (r.ascii(4) !== 'MThd') throw new MidiParseError('not a Standard MIDI File (no MThd header)');
  const headerLength = r.u32();
  const chunks: Uint8Array[] = [data.subarray(0, 8 + headerLength)];
  r.pos = 8 + headerLength;
  while (r.pos + 8 <= data.length) {
    const id = r.ascii(4);
    const length = r.u32();
    const start = r.pos;
    const end = Math.min(start + length, data.length);
    r.pos = end;
    if (id !== 'MTrk') {
      chunks.push(data.subarray(start - 8, end));
      continue;
    }
    const t = new Reader(data.subarray(start, end));
    let tick = 0;
    let keptTick = 0;
    let keptEnd = 0;
    let status = 0;
    let ended = false;
    while (t.pos < t.end) {
      const delta = t.vlq();
      if (tick + delta > endTick) break;
      tick += delta;
      let byte = t.u8();
      if (byte === 0xff) {
        const type = t.u8();
        t.skipBlock();
        if (type === 0x2f) ended = true;
      } else if (byte === 0xf0 || byte === 0xf7) {
        t.skipBlock();
      } else {
        if (byte & 0x80) {
          status = byte;
          byte = t.u8();
        }
        const kind = status & 0xf0;
        if (kind !== 0xc0 && kind !== 0xd0) t.u8();
      }
      keptTick = tick;
      keptEnd = t.pos;
      if (ended) break;
    }
    const body = Array.from(data.subarray(start, start + keptEnd));
    if (!ended) {
      // Notes cut off mid-way would hold (FluidSynth's renderer then never finishes): release the pedal and
      // silence every channel at the cut, then end the track.
      body.push(...vlqBytes(Math.max(0, endTick - keptTick)));
      for (let ch = 0; ch < 16; ch++) body.push(0xb0 | ch, 64, 0, 0, 0xb0 | ch, 123, 0, 0, 0xb0 | ch, 120, 0, 0);
      body.push(0xff, 0x2f, 0x00);
    }
    const header = [0x4d, 0x54, 0x72, 0x6b, (body.length >>> 24) & 0xff, (body.length >>> 16) & 0xff, (body.length >>> 8) & 0xff, body.length & 0xff];
    chunks.push(Uint8Array.from([...header, ...body]));
  }
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Ticks at a time in seconds (the inverse of `TempoMap.seconds`). */
export function ticksAt(map: TempoMap, sec: number): number {
  let s = map.segments[0];
  for (const seg of map.segments) if (seg.sec <= sec) s = seg;
  return Math.round(s.tick + (sec - s.sec) / s.secPerTick);
}

/** One event of `encodeMidi`'s input: its tick (absolute) and its bytes after the delta time. */
export interface RawEvent {
  tick: number;
  bytes: number[];
}

/** A format-1 Standard MIDI File from tracks of absolute-tick events (for tests and checks). */
export function encodeMidi(ticksPerQuarter: number, tracks: RawEvent[][]): Uint8Array {
  const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  const out = [0x4d, 0x54, 0x68, 0x64, ...u32(6), 0, 1, (tracks.length >> 8) & 0xff, tracks.length & 0xff, (ticksPerQuarter >> 8) & 0xff, ticksPerQuarter & 0xff];
  for (const track of tracks) {
    const events = [...track].sort((a, b) => a.tick - b.tick);
    const body: number[] = [];
    let tick = 0;
    for (const e of events) {
      body.push(...vlqBytes(e.tick - tick), ...e.bytes);
      tick = e.tick;
    }
    body.push(0, 0xff, 0x2f, 0);
    out.push(0x4d, 0x54, 0x72, 0x6b, ...u32(body.length), ...body);
  }
  return Uint8Array.from(out);
}

/** Meta-event helpers for `encodeMidi`. */
export const meta = {
  tempo: (tick: number, bpm: number): RawEvent => {
    const us = Math.round(60e6 / bpm);
    return { tick, bytes: [0xff, 0x51, 3, (us >> 16) & 0xff, (us >> 8) & 0xff, us & 0xff] };
  },
  timeSignature: (tick: number, numerator: number, denominator: number): RawEvent => ({
    tick,
    bytes: [0xff, 0x58, 4, numerator, Math.log2(denominator), 24, 8],
  }),
  keySignature: (tick: number, sharps: number, minor: boolean): RawEvent => ({ tick, bytes: [0xff, 0x59, 2, sharps & 0xff, minor ? 1 : 0] }),
  note: (channel: number, tick: number, endTick: number, pitch: number, velocity = 100): RawEvent[] => [
    { tick, bytes: [0x90 | channel, pitch, velocity] },
    { tick: endTick, bytes: [0x80 | channel, pitch, 0] },
  ],
};
