import { handle, json } from '../../../lib/server/http.ts';
import { searchLibrary } from '../../../lib/server/library.ts';
import { recentRuns } from '../../../lib/server/runs.ts';

/**
 * GET → the latest runs, newest first (`runs`), and one page of the library of finished runs (`library`):
 * `?q=&bpmMin=&bpmMax=&key=&meter=&lufsMin=&lufsMax=&from=&to=&sort=date|date-asc|tempo|tempo-desc&page=&pageSize=`.
 * With any library parameter, only the library is read.
 */
export async function GET(request: Request) {
  return handle(request, async () => {
    const params = new URL(request.url).searchParams;
    if ([...params.keys()].length > 0) return json({ library: await searchLibrary(params) });
    const [runs, library] = await Promise.all([recentRuns(), searchLibrary(params)]);
    return json({ runs, library });
  });
}
