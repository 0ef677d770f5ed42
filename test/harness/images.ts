import sharp from 'sharp';

/** A small image with structure (gradient + shapes), so upscaling has edges to work on. */
export async function testPhoto(width: number, height: number, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#2a6"/><stop offset="1" stop-color="#fc3"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/>
    <circle cx="${width / 2}" cy="${height / 2}" r="${Math.min(width, height) / 4}" fill="#a23"/>
  </svg>`;
  const img = sharp(Buffer.from(svg));
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 90 }).toBuffer();
}

/**
 * A PNG whose header (and thus the API's sniff and size checks) is fine but whose pixel data is garbage:
 * accepted at upload, refused by the engine's decoder — a permanent failure.
 */
export async function pngWithCorruptPixels(width: number, height: number): Promise<Buffer> {
  const good = await sharp({ create: { width, height, channels: 3, background: '#888' } })
    .png({ compressionLevel: 0 })
    .toBuffer();
  const bad = Buffer.from(good);
  // Overwrite the IDAT payload (zlib stream) after its header, keeping chunk lengths intact.
  const idat = bad.indexOf('IDAT');
  for (let i = idat + 6; i < bad.length - 16; i++) bad[i] = (i * 31) & 0xff;
  return bad;
}
