/**
 * The file's loudness, measured by BS.1770-4 on its own channels at its own rate in the same ffmpeg process that
 * makes the 16 kHz mono windows, held to ffmpeg's own meter (`-af ebur128=peak=true`) on the same file.
 */
import { createReadStream, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { channelWeights, FileLoudnessMeter, loudnessCurve, windowLoudness, type FileLoudness } from '#core/descriptors/loudness';
import { decodeAudio, LoudnessSink, type DecodeResult } from '#core/ffmpeg';
import { ffmpegEbur128 } from '../bench/lib/descriptor-corpus.ts';
import { WASM_KERNELS, wasmKernelSource } from '../scripts/embed-wasm-kernels.ts';
import { FFMPEG, ffmpeg, referenceDecode, tempDir } from './helpers/audio.ts';

const dir = tempDir('file-loudness-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Makes `name` in the temporary folder from a lavfi source and optional filters; returns its path. */
function make(name: string, source: string, extra: string[] = []): string {
  const file = path.join(dir, name);
  ffmpeg(['-f', 'lavfi', '-i', source, ...extra, file]);
  return file;
}

async function decode(input: string | NodeJS.ReadableStream): Promise<{ samples: Float32Array; result: DecodeResult }> {
  const stream = decodeAudio({ ffmpeg: FFMPEG, input: input as string });
  const chunks: Float32Array[] = [];
  for (;;) {
    const next = await stream.next();
    if (next.done) {
      const samples = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const chunk of chunks) {
        samples.set(chunk, at);
        at += chunk.length;
      }
      return { samples, result: next.value };
    }
    chunks.push(next.value);
  }
}

async function expectAgreement(file: string, options: { range?: boolean } = {}): Promise<FileLoudness> {
  const { result } = await decode(file);
  const reference = await ffmpegEbur128(file);
  const loudness = result.loudness!;
  expect(loudness).not.toBeNull();
  expect(Math.abs(loudness.integratedLufs! - reference.integrated)).toBeLessThanOrEqual(0.5);
  if (options.range ?? true) expect(Math.abs(loudness.rangeLu - reference.range)).toBeLessThanOrEqual(1);
  expect(Math.abs(loudness.truePeakDbtp - reference.truePeak)).toBeLessThanOrEqual(0.5);
  return loudness;
}

describe('the file loudness agrees with ffmpeg ebur128 on the same file', () => {
  it('measures a wide stereo mix (decorrelated channels, rising and falling level) on both channels, not their mono sum', async () => {
    // Prepare: pink noise, independent per channel, its level swept over 12 dB; a tone on the left only.
    const file = make('wide.flac', 'anoisesrc=color=pink:amplitude=0.4:r=44100:d=40:seed=7', [
      '-f', 'lavfi', '-i', 'anoisesrc=color=pink:amplitude=0.4:r=44100:d=40:seed=8',
      '-f', 'lavfi', '-i', 'sine=frequency=660:sample_rate=44100:duration=40',
      '-filter_complex', "[0][1]amerge=inputs=2,volume='0.25+0.75*abs(sin(PI*t/20))':eval=frame[n];[2]pan=stereo|c0=0.2*c0|c1=0*c0[t];[n][t]amix=inputs=2:normalize=0",
    ]);
    // Act + Assess
    const loudness = await expectAgreement(file);
    expect(loudness.rangeLu).toBeGreaterThan(3);
  });

  it('measures a mono file as one channel', async () => {
    const file = make('mono.wav', 'anoisesrc=color=pink:amplitude=0.3:r=48000:d=20:seed=3', ['-ac', '1']);
    await expectAgreement(file);
  });

  it('measures a 5.1 file with the surround weights and without the LFE', async () => {
    const file = make('surround.flac', 'anoisesrc=color=pink:amplitude=0.3:r=48000:d=20:seed=4', [
      '-af', 'pan=5.1|FL=c0|FR=0.8*c0|FC=0.5*c0|LFE=c0|BL=0.7*c0|BR=0.6*c0',
    ]);
    const loudness = await expectAgreement(file);
    // Weighted like ebur128, not as six equal channels.
    expect(channelWeights('5.1(side)', 6)).toEqual([1, 1, 1, 0, 1.41, 1.41]);
    expect(loudness.integratedLufs).not.toBeNull();
  });

  it('gives a file whose left channel is the inverse of its right its true loudness, though the mono windows are silent', async () => {
    const file = make('inverted.wav', "aevalsrc='0.4*sin(2*PI*330*t)*(1+0.5*sin(2*PI*2*t))|-0.4*sin(2*PI*330*t)*(1+0.5*sin(2*PI*2*t))':s=44100:d=15");
    const loudness = await expectAgreement(file);
    expect(loudness.integratedLufs!).toBeGreaterThan(-15);
    const { samples } = await decode(file);
    let peak = 0;
    for (const sample of samples) peak = Math.max(peak, Math.abs(sample));
    expect(peak).toBeLessThan(1e-3);
  });

  it('measures a 3 s clip; its range is 0 (ebur128 reports its zero-padded ramp-up as range)', async () => {
    const file = make('clip.mp3', "aevalsrc='0.3*sin(2*PI*440*t)|0.3*sin(2*PI*554*t)':s=44100:d=3");
    const loudness = await expectAgreement(file, { range: false });
    expect(loudness.rangeLu).toBe(0);
    expect(loudness.momentaryLufs.length).toBeGreaterThanOrEqual(30);
  });

  it('reads a true peak above the sample peak where a near-Nyquist tone peaks between samples', async () => {
    // fs/4 with a 45° phase: every sample is at 0.707 of the waveform's peak (-3 dB inter-sample peak). The fade-in
    // keeps a hard onset from ringing in the oversampling filters (each meter's filter rings differently).
    const file = make('intersample.wav', "aevalsrc='0.9*sin(2*PI*11025*t+PI/4)|0.9*sin(2*PI*11025*t+PI/4)':s=44100:d=5", ['-af', 'afade=t=in:d=0.5', '-c:a', 'pcm_f32le']);
    const loudness = await expectAgreement(file);
    expect(loudness.truePeakDbtp).toBeGreaterThan(20 * Math.log10(0.9 * Math.SQRT1_2) + 2);
  });
});

describe('windows and the level curve read the file series', () => {
  it('gives each window of a file that is quiet then loud its own loudness, as ebur128 measures each half', async () => {
    // Prepare
    const file = make('quiet-then-loud.wav', "aevalsrc='if(lt(t,10),0.03,0.5)*sin(2*PI*440*t)|if(lt(t,10),0.03,0.5)*sin(2*PI*660*t)':s=44100:d=20");
    ffmpeg(['-i', file, '-t', '10', path.join(dir, 'first-half.wav')]);
    ffmpeg(['-ss', '10', '-i', file, path.join(dir, 'second-half.wav')]);
    // Act
    const { result } = await decode(file);
    const quiet = windowLoudness(result.loudness!, 0, 10);
    const loud = windowLoudness(result.loudness!, 10, 20);
    // Assess
    const [first, second] = await Promise.all([ffmpegEbur128(path.join(dir, 'first-half.wav')), ffmpegEbur128(path.join(dir, 'second-half.wav'))]);
    expect(Math.abs(quiet.loudnessLufs! - first.integrated)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(loud.loudnessLufs! - second.integrated)).toBeLessThanOrEqual(0.5);
    expect(loud.loudnessLufs! - quiet.loudnessLufs!).toBeGreaterThan(20);
    expect(Math.abs(quiet.shortTermMaxLufs! - quiet.loudnessLufs!)).toBeLessThan(0.5);
    const curve = loudnessCurve(result.loudness!);
    expect(curve).toHaveLength(20);
    expect(curve[5]).toBeCloseTo(quiet.loudnessLufs!, 0);
    expect(curve[19]).toBeCloseTo(loud.loudnessLufs!, 0);
    // A second into the loud part, the 3 s short-term value still holds two quiet seconds.
    expect(curve[10]).toBeLessThan(curve[19] - 3);
  });

  it('says null below the absolute gate and floors the curve at -70', async () => {
    const file = make('silence.wav', 'anullsrc=r=44100:cl=stereo', ['-t', '5']);
    const { result } = await decode(file);
    expect(result.loudness!.integratedLufs).toBeNull();
    expect(windowLoudness(result.loudness!, 0, 5)).toEqual({ loudnessLufs: null, shortTermMaxLufs: null });
    expect(loudnessCurve(result.loudness!)).toEqual([-70, -70, -70, -70, -70]);
    expect(result.loudness!.truePeakDbtp).toBe(-100);
  });
});

describe('one ffmpeg process, the stream split', () => {
  it('still yields the LP-MusicCaps 16 kHz mono samples, sample for sample', async () => {
    const file = make('song.mp3', "aevalsrc='0.3*sin(2*PI*220*t)+0.2*random(0)|0.3*sin(2*PI*330*t)':s=44100:d=12");
    const { samples } = await decode(file);
    const reference = referenceDecode(file);
    expect(samples.length).toBe(reference.length);
    expect(Buffer.from(samples.buffer).equals(Buffer.from(reference.buffer))).toBe(true);
  });

  it('yields the same samples to a consumer slower than ffmpeg: reading waits for it, in two buffers it reuses', async () => {
    const file = make('long.mp3', "aevalsrc='0.3*sin(2*PI*220*t)+0.2*random(0)':s=44100:d=40");
    const stream = decodeAudio({ ffmpeg: FFMPEG, input: file, reuseChunks: true });
    const copies: Float32Array[] = [];
    const buffers: ArrayBufferLike[] = [];
    for (;;) {
      const next = await stream.next();
      if (next.done) break;
      copies.push(next.value.slice());
      buffers.push(next.value.buffer);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    const samples = new Float32Array(copies.reduce((n, c) => n + c.length, 0));
    copies.reduce((at, c) => (samples.set(c, at), at + c.length), 0);
    const reference = referenceDecode(file);
    expect(Buffer.from(samples.buffer).equals(Buffer.from(reference.buffer))).toBe(true);
    // While the consumer slept, samples gathered up to the point where reading stops (4 s of audio)...
    expect(Math.max(...copies.map((c) => c.length))).toBeGreaterThanOrEqual(65_536);
    // ...in two buffers, taken in turn.
    expect(new Set(buffers).size).toBe(2);
  });

  it('measures the same from stdin (the fallback when ffmpeg cannot fetch the URL) as from the path', async () => {
    const file = make('piped.flac', 'anoisesrc=color=pink:amplitude=0.3:r=44100:d=12:seed=9', ['-ac', '2']);
    const fromPath = await decode(file);
    const fromStdin = await decode(createReadStream(file));
    expect(Buffer.from(fromStdin.samples.buffer).equals(Buffer.from(fromPath.samples.buffer))).toBe(true);
    // The same numbers, but for the order of additions where the pipe split the bytes differently.
    const [piped, opened] = [fromStdin.result.loudness!, fromPath.result.loudness!];
    expect(piped.integratedLufs).toBeCloseTo(opened.integratedLufs!, 6);
    expect(piped.rangeLu).toBeCloseTo(opened.rangeLu, 6);
    expect(piped.truePeakDbtp).toBeCloseTo(opened.truePeakDbtp, 6);
    expect(piped.shortTermLufs.length).toBe(opened.shortTermLufs.length);
    for (let i = 0; i < opened.shortTermLufs.length; i++) expect(Math.abs(piped.shortTermLufs[i] - opened.shortTermLufs[i])).toBeLessThan(1e-4);
    expect(fromStdin.result.info.channelLayout).toBe('stereo');
  });

  it('measures the same whatever the chunking of the interleaved samples', () => {
    const frames = 44100 * 4;
    const interleaved = new Float32Array(frames * 2);
    for (let i = 0; i < frames; i++) {
      interleaved[2 * i] = 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 44100);
      interleaved[2 * i + 1] = 0.25 * Math.sin((2 * Math.PI * 3000 * i) / 44100);
    }
    const whole = new FileLoudnessMeter(44100, 2);
    whole.push(interleaved);
    const pieces = new FileLoudnessMeter(44100, 2);
    // Odd piece lengths split frames between pushes.
    for (let at = 0; at < interleaved.length; at += 1001) pieces.push(interleaved.subarray(at, at + 1001));
    const a = whole.finish();
    const b = pieces.finish();
    expect(b.integratedLufs).toBeCloseTo(a.integratedLufs!, 9);
    expect(b.truePeakDbtp).toBeCloseTo(a.truePeakDbtp, 9);
    expect(Array.from(b.momentaryLufs)).toEqual(Array.from(a.momentaryLufs));
  });
  it('measures stereo (both channels at once in the SIMD kernel) as the general path measures the same two channels beside a silent third', () => {
    // Bursts of noise at changing levels: the true-peak screen oversamples some blocks and skips others.
    const frames = 44100 * 3;
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const stereo = new Int16Array(frames * 2);
    const three = new Int16Array(frames * 3);
    for (let i = 0; i < frames; i++) {
      const level = 2000 + 14000 * Math.abs(Math.sin((2 * Math.PI * i) / 30000));
      const left = Math.round(level * random());
      const right = Math.round(0.5 * level * Math.sin((2 * Math.PI * 9000 * i) / 44100) + 0.3 * level * random());
      stereo[2 * i] = left;
      stereo[2 * i + 1] = right;
      three[3 * i] = left;
      three[3 * i + 1] = right;
    }
    const general = new FileLoudnessMeter(44100, 3, [1, 1, 0]);
    general.push(three, 2 / 32768);
    const b = general.finish();
    // Pieces of 7 to 35 frames (runs shorter than the true-peak filter's 11-sample history), and whole 100-ms runs.
    const inPieces = new FileLoudnessMeter(44100, 2, [1, 1]);
    for (let at = 0; at < stereo.length; at += 14 * (1 + (at % 5))) inPieces.push(stereo.subarray(at, Math.min(stereo.length, at + 14 * (1 + (at % 5)))), 2 / 32768);
    const whole = new FileLoudnessMeter(44100, 2, [1, 1]);
    whole.push(stereo, 2 / 32768);
    for (const a of [inPieces.finish(), whole.finish()]) {
      expect(a.integratedLufs).toBeCloseTo(b.integratedLufs!, 9);
      expect(a.rangeLu).toBeCloseTo(b.rangeLu, 9);
      expect(a.truePeakDbtp).toBeCloseTo(b.truePeakDbtp, 12);
      for (let i = 0; i < a.shortTermLufs.length; i++) expect(a.shortTermLufs[i]).toBeCloseTo(b.shortTermLufs[i], 4);
    }
  });

  it('measures two stereo files pushed in turn as each alone (the kernel they share keeps no meter\'s state between pushes)', () => {
    // Prepare: two files at different rates and levels, as two runs decoding at once in one process would push them.
    const make = (rate: number, seconds: number, amplitude: number, hz: number) => {
      const frames = rate * seconds;
      const samples = new Int16Array(2 * frames);
      for (let i = 0; i < frames; i++) {
        samples[2 * i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate) * (1 + 0.5 * Math.sin((2 * Math.PI * i) / rate)));
        samples[2 * i + 1] = Math.round(0.7 * amplitude * Math.sin((2 * Math.PI * 1.5 * hz * i) / rate));
      }
      return samples;
    };
    const first = make(44_100, 5, 9000, 440);
    const second = make(48_000, 4, 20_000, 3000);
    const alone = (samples: Int16Array, rate: number) => {
      const meter = new FileLoudnessMeter(rate, 2, [1, 1]);
      for (let at = 0; at < samples.length; at += 4096) meter.push(samples.subarray(at, at + 4096), 2 / 32768);
      return meter.finish();
    };
    // Act
    const a = new FileLoudnessMeter(44_100, 2, [1, 1]);
    const b = new FileLoudnessMeter(48_000, 2, [1, 1]);
    for (let at = 0; at < Math.max(first.length, second.length); at += 4096) {
      if (at < first.length) a.push(first.subarray(at, at + 4096), 2 / 32768);
      if (at < second.length) b.push(second.subarray(at, at + 4096), 2 / 32768);
    }
    // Assess
    expect(a.finish()).toEqual(alone(first, 44_100));
    expect(b.finish()).toEqual(alone(second, 48_000));
  });

  it('reads a NaN in float stereo samples as silence', () => {
    const frames = 44100;
    const clean = new Float32Array(frames * 2);
    for (let i = 0; i < frames; i++) {
      clean[2 * i] = 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 44100);
      clean[2 * i + 1] = 0.5 * Math.sin((2 * Math.PI * 1500 * i) / 44100);
    }
    const holed = clean.slice();
    for (let i = 1000; i < 1100; i++) {
      holed[i] = Number.NaN;
      clean[i] = 0;
    }
    const measure = (samples: Float32Array) => {
      const meter = new FileLoudnessMeter(44100, 2);
      meter.push(samples);
      return meter.finish();
    };
    const a = measure(holed);
    const b = measure(clean);
    expect(a.integratedLufs).not.toBeNull();
    expect(a.integratedLufs).toBe(b.integratedLufs);
    expect(a.truePeakDbtp).toBe(b.truePeakDbtp);
  });

  it("measures ffmpeg's 16-bit bytes the same whether a read holds whole frames or splits them at any byte", () => {
    const frames = 44100 * 2;
    const bytes = new Uint8Array(frames * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < frames; i++) {
      view.setInt16(4 * i, Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 44100)), true);
      view.setInt16(4 * i + 2, Math.round(12000 * Math.sin((2 * Math.PI * 2500 * i) / 44100)), true);
    }
    const measure = (pieceBytes: number, offset: number) => {
      const sink = new LoudnessSink();
      sink.start({ sampleRate: 44100, channels: 2, channelLayout: 'stereo' });
      // Every piece is read into one buffer, `offset` bytes in, which the next read overwrites, as the socket
      // reader's reads do (core/output-socket.ts): what the sink keeps of a piece must be its own copy.
      const holder = Buffer.alloc(offset + pieceBytes);
      for (let at = 0; at < bytes.length; at += pieceBytes) {
        const piece = bytes.subarray(at, Math.min(bytes.length, at + pieceBytes));
        holder.set(piece, offset);
        sink.push(holder.subarray(offset, offset + piece.length));
      }
      return sink.finish()!;
    };
    const whole = measure(65536, 0); // whole frames where they lie
    for (const [pieceBytes, offset] of [[1001, 0], [4096, 1], [6, 3], [65536, 2]]) {
      const other = measure(pieceBytes, offset);
      // Equal but for the order in which each 100-ms energy is summed.
      expect(other.integratedLufs).toBeCloseTo(whole.integratedLufs!, 9);
      expect(other.truePeakDbtp).toBe(whole.truePeakDbtp);
      other.shortTermLufs.forEach((value, i) => expect(value).toBeCloseTo(whole.shortTermLufs[i], 4));
    }
    expect(whole.integratedLufs).not.toBeNull();
  });
});

describe('the embedded stereo K-weighting kernel', () => {
  it('is core/descriptors/loudness-kernel.wat as assembled now (rerun scripts/embed-wasm-kernels.ts after editing it)', async () => {
    // Act / Assess
    expect(readFileSync(WASM_KERNELS.loudness.module, 'utf8')).toBe(await wasmKernelSource('loudness'));
  });
});
