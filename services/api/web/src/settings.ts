import { QUALITY_LEVELS, type QualityLevel } from '@photoenhance/contracts/choices';
import { OUTPUT_FORMATS, type OutputFormat } from '@photoenhance/contracts/formats';
import type { ModelRow } from './api.ts';

/** The enhance options the page offers, as the API's form fields take them. */
export interface Settings {
  scale: number;
  quality_level: QualityLevel;
  face: boolean;
  face_model: string;
  face_blend: number;
  output_format: OutputFormat;
}

const STORAGE = 'photoenhance.settings';
const DEFAULTS: Settings = {
  scale: 4,
  quality_level: 'auto',
  face: true,
  face_model: '',
  face_blend: 1,
  output_format: 'auto',
};
const QUALITIES: readonly string[] = QUALITY_LEVELS;
const FORMATS: readonly string[] = OUTPUT_FORMATS;

/** Stored settings, each value checked (an old or hand-edited entry falls back to the default). */
function load(): Settings {
  let raw: Partial<Record<keyof Settings, unknown>> = {};
  try {
    raw = JSON.parse(localStorage.getItem(STORAGE) ?? '{}') ?? {};
  } catch {
    // unreadable: defaults
  }
  const num = (v: unknown, min: number, max: number, fallback: number) =>
    typeof v === 'number' && v >= min && v <= max ? v : fallback;
  return {
    scale: num(raw.scale, 1, 16, DEFAULTS.scale),
    quality_level: QUALITIES.includes(raw.quality_level as string)
      ? (raw.quality_level as Settings['quality_level'])
      : DEFAULTS.quality_level,
    face: typeof raw.face === 'boolean' ? raw.face : DEFAULTS.face,
    face_model: typeof raw.face_model === 'string' ? raw.face_model : DEFAULTS.face_model,
    face_blend: num(raw.face_blend, 0, 1, DEFAULTS.face_blend),
    output_format: FORMATS.includes(raw.output_format as string)
      ? (raw.output_format as Settings['output_format'])
      : DEFAULTS.output_format,
  };
}

function field<T extends HTMLElement>(form: HTMLFormElement, name: string): T {
  const el = form.elements.namedItem(name);
  if (!el) throw new Error(`settings form has no field ${name}`);
  return el as unknown as T;
}

/**
 * Binds the settings form: fills it from localStorage, saves every change, and lists the face restorers that
 * some worker has installed (the model and blend controls stay hidden while none has).
 */
export function bindSettings(form: HTMLFormElement) {
  let current = load();
  const scale = field<HTMLInputElement>(form, 'scale');
  const quality = field<HTMLSelectElement>(form, 'quality_level');
  const face = field<HTMLInputElement>(form, 'face');
  const model = field<HTMLSelectElement>(form, 'face_model');
  const blend = field<HTMLInputElement>(form, 'face_blend');
  const format = field<HTMLSelectElement>(form, 'output_format');
  const restorer = form.querySelector<HTMLElement>('[data-restorer]');
  const blendValue = form.querySelector<HTMLOutputElement>('output[for="face_blend"]');

  const show = () => {
    scale.value = String(current.scale);
    quality.value = current.quality_level;
    face.checked = current.face;
    blend.value = String(current.face_blend);
    format.value = current.output_format;
    if (blendValue) blendValue.value = `${Math.round(current.face_blend * 100)} %`;
  };
  const read = () => {
    const s = Number(scale.value);
    current = {
      scale: Number.isFinite(s) ? Math.min(16, Math.max(1, s)) : current.scale,
      quality_level: quality.value as Settings['quality_level'],
      face: face.checked,
      face_model: model.value,
      face_blend: Number(blend.value),
      output_format: format.value as Settings['output_format'],
    };
    localStorage.setItem(STORAGE, JSON.stringify(current));
    if (blendValue) blendValue.value = `${Math.round(current.face_blend * 100)} %`;
    if (restorer) restorer.hidden = model.options.length === 0 || !current.face;
  };
  form.addEventListener('change', read);
  form.addEventListener('input', read);
  form.addEventListener('submit', (e) => e.preventDefault());
  show();

  return {
    get: (): Settings => current,
    /** Offers the ready face restorers; keeps the stored choice when it is among them. */
    setModels(models: ModelRow[]) {
      const restorers = models.filter((m) => m.task === 'face-restore' && m.ready);
      model.replaceChildren(
        ...restorers.map((m) => {
          const option = document.createElement('option');
          option.value = m.id;
          // The face size tells GPEN-BFR 256 from 2048 (and what a restorer costs) at a glance.
          const size = m.face_size ? `, ${m.face_size} px` : '';
          option.textContent = m.default ? `${m.id} (default${size})` : size ? `${m.id} (${size.slice(2)})` : m.id;
          return option;
        }),
      );
      const wanted = restorers.find((m) => m.id === current.face_model) ?? restorers.find((m) => m.default);
      if (wanted) model.value = wanted.id;
      read();
    },
  };
}

export type BoundSettings = ReturnType<typeof bindSettings>;

/** The form fields an upload sends: only what differs from the service's defaults stays implicit. */
export function enhanceFields(s: Settings): Record<string, string> {
  const fields: Record<string, string> = {
    scale: String(s.scale),
    quality_level: s.quality_level,
    face: String(s.face),
    output_format: s.output_format,
  };
  if (s.face && s.face_model) {
    fields.face_model = s.face_model;
    fields.face_blend = String(s.face_blend);
  }
  return fields;
}
