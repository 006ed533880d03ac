import { FORMATS_IN_WORDS, formatBytes } from '#core/upload-policy';
import { config } from '../lib/server/config.ts';
import { ensurePageAccess } from '../lib/server/page-access.ts';
import { recentRuns } from '../lib/server/runs.ts';
import type { RecentRun } from '../lib/run-view.ts';
import { RecentRuns } from './_components/RecentRuns.tsx';
import { LibraryBrowser } from './_components/LibraryBrowser.tsx';
import { libraryKeyNames, searchLibrary } from '../lib/server/library.ts';
import type { LibraryPage } from '#core/library';
import { Uploader } from './_components/Uploader.tsx';

export default async function Home() {
  await ensurePageAccess('/');
  const { MAX_UPLOAD_BYTES } = config();
  let runs: RecentRun[] | undefined;
  try {
    runs = await recentRuns();
  } catch (error) {
    console.error('[site] listing recent runs failed:', error);
  }
  let library: LibraryPage | undefined;
  try {
    library = await searchLibrary(new URLSearchParams());
  } catch (error) {
    console.error('[site] reading the library failed:', error);
  }
  return (
    <>
      <section className="hero" aria-labelledby="hero-title">
        <h1 id="hero-title">What happens in your song?</h1>
        <p className="lede">
          Upload a track or record one. It is cut into ten-second windows, each window is captioned, and the captions are
          summed up — you can watch every step as it runs.
        </p>
        <Uploader maxBytes={MAX_UPLOAD_BYTES} />
        <p className="hint">
          {FORMATS_IN_WORDS} · up to {formatBytes(MAX_UPLOAD_BYTES)}
        </p>
      </section>
      <section id="recent" className="section" aria-labelledby="recent-title">
        <h2 id="recent-title">Recent runs</h2>
        {runs ? (
          <RecentRuns runs={runs} />
        ) : (
          <p className="empty" role="status">
            The list of runs could not be read just now. Reload in a moment.
          </p>
        )}
      </section>
      <section id="library" className="section" aria-labelledby="library-title">
        <h2 id="library-title">Library</h2>
        {library ? (
          <LibraryBrowser initial={library} keyNames={libraryKeyNames()} />
        ) : (
          <p className="empty" role="status">
            The library could not be read just now. Reload in a moment.
          </p>
        )}
      </section>
    </>
  );
}
