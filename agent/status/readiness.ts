/**
 * The agent's readiness (15021 `/healthz/ready`): a list of named checks, each saying why it is not
 * ready yet or undefined. The pod is ready only when every check passes: the certificate is
 * loaded, the proxy has ACKed listeners, clusters and routes from Pilot, and (when the agent runs
 * Envoy) Envoy is live. Checks are data, so the response lists every reason at once.
 */
export interface ReadinessCheck {
  readonly name: string;
  /** Why this part is not ready, or undefined when it is. */
  check(): string | undefined;
}

export class Readiness {
  private readonly checks: ReadinessCheck[] = [];
  private everReady = false;

  add(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  /** `name: reason` for every failing check; empty when ready. */
  reasons(): string[] {
    const out: string[] = [];
    for (const c of this.checks) {
      const why = c.check();
      if (why !== undefined) out.push(`${c.name}: ${why}`);
    }
    if (out.length === 0) this.everReady = true;
    return out;
  }

  ready(): boolean {
    return this.reasons().length === 0;
  }

  /** Whether the agent was ready at least once (for logs and the drain decision). */
  wasEverReady(): boolean {
    return this.everReady;
  }
}
