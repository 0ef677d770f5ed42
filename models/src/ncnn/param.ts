/**
 * Parser for ncnn's text .param format:
 *
 *   7767517                      magic
 *   <layerCount> <blobCount>
 *   <Type> <Name> <nIn> <nOut> <in blobs…> <out blobs…> <k=v…>
 *
 * Params are numeric; a key ≤ -23300 is an array for key (-23300 - k) written as `count,v1,v2…`.
 * The parser checks the structure (counts, every blob defined once before use); what the layer
 * parameters mean is the converter's business.
 */
export const NCNN_PARAM_MAGIC = 7767517;

export type NcnnParamValue = number | number[];

export interface NcnnLayer {
  type: string;
  name: string;
  inputs: string[];
  outputs: string[];
  /** Key → value; array params are stored under their plain key (e.g. -23310 → 10). */
  params: Map<number, NcnnParamValue>;
  /** 1-based line number in the .param file, for error messages. */
  line: number;
}

export interface NcnnGraph {
  layers: NcnnLayer[];
  blobCount: number;
}

export class NcnnFormatError extends Error {
  override readonly name = 'NcnnFormatError';
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

export function parseNcnnParam(text: string): NcnnGraph {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (Number(lines[0]) !== NCNN_PARAM_MAGIC) {
    throw new NcnnFormatError(
      `.param: expected magic ${NCNN_PARAM_MAGIC} on line 1, found "${(lines[0] ?? '').slice(0, 40)}"`,
    );
  }
  const counts = (lines[1] ?? '').split(/\s+/).map(Number);
  const [layerCount, blobCount] = counts;
  if (counts.length !== 2 || !Number.isInteger(layerCount) || !Number.isInteger(blobCount)) {
    throw new NcnnFormatError(`.param: line 2 must be "<layerCount> <blobCount>", found "${lines[1] ?? ''}"`);
  }
  const layerLines = lines.slice(2);
  if (layerLines.length !== layerCount) {
    throw new NcnnFormatError(
      `.param: header declares ${layerCount} layers but the file has ${layerLines.length} layer lines`,
    );
  }

  const defined = new Set<string>();
  const layers = layerLines.map((raw, i) => {
    const layer = parseLayerLine(raw, i + 3);
    for (const input of layer.inputs) {
      if (!defined.has(input))
        throw new NcnnFormatError(
          `.param line ${layer.line}: layer "${layer.name}" reads blob "${input}" before any layer produces it`,
        );
    }
    for (const output of layer.outputs) {
      if (defined.has(output))
        throw new NcnnFormatError(`.param line ${layer.line}: layer "${layer.name}" redefines blob "${output}"`);
      defined.add(output);
    }
    return layer;
  });
  if (defined.size !== blobCount) {
    throw new NcnnFormatError(`.param: header declares ${blobCount} blobs but the layers produce ${defined.size}`);
  }
  return { layers, blobCount: blobCount as number };
}

function parseLayerLine(raw: string, line: number): NcnnLayer {
  const tokens = raw.split(/\s+/);
  const [type, name, nInText, nOutText] = tokens;
  const nIn = Number(nInText);
  const nOut = Number(nOutText);
  if (!type || !name || !Number.isInteger(nIn) || !Number.isInteger(nOut) || nIn < 0 || nOut < 0) {
    throw new NcnnFormatError(
      `.param line ${line}: expected "<Type> <Name> <nIn> <nOut> …", found "${raw.slice(0, 80)}"`,
    );
  }
  const blobs = tokens.slice(4, 4 + nIn + nOut);
  if (blobs.length !== nIn + nOut) {
    throw new NcnnFormatError(
      `.param line ${line}: layer "${name}" declares ${nIn} inputs and ${nOut} outputs but lists ${blobs.length} blob names`,
    );
  }
  const params = new Map<number, NcnnParamValue>();
  for (const token of tokens.slice(4 + nIn + nOut)) {
    const [keyText, valueText, ...rest] = token.split('=');
    const key = Number(keyText);
    if (rest.length > 0 || valueText === undefined || !Number.isInteger(key)) {
      throw new NcnnFormatError(`.param line ${line}: layer "${name}" has a malformed parameter "${token}"`);
    }
    const [plainKey, value] =
      key <= -23300
        ? [-23300 - key, parseArray(valueText, token, name, line)]
        : [key, parseNumber(valueText, token, name, line)];
    if (params.has(plainKey))
      throw new NcnnFormatError(`.param line ${line}: layer "${name}" sets parameter ${plainKey} twice`);
    params.set(plainKey, value);
  }
  return { type, name, inputs: blobs.slice(0, nIn), outputs: blobs.slice(nIn), params, line };
}

function parseNumber(text: string, token: string, name: string, line: number): number {
  if (!NUMBER.test(text))
    throw new NcnnFormatError(`.param line ${line}: layer "${name}" parameter "${token}" is not a number`);
  return Number(text);
}

function parseArray(text: string, token: string, name: string, line: number): number[] {
  const [count, ...values] = text.split(',').map((v) => parseNumber(v, token, name, line));
  if (count !== values.length) {
    throw new NcnnFormatError(
      `.param line ${line}: layer "${name}" array parameter "${token}" declares ${count} values but has ${values.length}`,
    );
  }
  return values;
}
