import 'server-only';
import { PITCH_NAMES } from '#core/descriptors/key';
import { UPLOAD_ID_PATTERN } from '#core/ids';
import { InvalidLibraryQuery, LibraryCache, parseLibraryQuery, type LibraryPage, type SimilarRun } from '#core/library';
import { s3LibraryStore } from '../../../functions/shared/library-store.ts';
import { clients } from './aws.ts';
import { config } from './config.ts';
import { BadRequest, HttpError, NotFound } from './http.ts';
import { forgetRun, runSnapshot } from './runs.ts';

/** The run is still going: deleting it now would pull its files from under the pipeline. */
export class Conflict extends HttpError {
  override readonly name = 'Conflict';
  readonly status = 409;
}

const LIBRARY = Symbol.for('music-captioner.site.library');
type Holder = { [LIBRARY]?: LibraryCache };

/** One library per process (kept on globalThis: each route bundle has its own module instances). */
export function library(): LibraryCache {
  const holder = globalThis as Holder;
  if (!holder[LIBRARY]) {
    const { s3 } = clients();
    const { BUCKET } = config();
    holder[LIBRARY] = new LibraryCache(s3LibraryStore(s3, BUCKET));
  }
  return holder[LIBRARY];
}

/** `GET /api/runs?q=&bpmMin=…`: one page of the library. */
export async function searchLibrary(params: URLSearchParams): Promise<LibraryPage> {
  let query;
  try {
    query = parseLibraryQuery(params);
  } catch (error) {
    if (error instanceof InvalidLibraryQuery) throw new BadRequest(error.message);
    throw error;
  }
  return library().query(query);
}

/** `GET /api/runs/{id}/similar`: the nearest runs with their reasons. */
export async function similarRuns(id: string): Promise<{ id: string; similar: SimilarRun[] }> {
  if (!UPLOAD_ID_PATTERN.test(id)) throw new NotFound(`There is no run “${id}”.`);
  const cache = library();
  if (!(await cache.entry(id))) throw new NotFound(`Run “${id}” is not in the library: it has not finished, or it failed.`);
  return { id, similar: cache.index.similar(id) ?? [] };
}

/** `DELETE /api/runs/{id}`: everything the run left in the bucket; refused while the run is still going. */
export async function deleteRunFromSite(id: string): Promise<{ id: string; deletedObjects: number }> {
  if (!UPLOAD_ID_PATTERN.test(id)) throw new NotFound(`There is no run “${id}”.`);
  const snapshot = await runSnapshot(id).catch(() => null);
  if (snapshot?.phase === 'running') {
    throw new Conflict(`Run “${id}” is still running. Delete it once it has finished.`);
  }
  const deleted = await library().delete(id);
  forgetRun(id);
  if (deleted.length === 0) throw new NotFound(`There is no run “${id}” to delete.`);
  return { id, deletedObjects: deleted.length };
}

/** The 24 keys as the library spells them, for the key filter. */
export function libraryKeyNames(): string[] {
  return (['major', 'minor'] as const).flatMap((mode) => PITCH_NAMES.map((pitch) => `${pitch} ${mode}`));
}
