// heic-decode ships no types; this is the part of its API we use (README of heic-decode 2.x).
declare module 'heic-decode' {
  interface HeicImageData {
    width: number;
    height: number;
    /** RGBA, 8 bits per channel, top row first. */
    data: Uint8ClampedArray;
  }
  function decode(input: { buffer: ArrayBufferLike | Uint8Array }): Promise<HeicImageData>;
  export default decode;
}
