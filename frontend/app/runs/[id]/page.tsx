import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { NotFound } from '../../../lib/server/http.ts';
import { ensurePageAccess } from '../../../lib/server/page-access.ts';
import { runStatus } from '../../../lib/server/runs.ts';
import { RunView } from '../../_components/RunView.tsx';

type Props = { params: Promise<{ id: string }> };

/** The tab names the song (the run id means nothing to a listener); the id only when the run cannot be read. */
export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  try {
    await ensurePageAccess(`/runs/${id}`);
    // runStatus reads through the per-run snapshot cache, so the page's own read below costs nothing more.
    return { title: (await runStatus(id)).fileName };
  } catch {
    return { title: `Run ${id}` };
  }
}

export default async function RunPage({ params }: Props) {
  const { id } = await params;
  await ensurePageAccess(`/runs/${id}`);
  try {
    return <RunView initial={await runStatus(id)} />;
  } catch (error) {
    if (error instanceof NotFound) notFound();
    throw error;
  }
}
