'use client';

import { useSyncExternalStore } from 'react';

const subscribe = () => () => {};

/** A time to the second (uploads of one file a minute apart stay apart) in the reader's own time zone; the server renders UTC until the page hydrates. */
export function LocalTime({ iso }: { iso: string }) {
  const text = useSyncExternalStore(
    subscribe,
    () => new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' }),
    () => `${iso.slice(0, 19).replace('T', ' ')} UTC`,
  );
  return <time dateTime={iso}>{text}</time>;
}
