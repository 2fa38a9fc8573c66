/** The message of an error body: a JSON `error` (Pilot) or `message` (the API server), else the text. */
export function errorText(body: string): string {
  try {
    const v: unknown = JSON.parse(body);
    if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>;
      if (typeof o['error'] === 'string') return o['error'];
      if (typeof o['message'] === 'string') return o['message'];
    }
  } catch {
    // not JSON
  }
  const t = body.trim();
  return t.length > 300 ? `${t.slice(0, 300)}…` : t;
}
