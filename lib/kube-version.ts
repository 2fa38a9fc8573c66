/** Kubernetes versions as the API server's /version reports them ("v1.32.4", "1.29+"). */
export interface KubeVersion {
  readonly major: number;
  readonly minor: number;
}

export function parseKubeVersion(s: string): KubeVersion | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(s.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export function atLeast(v: KubeVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}
