import Link from 'next/link';
import { formatDuration, PHASE_WORDS, type RecentRun } from '../../lib/run-view.ts';
import { LocalTime } from './LocalTime.tsx';

/** The random tail of a run id ("…-k3j9x2"): tells apart several uploads of one file. */
const shortId = (id: string) => id.split('-').pop() ?? id;

export function RecentRuns({ runs }: { runs: RecentRun[] }) {
  if (runs.length === 0) {
    return <p className="empty">No runs yet. Upload a song above and it will appear here.</p>;
  }
  return (
    <ul className="runs" role="list">
      {runs.map((run) => (
        <li key={run.id}>
          <Link className="run-row run-row--status" href={`/runs/${run.id}`} title={`${run.fileName} (run ${run.id})`}>
            <span className="run-row__name">{run.fileName}</span>
            <span className={`pill pill--${run.phase} run-row__pill`}>{PHASE_WORDS[run.phase]}</span>
            <span className="run-row__meta">
              <LocalTime iso={run.startedAt} />
              {run.stoppedAt && <> · {formatDuration(Date.parse(run.stoppedAt) - Date.parse(run.startedAt))}</>}
              <span className="run-row__id"> · run {shortId(run.id)}</span>
            </span>
          </Link>
        </li>
      ))}
    </ul>
  );
}
