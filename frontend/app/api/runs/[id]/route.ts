import { handle, json } from '../../../../lib/server/http.ts';
import { deleteRunFromSite } from '../../../../lib/server/library.ts';
import { runStatus } from '../../../../lib/server/runs.ts';

/** GET → the run's steps, and its result once it has ended. Polled by the run page about once a second. */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  return handle(request, async () => json(await runStatus((await params).id)));
}

/** DELETE → removes the run's upload, windows, captions, result and library entry (refused while it runs). */
export async function DELETE(request: Request, { params }: { params: Promise<{ id: string }> }) {
  return handle(request, async () => json(await deleteRunFromSite((await params).id)));
}
