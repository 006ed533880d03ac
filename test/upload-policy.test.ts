import {
  ACCEPT_ATTRIBUTE,
  DEFAULT_MAX_UPLOAD_BYTES,
  checkUpload,
  extensionOf,
  formatBytes,
  normaliseMediaType,
  recordingFile,
} from '#core/upload-policy';

describe('checkUpload', () => {
  it.each([
    ['song.mp3', '', 'audio/mpeg'],
    ['Song.FLAC', 'audio/x-flac', 'audio/flac'],
    ['take.m4a', 'audio/x-m4a', 'audio/mp4'],
    ['voice.ogg', 'application/ogg', 'audio/ogg'],
    ['clip.mov', 'video/quicktime', 'video/quicktime'],
    ['track', 'audio/x-aiff', 'audio/x-aiff'],
    ['memo.unknown', 'audio/webm;codecs=opus', 'audio/webm'],
  ])('accepts %p (browser type %p) and stores it as %p', (name, type, contentType) => {
    expect(checkUpload({ name, type, size: 1_000_000 })).toEqual({ ok: true, contentType });
  });

  it('refuses a file that is neither an audio extension nor an audio or video type, and says what to choose', () => {
    // Act
    const verdict = checkUpload({ name: 'notes.txt', type: 'text/plain', size: 2048 });

    // Assess
    expect(verdict).toMatchObject({ ok: false, code: 'not-audio' });
    expect(verdict.ok === false && verdict.reason).toMatch(/“notes\.txt” does not look like audio\. Choose MP3, WAV, FLAC/);
  });

  it('refuses an empty file', () => {
    expect(checkUpload({ name: 'song.mp3', type: 'audio/mpeg', size: 0 })).toMatchObject({ ok: false, code: 'empty' });
  });

  it('refuses a file over the limit and names both sizes', () => {
    // Act
    const verdict = checkUpload({ name: 'album.wav', type: 'audio/wav', size: 250_400_000 }, DEFAULT_MAX_UPLOAD_BYTES);

    // Assess
    expect(verdict).toEqual({ ok: false, code: 'too-large', reason: '“album.wav” is 250 MB; the limit is 200 MB.' });
  });

  it('accepts a file of exactly the limit', () => {
    expect(checkUpload({ name: 'a.wav', type: '', size: 5000 }, 5000).ok).toBe(true);
    expect(checkUpload({ name: 'a.wav', type: '', size: 5001 }, 5000).ok).toBe(false);
  });
});

describe('normaliseMediaType', () => {
  it('drops parameters and case, and refuses anything but audio and video', () => {
    expect(normaliseMediaType('Audio/WebM; codecs=opus')).toBe('audio/webm');
    expect(normaliseMediaType('text/html')).toBeUndefined();
    expect(normaliseMediaType('audio/mpeg\r\nX-Evil: 1')).toBeUndefined();
  });
});

describe('extensionOf', () => {
  it('reads the last extension of the last path segment, and none from a dotfile', () => {
    expect(extensionOf('C:\\music\\live.set.MP3')).toBe('mp3');
    expect(extensionOf('.bashrc')).toBe('');
    expect(extensionOf('noext')).toBe('');
  });
});

describe('recordingFile', () => {
  it('names a MediaRecorder recording by its time and its container', () => {
    // Prepare
    const at = new Date('2026-03-01T09:08:07.654Z');

    // Act + Assess
    expect(recordingFile('audio/webm;codecs=opus', at)).toEqual({ name: 'recording-2026-03-01-090807.webm', type: 'audio/webm' });
    expect(recordingFile('audio/ogg;codecs=opus', at)).toEqual({ name: 'recording-2026-03-01-090807.ogg', type: 'audio/ogg' });
    expect(recordingFile('audio/mp4', at)).toEqual({ name: 'recording-2026-03-01-090807.m4a', type: 'audio/mp4' });
  });

  it('passes its own check', () => {
    // Prepare
    const file = recordingFile('audio/webm;codecs=opus', new Date());

    // Act + Assess
    expect(checkUpload({ ...file, size: 40_000 })).toEqual({ ok: true, contentType: 'audio/webm' });
  });
});

describe('ACCEPT_ATTRIBUTE', () => {
  it('lets the picker offer audio, video and the extensions browsers leave untyped', () => {
    const accepted = ACCEPT_ATTRIBUTE.split(',');
    expect(accepted).toEqual(expect.arrayContaining(['audio/*', 'video/*', '.flac', '.m4a', '.opus']));
  });
});

describe('formatBytes', () => {
  it.each([
    [999, '999 B'],
    [1500, '1.5 kB'],
    [200_000_000, '200 MB'],
    [12_345_678, '12.3 MB'],
  ])('writes %p bytes as %p', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
