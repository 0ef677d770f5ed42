/** URL builders for responses: relative paths, or absolute under PUBLIC_BASE_URL. */
export function taskUrls(baseUrl: string | undefined, taskId: string): { status: string; download: string } {
  const base = (baseUrl ?? '').replace(/\/+$/, '');
  return { status: `${base}/api/v1/status/${taskId}`, download: `${base}/api/v1/download/${taskId}` };
}
