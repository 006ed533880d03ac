/**
 * Preprocess: the upload → 10-second .npy windows + a manifest with measurements.
 * AWS-free: storage comes in as a BlobStore, ffmpeg as a path.
 */
import type { BlobStore } from './blob-store.ts';
import { TrackAnalyzer } from './descriptors/index.ts';
import { keys, SAMPLE_RATE, WINDOW_SAMPLES, type Manifest, type ManifestWindow } from './contract.ts';
import { AudioTooShort, FileTooLarge, InvalidAudio, UploadNotFound } from './errors.ts';
import { decodeAudio, InputUnreachable, NeedsSeekableInput, type DecodeResult } from './ffmpeg.ts';
import { uploadRefFromKey } from './ids.ts';
import { Windower, type Window } from './windows.ts';

export interface PreprocessLimits {
  maxUploadBytes: number;
  maxDurationSec: number;
  minDurationSec: number;
}

export interface PreprocessRequest {
  id: string;
  key: string;
}

export interface PreprocessResult {
  manifestKey: string;
  windowPrefix: string;
  captionPrefix: string;
  windowCount: number;
  durationSec: number;
}

export interface PreprocessDeps {
  store: BlobStore;
  ffmpeg: string;
  limits: PreprocessLimits;
  /** Window uploads in flight at once; more makes ffmpeg wait. */
  uploadConcurrency?: number;
  /** Stops decoding (and ffmpeg) when aborted. */
  signal?: AbortSignal;
  /** Measure the file's own loudness in the decode pass (default true); without it, loudness is the 16 kHz mono signal's. */
  measureLoudness?: boolean;
}

export async function preprocessUpload(request: PreprocessRequest, deps: PreprocessDeps): Promise<PreprocessResult> {
  const { store, limits } = deps;
  const head = await store.head(request.key);
  if (!head) throw new UploadNotFound(`The upload ${request.key} is not in the bucket any more, so there is nothing to process.`);
  if (head.sizeBytes === 0) throw new InvalidAudio('The file is empty (0 bytes).');
  if (head.sizeBytes > limits.maxUploadBytes) {
    throw new FileTooLarge(
      `The file is ${megabytes(head.sizeBytes)}, more than the ${megabytes(limits.maxUploadBytes)} this service accepts.`,
    );
  }

  // ffmpeg streams the object over a presigned URL: it reads as it decodes, and can seek where a format needs
  // it (an MP3's trailing tags that fix its exact length, an M4A whose index sits at the end), so the samples
  // match LP-MusicCaps' decoding of the file itself. When ffmpeg cannot fetch the URL (no https in its build,
  // a TLS or network failure), the bytes come on stdin instead; if that fails too, the first error says more.
  let decoded: DecodedTrack;
  try {
    decoded = await decodeIntoWindows(await store.presignGet(request.key, 900), request.id, deps);
  } catch (error) {
    if (!(error instanceof InputUnreachable)) throw error;
    try {
      decoded = await decodeIntoWindows(await store.getStream(request.key), request.id, deps);
    } catch (second) {
      throw second instanceof NeedsSeekableInput ? error : second;
    }
  }

  const durationSec = decoded.totalSamples / SAMPLE_RATE;
  if (durationSec < limits.minDurationSec) {
    throw new AudioTooShort(
      `The recording is ${durationSec.toFixed(2)} s long; at least ${limits.minDurationSec} s of sound is needed to describe it.`,
    );
  }

  const manifest: Manifest = {
    version: 1,
    id: request.id,
    upload: { bucket: store.bucket, key: request.key },
    file: {
      name: uploadRefFromKey(request.key).fileName,
      sizeBytes: head.sizeBytes,
      durationSec: round(durationSec, 3),
      sampleRate: decoded.info.sampleRate,
      channels: decoded.info.channels,
      codec: decoded.info.codec,
    },
    sampleRate: SAMPLE_RATE,
    windowSamples: WINDOW_SAMPLES,
    windows: decoded.windows.map((window, i): ManifestWindow => ({ ...window, tags: decoded.windowTags[i] })),
    tags: decoded.trackTags,
    analysis: decoded.analysis,
    sections: decoded.sections,
  };
  const manifestKey = keys.manifest(request.id);
  await store.put(manifestKey, JSON.stringify(manifest, null, 2), 'application/json');
  return {
    manifestKey,
    windowPrefix: keys.windowPrefix(request.id),
    captionPrefix: keys.captionPrefix(request.id),
    windowCount: manifest.windows.length,
    durationSec: manifest.file.durationSec,
  };
}

interface DecodedTrack {
  info: DecodeResult['info'];
  totalSamples: number;
  windows: Array<Omit<ManifestWindow, 'tags'>>;
  windowTags: Manifest['windows'][number]['tags'][];
  trackTags: Manifest['tags'];
  analysis: Manifest['analysis'];
  sections: NonNullable<Manifest['sections']>;
}

/**
 * One pass: ffmpeg decodes; this thread reads both of its outputs, measures the descriptors (TrackAnalyzer) and the
 * file's loudness as the samples arrive, cuts the windows and uploads them while ffmpeg goes on decoding.
 */
async function decodeIntoWindows(input: Parameters<typeof decodeAudio>[0]['input'], id: string, deps: PreprocessDeps): Promise<DecodedTrack> {
  const analyzer = new TrackAnalyzer(SAMPLE_RATE);
  const windower = new Windower();
  const written: Array<Omit<ManifestWindow, 'tags'>> = [];
  const inFlight = new Set<Promise<void>>();
  const limit = deps.uploadConcurrency ?? 4;
  let uploadError: unknown;

  const write = async (window: Window) => {
    const file = keys.windowFile(window.index);
    written.push({ index: window.index, file, startSec: window.startSec, endSec: window.endSec });
    const upload = deps.store.put(`${keys.windowPrefix(id)}${file}`, window.npy, 'application/octet-stream');
    const tracked: Promise<void> = upload.then(
      () => {
        inFlight.delete(tracked);
        windower.release(window);
      },
      (error: unknown) => {
        inFlight.delete(tracked);
        uploadError ??= error;
      },
    );
    inFlight.add(tracked);
    if (inFlight.size >= limit) await Promise.race(inFlight);
    if (uploadError) throw uploadError;
  };

  const stream = decodeAudio({
    ffmpeg: deps.ffmpeg, input, maxDurationSec: deps.limits.maxDurationSec, signal: deps.signal, measureLoudness: deps.measureLoudness, reuseChunks: true,
    // The file's own loudness is on its way (ffmpeg names its input before its first sample): the analyzer's
    // fallback on the mono signal would only be thrown away.
    onInfo: (_info, measuringLoudness) => {
      if (measuringLoudness) analyzer.withoutMonoLoudness();
    },
  });
  let decoded: DecodeResult;
  let measured: ReturnType<TrackAnalyzer['finish']> | undefined;
  try {
    for (;;) {
      const next = await stream.next();
      if (next.done) {
        decoded = next.value;
        break;
      }
      analyzer.push(next.value);
      for (const window of windower.push(next.value)) await write(window);
    }
    for (const window of windower.finish()) await write(window);
    // The whole-track analyses (beats, key, sections) run while the last windows upload.
    const ranges = written.map(({ startSec, endSec }) => ({ startSec, endSec }));
    measured = analyzer.finish(ranges, { fileLoudness: decoded!.loudness });
  } finally {
    // Never leave a window upload running past the step, whatever happened.
    await Promise.all(inFlight);
  }
  if (uploadError) throw uploadError;

  const { track, windows, analysis, sections } = measured!;
  return { info: decoded.info, totalSamples: windower.totalSamples, windows: written, windowTags: windows, trackTags: track, analysis, sections };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(bytes < 10_000_000 ? 1 : 0)} MB`;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
