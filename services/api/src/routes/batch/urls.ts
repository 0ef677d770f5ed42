/** URL builders for the batch routes: relative paths, or absolute under PUBLIC_BASE_URL. */
export function batchUrls(
  baseUrl: string | undefined,
  id: string,
): { status: string; events: string; download: string } {
  const base = (baseUrl ?? '').replace(/\/+$/, '');
  return {
    status: `${base}/api/v1/batch/status/${id}`,
    events: `${base}/api/v1/batch/events/${id}`,
    download: `${base}/api/v1/batch/download/${id}`,
  };
}
