/** The library's core: entries from result documents, the descriptor vector, neighbours and their reasons, filters, backfill, deletion. */
import { keys, type ResultDocument } from '#core/contract';
import {
  addToLibraryIndex,
  deleteRun,
  descriptorVector,
  distance,
  entryFromResult,
  InvalidLibraryQuery,
  LibraryCache,
  LibraryIndex,
  LibraryIndexContended,
  parseLibraryQuery,
  refreshLibrary,
  similarityReason,
  updateLibraryIndexObject,
  type LibraryEntry,
} from '#core/library';

function entry(overrides: Partial<LibraryEntry> & { id: string }): LibraryEntry {
  return {
    version: 1,
    fileName: `${overrides.id}.mp3`,
    createdAt: '2026-11-01T12:00:00.000Z',
    durationSec: 180,
    bpm: 120,
    key: 'C major',
    meter: '4/4',
    loudnessLufs: -12,
    spectralCentroidHz: 1800,
    percussiveRatio: 0.3,
    onsetsPerSec: 3,
    crestDb: 12,
    loudnessRangeLu: 6,
    centroidSpreadOctaves: 0.2,
    summary: 'A steady pop song.',
    captionText: '',
    ...overrides,
  };
}

const apart = (a: Partial<LibraryEntry>, b: Partial<LibraryEntry>) =>
  distance(descriptorVector(entry({ id: 'a', ...a })), descriptorVector(entry({ id: 'b', ...b })));

function indexOf(...entries: LibraryEntry[]): LibraryIndex {
  const index = new LibraryIndex();
  for (const e of entries) index.upsert(e);
  return index;
}

describe('descriptorVector', () => {
  it('folds tempo octaves: a song and the same song felt at double tempo are the same point', () => {
    expect(apart({ bpm: 70 }, { bpm: 140 })).toBeCloseTo(0, 9);
    expect(apart({ bpm: 120 }, { bpm: 124 })).toBeLessThan(apart({ bpm: 120 }, { bpm: 135 }));
    // 1.5× is as far from an octave as a tempo can be.
    expect(apart({ bpm: 120 }, { bpm: 180 })).toBeGreaterThan(apart({ bpm: 120 }, { bpm: 135 }));
  });

  it('measures tempo on a log scale: 60→66 BPM is as far as 120→132', () => {
    expect(apart({ bpm: 60 }, { bpm: 66 })).toBeCloseTo(apart({ bpm: 120 }, { bpm: 132 }), 9);
  });

  it('puts relative major/minor and neighbouring keys on the circle of fifths close, the tritone far', () => {
    const relative = apart({ key: 'C major' }, { key: 'A minor' });
    const fifth = apart({ key: 'C major' }, { key: 'G major' });
    const tritone = apart({ key: 'C major' }, { key: 'F# major' });
    const semitone = apart({ key: 'C major' }, { key: 'C# major' });
    expect(relative).toBeGreaterThan(0);
    expect(relative).toBeLessThan(fifth);
    expect(fifth).toBeLessThan(semitone);
    expect(semitone).toBeLessThan(tritone);
    expect(apart({ key: 'Eb minor' }, { key: 'D# minor' })).toBe(0);
  });

  it('tells meter, loudness, brightness and percussion apart', () => {
    expect(apart({ meter: '4/4' }, { meter: '3/4' })).toBeGreaterThan(0);
    expect(apart({ loudnessLufs: -8 }, { loudnessLufs: -20 })).toBeGreaterThan(apart({ loudnessLufs: -8 }, { loudnessLufs: -10 }));
    expect(apart({ spectralCentroidHz: 1000 }, { spectralCentroidHz: 4000 })).toBeGreaterThan(apart({ spectralCentroidHz: 1000 }, { spectralCentroidHz: 1200 }));
    expect(apart({ percussiveRatio: 0.1 }, { percussiveRatio: 0.6 })).toBeGreaterThan(apart({ percussiveRatio: 0.1 }, { percussiveRatio: 0.15 }));
  });
});

describe('similarityReason', () => {
  it('says what the neighbour shares and how its tempo differs', () => {
    const song = entry({ id: 'a', bpm: 124, key: 'A minor', loudnessLufs: -10 });
    expect(similarityReason(song, entry({ id: 'b', bpm: 120, key: 'A minor', loudnessLufs: -11 }))).toBe('same key, 4 BPM slower, similar energy');
    expect(similarityReason(song, entry({ id: 'c', bpm: 248, key: 'C major', loudnessLufs: -20 }))).toBe('relative major, double time, quieter');
    expect(similarityReason(song, entry({ id: 'd', bpm: 124.5, key: 'E minor', meter: '6/8', spectralCentroidHz: 4000 }))).toBe(
      'neighbouring key (a fifth apart), same tempo, similar energy, in 6/8, brighter',
    );
  });
});

describe('LibraryIndex.similar', () => {
  it('returns the nearest runs first, never the run itself, each with its reason', () => {
    const index = indexOf(
      entry({ id: 'song', bpm: 128, key: 'F minor' }),
      entry({ id: 'twin', bpm: 126, key: 'F minor' }),
      entry({ id: 'cousin', bpm: 128, key: 'Ab major', spectralCentroidHz: 2600 }),
      entry({ id: 'stranger', bpm: 77, key: 'B major', meter: '3/4', loudnessLufs: -25, percussiveRatio: 0.02 }),
    );
    const similar = index.similar('song', 2)!;
    expect(similar.map((run) => run.id)).toEqual(['twin', 'cousin']);
    expect(similar[0].reason).toBe('same key, 2 BPM slower, similar energy');
    expect(similar[0].distance).toBeLessThan(similar[1].distance);
    expect(index.similar('song')!.map((run) => run.id)).toEqual(['twin', 'cousin', 'stranger']);
    expect(index.similar('missing')).toBeUndefined();
  });
});

describe('LibraryIndex.similar with songs run more than once', () => {
  it('lists a song run several times once, by its newest run, and never the song on its own page', () => {
    // Prepare: the page's song run twice, a near neighbour run three times, another song.
    const again = (id: string, fileName: string, createdAt: string, overrides: Partial<LibraryEntry> = {}) => entry({ id, fileName, createdAt, ...overrides });
    const index = indexOf(
      again('song-1', 'pirate.ogg', '2026-11-01T12:00:00.000Z', { bpm: 128 }),
      again('song-2', 'pirate.ogg', '2026-11-02T12:00:00.000Z', { bpm: 128 }),
      again('near-1', 'forest.ogg', '2026-11-01T12:00:00.000Z', { bpm: 126 }),
      again('near-2', 'forest.ogg', '2026-11-03T12:00:00.000Z', { bpm: 126 }),
      again('near-3', 'forest.ogg', '2026-11-02T12:00:00.000Z', { bpm: 126 }),
      again('other', 'city.ogg', '2026-11-01T12:00:00.000Z', { bpm: 90, key: 'Ab major' }),
      // Another song under the same name, of another length: a song of its own.
      again('namesake', 'forest.ogg', '2026-11-01T12:00:00.000Z', { bpm: 70, durationSec: 95 }),
    );
    // Act
    const similar = index.similar('song-1')!.map((run) => run.id);
    // Assess
    expect(similar).toEqual(['near-2', 'namesake', 'other']);
  });
});

describe('LibraryIndex.query', () => {
  const index = indexOf(
    entry({ id: 'r1', fileName: 'Morning Walk.mp3', bpm: 90, key: 'G major', createdAt: '2026-10-01T10:00:00Z', captionText: 'acoustic guitar and soft vocals' }),
    entry({ id: 'r2', fileName: 'club night.wav', bpm: 128, key: 'Eb minor', meter: '4/4', loudnessLufs: -7, createdAt: '2026-10-15T10:00:00Z', summary: 'Driving techno with a heavy kick.' }),
    entry({ id: 'r3', fileName: 'waltz.flac', bpm: 150, key: 'D major', meter: '3/4', loudnessLufs: -18, createdAt: '2026-11-02T10:00:00Z', captionText: 'a piano waltz' }),
    entry({ id: 'r4', fileName: 'drone.mp3', bpm: null, key: null, meter: null, loudnessLufs: null, createdAt: '2026-11-20T10:00:00Z' }),
  );
  const ids = (params: Record<string, string>) => index.query(parseLibraryQuery(params)).runs.map((run) => run.id);

  it('lists newest first by default, oldest first or by tempo when asked, runs without tempo last', () => {
    expect(ids({})).toEqual(['r4', 'r3', 'r2', 'r1']);
    expect(ids({ sort: 'date-asc' })).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(ids({ sort: 'tempo' })).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(ids({ sort: 'tempo-desc' })).toEqual(['r3', 'r2', 'r1', 'r4']);
  });

  it('finds every word of the search in the file name, summary or captions, in any case', () => {
    expect(ids({ q: 'MORNING' })).toEqual(['r1']);
    expect(ids({ q: 'guitar vocals' })).toEqual(['r1']);
    expect(ids({ q: 'guitar techno' })).toEqual([]);
    expect(ids({ q: 'techno' })).toEqual(['r2']);
    expect(ids({ q: 'piano' })).toEqual(['r3']);
  });

  it('filters by tempo range, key in any spelling, meter, loudness and date', () => {
    expect(ids({ bpmMin: '100', bpmMax: '140' })).toEqual(['r2']);
    expect(ids({ key: 'D# minor' })).toEqual(['r2']);
    expect(ids({ meter: '3/4' })).toEqual(['r3']);
    expect(ids({ lufsMin: '-10' })).toEqual(['r2']);
    expect(ids({ lufsMax: '-15' })).toEqual(['r4', 'r3']);
    expect(ids({ from: '2026-10-10', to: '2026-11-02' })).toEqual(['r3', 'r2']);
  });

  it('pages the matches and says how many there are', () => {
    const page = index.query(parseLibraryQuery({ pageSize: '3', page: '2' }));
    expect(page).toMatchObject({ total: 4, page: 2, pages: 2, pageSize: 3 });
    expect(page.runs.map((run) => run.id)).toEqual(['r1']);
    expect(page.runs[0]).not.toHaveProperty('captionText');
  });

  it('refuses unreadable parameters, naming each one', () => {
    expect(() => parseLibraryQuery({ bpmMin: 'fast', key: 'H major', sort: 'random' })).toThrow(InvalidLibraryQuery);
    expect(() => parseLibraryQuery({ bpmMin: 'fast', key: 'H major', sort: 'random', page: '0' })).toThrow(/bpmMin.*key.*sort.*page/);
  });
});

// ——— The store: backfill and deletion, over an in-memory stand-in for S3 ————————————————————————————

function memoryStore(initial: Record<string, string> = {}) {
  const objects = new Map(Object.entries(initial));
  // S3's ETag, as a counter of writes: what the index object's conditional writes compare.
  const versions = new Map<string, number>();
  let writes = 0;
  return {
    objects,
    bucket: 'test',
    async readVersioned(key: string) {
      const text = objects.get(key);
      return text === undefined ? undefined : { text, version: String(versions.get(key) ?? 0) };
    },
    async putIfVersion(key: string, body: string, version: string | undefined) {
      const current = objects.has(key) ? String(versions.get(key) ?? 0) : undefined;
      if (current !== version) return false;
      objects.set(key, body);
      versions.set(key, ++writes);
      return true;
    },
    async list(prefix: string) {
      return [...objects.keys()].filter((key) => key.startsWith(prefix)).sort();
    },
    async getJson<T>(key: string) {
      const text = objects.get(key);
      return text === undefined ? undefined : (JSON.parse(text) as T);
    },
    async put(key: string, body: Buffer | string) {
      objects.set(key, body.toString());
      versions.set(key, ++writes);
    },
    async remove(removed: string[]) {
      for (const key of removed) objects.delete(key);
    },
  };
}

function result(id: string, overrides: Partial<ResultDocument> = {}): ResultDocument {
  const windowTags = { bpm: 100, bpmConfidence: 0.9, key: 'A minor', keyConfidence: 0.8, loudnessLufs: -14, shortTermMaxLufs: -12, rmsDbfs: -18, peakDbfs: -3, crestDb: 11, onsetsPerSec: 2, silenceRatio: 0, percussiveRatio: 0.2 };
  return {
    id,
    status: 'SUCCEEDED',
    file: { name: `${id}.mp3`, sizeBytes: 1000, durationSec: 20, sampleRate: 44100, channels: 2, codec: 'mp3' },
    chunks: [
      { index: 0, startSec: 0, endSec: 10, caption: 'A mellow piano.', quality: 'ok', tags: { ...windowTags, spectralCentroidHz: 1000 } },
      { index: 1, startSec: 10, endSec: 20, caption: 'A mellow piano.', quality: 'ok', tags: { ...windowTags, spectralCentroidHz: 4000 } },
    ],
    tags: { ...windowTags, spectralCentroidHz: 2000, loudnessRangeLu: 5, truePeakDbtp: -1, meter: '4/4', meterConfidence: 0.7 },
    analysis: { beats: [], downbeats: [], tempoChanges: [], keySections: [], loudnessCurve: [] },
    summary: { text: 'A calm piano piece.', source: 'local', model: 'local' },
    captioner: { backend: 'builtin', model: 'builtin' },
    createdAt: '2026-11-27T10:00:00.000Z',
    ...overrides,
  };
}

describe('entryFromResult', () => {
  it('keeps the track tags, each distinct caption once, and the spread of brightness across the windows', () => {
    const made = entryFromResult(result('one'));
    expect(made).toMatchObject({ id: 'one', fileName: 'one.mp3', bpm: 100, key: 'A minor', meter: '4/4', loudnessLufs: -14, loudnessRangeLu: 5, summary: 'A calm piano piece.' });
    expect(made.captionText).toBe('A mellow piano.');
    // log2(1000) and log2(4000) are 2 octaves apart: a standard deviation of 1 octave.
    expect(made.centroidSpreadOctaves).toBeCloseTo(1, 3);
  });
});

describe('refreshLibrary', () => {
  it('reads new entries, backfills succeeded results that have none, skips failures, and drops deleted entries', async () => {
    const store = memoryStore({
      [keys.libraryEntry('listed')]: JSON.stringify(entry({ id: 'listed' })),
      [keys.result('listed')]: JSON.stringify(result('listed')),
      [keys.result('older')]: JSON.stringify(result('older')),
      [keys.result('failed')]: JSON.stringify({ id: 'failed', status: 'FAILED', error: { name: 'InvalidAudio', message: 'x', step: 'Preprocess' }, createdAt: '2026-11-27T10:00:00Z' }),
    });
    const index = new LibraryIndex();
    expect(await refreshLibrary(store, index)).toEqual({ read: 1, backfilled: 1, removed: 0, removedIds: [] });
    expect(index.ids().sort()).toEqual(['listed', 'older']);
    expect(store.objects.has(keys.libraryEntry('older'))).toBe(true);
    expect(store.objects.has(keys.libraryEntry('failed'))).toBe(false);

    expect(await refreshLibrary(store, index)).toEqual({ read: 0, backfilled: 0, removed: 0, removedIds: [] });
    store.objects.delete(keys.libraryEntry('listed'));
    store.objects.delete(keys.result('listed'));
    expect(await refreshLibrary(store, index)).toEqual({ read: 0, backfilled: 0, removed: 1, removedIds: ['listed'] });
    expect(index.ids()).toEqual(['older']);
  });
});

describe('LibraryCache', () => {
  /** The store, counting reads of single library entries (the per-run reads a snapshot saves). */
  function countingStore(initial: Record<string, string>) {
    const store = memoryStore(initial);
    const counted = { ...store, entryReads: 0 };
    counted.getJson = async <T,>(key: string) => {
      if (key.startsWith(keys.libraryPrefix) && key.endsWith('.json')) counted.entryReads++;
      return store.getJson<T>(key);
    };
    return counted;
  }

  it('writes a snapshot after loading, so a fresh process answers with one read, then catches up with new and deleted runs', async () => {
    // Prepare: three runs' entries, and a first process that loads them one by one.
    const objects = Object.fromEntries(['a', 'b', 'c'].map((id) => [keys.libraryEntry(id), JSON.stringify(entry({ id }))]));
    const store = countingStore(objects);
    const first = new LibraryCache(store);
    expect((await first.current()).ids().sort()).toEqual(['a', 'b', 'c']);
    expect(store.entryReads).toBe(3);
    expect(store.objects.has(keys.librarySnapshot)).toBe(true);

    // Act: a run is added and one deleted after the snapshot; a fresh process starts.
    await store.put(keys.libraryEntry('d'), JSON.stringify(entry({ id: 'd' })));
    store.objects.delete(keys.libraryEntry('a'));
    store.entryReads = 0;
    const fresh = new LibraryCache(store, { refreshMs: 0 });
    const answered = (await fresh.current()).ids().sort();

    // Assess: it answered from the snapshot without reading a single entry ...
    expect(answered).toEqual(['a', 'b', 'c']);
    expect(store.entryReads).toBe(0);
    // ... and its refresh reads only the new entry, drops the deleted one, and writes the snapshot again.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await fresh.current()).ids().sort()).toEqual(['b', 'c', 'd']);
    expect(store.entryReads).toBe(1);
    const snapshot = JSON.parse(store.objects.get(keys.librarySnapshot)!) as { entries: LibraryEntry[] };
    expect(snapshot.entries.map((e) => e.id).sort()).toEqual(['b', 'c', 'd']);
  });
});

describe('the index object (updateLibraryIndexObject)', () => {
  it('re-reads and re-applies a change when another writer came first, so neither loses its run', async () => {
    // Prepare: a store where, once, another Summarize writes its run between this one's read and write.
    const store = memoryStore();
    await addToLibraryIndex(store, entry({ id: 'first' }));
    const read = store.readVersioned.bind(store);
    let interleaved = false;
    store.readVersioned = async (key: string) => {
      const answer = await read(key);
      if (!interleaved) {
        interleaved = true;
        await addToLibraryIndex({ readVersioned: read, putIfVersion: store.putIfVersion }, entry({ id: 'other' }));
      }
      return answer;
    };

    // Act
    await addToLibraryIndex(store, entry({ id: 'mine' }));

    // Assess: all three runs are in the object.
    const snapshot = JSON.parse(store.objects.get(keys.librarySnapshot)!) as { entries: LibraryEntry[] };
    expect(snapshot.entries.map((e) => e.id).sort()).toEqual(['first', 'mine', 'other']);
  });

  it('gives up with LibraryIndexContended when every try meets a newer version', async () => {
    const store = memoryStore();
    store.putIfVersion = async () => false;
    await expect(updateLibraryIndexObject(store, () => true, () => 0)).rejects.toThrow(LibraryIndexContended);
  });
});

describe('LibraryCache without an index object', () => {
  it('answers within its wait over the runs read so far, says how far it got, and is whole once read', async () => {
    // Prepare: 200 runs from before the index object, each read taking 40 ms (32 at a time: about 250 ms in all).
    const store = memoryStore(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [keys.libraryEntry(`run-${i}`), JSON.stringify(entry({ id: `run-${i}` }))])));
    const getJson = store.getJson.bind(store);
    store.getJson = async <T,>(key: string) => {
      await new Promise((resolve) => setTimeout(resolve, 40));
      return getJson<T>(key);
    };
    const cache = new LibraryCache(store, { firstWaitMs: 60 });

    // Act
    const started = Date.now();
    const early = await cache.query(parseLibraryQuery({}));
    const waited = Date.now() - started;

    // Assess: an answer within the wait, over part of the library, saying so ...
    expect(waited).toBeLessThan(200);
    expect(early.loading).toBeDefined();
    expect(early.loading!.listed).toBe(200);
    expect(early.loading!.read).toBeLessThan(200);
    expect(early.total).toBe(cache.index.size);
    // ... and the whole library, with no loading note, once read; the index object written for the next process.
    while (cache.loading) await new Promise((resolve) => setTimeout(resolve, 20));
    const whole = await cache.query(parseLibraryQuery({}));
    expect(whole.loading).toBeUndefined();
    expect(whole.total).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((JSON.parse(store.objects.get(keys.librarySnapshot)!) as { entries: LibraryEntry[] }).entries).toHaveLength(200);
  });
});

describe('deleteRun', () => {
  it("removes the run's upload, windows, captions, result and library entry, and nothing of a run whose id it prefixes", async () => {
    const store = memoryStore();
    for (const id of ['run-a', 'run-ab']) {
      await store.put(keys.upload(id, 'song.mp3'), 'audio');
      await store.put(keys.manifest(id), '{}');
      await store.put(`${keys.windowPrefix(id)}${keys.windowFile(0)}`, 'npy');
      await store.put(`${keys.captionPrefix(id)}captions.json`, '[]');
      await store.put(keys.result(id), '{}');
      await store.put(keys.libraryEntry(id), '{}');
    }
    const deleted = await deleteRun(store, 'run-a');
    expect(deleted).toHaveLength(6);
    expect(deleted.at(-1)).toBe(keys.libraryEntry('run-a'));
    expect([...store.objects.keys()].every((key) => key.includes('run-ab'))).toBe(true);
    expect(store.objects.size).toBe(6);
    expect(await deleteRun(store, 'run-a')).toEqual([]);
  });
});
