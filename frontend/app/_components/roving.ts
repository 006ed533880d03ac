'use client';

import { useCallback, useRef, useState, type KeyboardEvent } from 'react';

/**
 * Roving tabindex (WAI-ARIA Authoring Practices, "Keyboard Navigation Inside Components"): a list of like
 * controls is one Tab stop; the arrow keys, Home and End move within it. The page's other actions stay a few
 * Tab stops away however long the song.
 */
export function useRovingFocus(count: number, orientation: 'horizontal' | 'vertical') {
  const [active, setActive] = useState(0);
  const items = useRef<(HTMLElement | null)[]>([]);
  const activeIndex = Math.min(active, Math.max(0, count - 1));

  const move = useCallback(
    (to: number) => {
      const next = Math.max(0, Math.min(count - 1, to));
      setActive(next);
      items.current[next]?.focus();
    },
    [count],
  );

  const itemProps = (index: number) => ({
    ref: (element: HTMLElement | null) => {
      items.current[index] = element;
    },
    tabIndex: index === activeIndex ? 0 : -1,
    onFocus: () => setActive(index),
    onKeyDown: (event: KeyboardEvent) => {
      const back = orientation === 'horizontal' ? 'ArrowLeft' : 'ArrowUp';
      const forward = orientation === 'horizontal' ? 'ArrowRight' : 'ArrowDown';
      const to =
        event.key === back ? index - 1 : event.key === forward ? index + 1 : event.key === 'Home' ? 0 : event.key === 'End' ? count - 1 : undefined;
      if (to === undefined) return;
      event.preventDefault();
      move(to);
    },
  });

  return { itemProps, activeIndex };
}
