import { h } from './dom.ts';

export interface CompareOptions {
  name: string;
  /** The original as the browser can show it; null when it cannot (HEIC). */
  beforeUrl: string | null;
  afterUrl: string;
  width: number;
  height: number;
}

/**
 * Before/after over the same view: the result is revealed right of the slider, the original shows left of it.
 * "100 %" shows the result's own pixels (the original scaled to match); the view then pans by dragging, by
 * the scroll bars or with the arrow keys.
 */
export function compareView(o: CompareOptions): HTMLElement {
  const after = h('img', { class: 'after', src: o.afterUrl, alt: `Enhanced ${o.name}`, draggable: 'false' });
  const before = o.beforeUrl
    ? h('img', { class: 'before', src: o.beforeUrl, alt: `Original ${o.name}`, draggable: 'false' })
    : null;
  const divider = h('div', { class: 'divider', 'aria-hidden': 'true' });
  const stage = h('div', { class: 'stage' }, ...(before ? [before, after, divider] : [after]));
  stage.style.aspectRatio = `${o.width} / ${o.height}`;
  const viewport = h(
    'div',
    { class: 'viewport', tabindex: '0', role: 'img', 'aria-label': `${o.name}: before and after` },
    stage,
  );

  const setSplit = (percent: number) => {
    after.style.clipPath = before ? `inset(0 0 0 ${percent}%)` : '';
    divider.style.left = `${percent}%`;
  };
  const slider = h('input', {
    type: 'range',
    min: '0',
    max: '100',
    value: '50',
    class: 'split',
    'aria-label': `Before / after split for ${o.name}`,
    oninput: (e: Event) => setSplit(Number((e.target as HTMLInputElement).value)),
  });
  setSplit(50);

  const zoom = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false' }, '100 %');
  zoom.addEventListener('click', () => {
    const on = zoom.getAttribute('aria-pressed') !== 'true';
    zoom.setAttribute('aria-pressed', String(on));
    viewport.classList.toggle('zoomed', on);
    stage.style.width = on ? `${o.width}px` : '';
    if (on) {
      // Start at the middle, where a portrait's face usually is.
      viewport.scrollLeft = (o.width - viewport.clientWidth) / 2;
      viewport.scrollTop = (o.height - viewport.clientHeight) / 2;
    }
  });

  let drag: { x: number; y: number; left: number; top: number } | null = null;
  viewport.addEventListener('pointerdown', (e) => {
    if (!viewport.classList.contains('zoomed')) return;
    drag = { x: e.clientX, y: e.clientY, left: viewport.scrollLeft, top: viewport.scrollTop };
    viewport.setPointerCapture(e.pointerId);
  });
  viewport.addEventListener('pointermove', (e) => {
    if (!drag) return;
    viewport.scrollLeft = drag.left - (e.clientX - drag.x);
    viewport.scrollTop = drag.top - (e.clientY - drag.y);
  });
  const stop = () => {
    drag = null;
  };
  viewport.addEventListener('pointerup', stop);
  viewport.addEventListener('pointercancel', stop);

  const controls = h(
    'div',
    { class: 'compare-controls' },
    before ? h('span', { class: 'label', 'aria-hidden': 'true' }, 'Before') : null,
    before ? slider : h('span', { class: 'note' }, 'No preview of the original in this browser'),
    before ? h('span', { class: 'label', 'aria-hidden': 'true' }, 'After') : null,
    zoom,
  );
  return h('div', { class: 'compare' }, viewport, controls);
}
