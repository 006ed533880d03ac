/**
 * What the site accepts as an upload, shared by the browser (instant feedback) and the server (which signs
 * the presigned POST with the same answer). Preprocess still decides for real: it runs ffprobe/ffmpeg and
 * names the error when a file that looks like audio is not (InvalidAudio, NoAudioStream).
 *
 * Browser-safe: no Node imports.
 */

/** 200 MB: a long, lossless album track; a bigger file would not finish preprocessing inside a Lambda. */
export const DEFAULT_MAX_UPLOAD_BYTES = 200 * 1000 * 1000;

/**
 * Extensions of the containers ffmpeg decodes audio from, with the content type the upload is stored under.
 * Video containers are accepted too: ffmpeg takes their audio stream.
 */
export const CONTENT_TYPE_BY_EXTENSION: Readonly<Record<string, string>> = {
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  wave: 'audio/wav',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  m4a: 'audio/mp4',
  m4b: 'audio/mp4',
  aac: 'audio/aac',
  mp2: 'audio/mpeg',
  aif: 'audio/aiff',
  aiff: 'audio/aiff',
  aifc: 'audio/aiff',
  caf: 'audio/x-caf',
  wma: 'audio/x-ms-wma',
  amr: 'audio/amr',
  ac3: 'audio/ac3',
  mka: 'audio/x-matroska',
  webm: 'audio/webm',
  weba: 'audio/webm',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  mkv: 'video/x-matroska',
  '3gp': 'video/3gpp',
};

/** For the file picker: every audio/video type, plus the extensions browsers do not map to a type. */
export const ACCEPT_ATTRIBUTE = ['audio/*', 'video/*', ...Object.keys(CONTENT_TYPE_BY_EXTENSION).map((ext) => `.${ext}`)].join(',');

/** The formats named to people, in the order they meet them. */
export const FORMATS_IN_WORDS = 'MP3, WAV, FLAC, OGG, M4A, AAC, AIFF, WebM, or a video with sound';

export interface UploadCandidate {
  name: string;
  /** What the browser says (File.type); often empty for less common formats. */
  type: string;
  size: number;
}

export type UploadVerdict =
  | { ok: true; contentType: string }
  | { ok: false; reason: string; code: 'empty' | 'too-large' | 'not-audio' };

const MEDIA_TYPE = /^(audio|video)\/[a-z0-9][a-z0-9.+-]{0,80}$/;

export function extensionOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** "audio/webm;codecs=opus" → "audio/webm"; anything that is not audio/* or video/* → undefined. */
export function normaliseMediaType(type: string): string | undefined {
  const bare = type.split(';')[0].trim().toLowerCase();
  return MEDIA_TYPE.test(bare) ? bare : undefined;
}

/**
 * Whether to accept the file, and the content type to store it under. The extension decides when it is
 * known (browsers disagree on types: audio/x-flac, audio/x-m4a …); otherwise an audio/* or video/* type does.
 */
export function checkUpload(file: UploadCandidate, maxBytes: number = DEFAULT_MAX_UPLOAD_BYTES): UploadVerdict {
  if (!Number.isFinite(file.size) || file.size <= 0) {
    return { ok: false, code: 'empty', reason: `“${file.name}” is empty.` };
  }
  if (file.size > maxBytes) {
    return {
      ok: false,
      code: 'too-large',
      reason: `“${file.name}” is ${formatBytes(file.size)}; the limit is ${formatBytes(maxBytes)}.`,
    };
  }
  const contentType = CONTENT_TYPE_BY_EXTENSION[extensionOf(file.name)] ?? normaliseMediaType(file.type);
  if (!contentType) {
    return {
      ok: false,
      code: 'not-audio',
      reason: `“${file.name}” does not look like audio. Choose ${FORMATS_IN_WORDS}.`,
    };
  }
  return { ok: true, contentType };
}

/** The recording's file name and type from MediaRecorder's mimeType ("audio/webm;codecs=opus"). */
export function recordingFile(mimeType: string, at: Date): { name: string; type: string } {
  const type = normaliseMediaType(mimeType) ?? 'audio/webm';
  const ext =
    Object.entries(CONTENT_TYPE_BY_EXTENSION).find(([, known]) => known === type)?.[0] ?? (type.endsWith('/ogg') ? 'ogg' : 'webm');
  const stamp = at.toISOString().slice(0, 19).replace('T', '-').replace(/:/g, '');
  return { name: `recording-${stamp}.${ext}`, type };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value >= 100 ? Math.round(value) : Number(value.toFixed(1))} ${units[unit]}`;
}
