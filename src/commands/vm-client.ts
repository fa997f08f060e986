/**
 * The VictoriaMetrics client as configuration describes it. Apart from shared.ts so that commands
 * that do not talk to VictoriaMetrics (monitor-logs reports, gen-logs) do not load the HTTP client.
 */
import type { Config } from '../core/config/config.js';
import type { Deps } from '../core/deps.js';
import { VmClient } from '../core/victoria/client.js';

export function createVmClient(config: Config, deps: Deps): VmClient {
  return new VmClient({
    readUrl: config.vmReadUrl ?? config.vmUrl,
    writeUrl: config.vmWriteUrl ?? config.vmUrl,
    timeoutMs: config.vmTimeoutSeconds * 1000,
    retries: config.vmRetries,
    bearerToken: config.vmBearerToken,
    sleep: (ms) => deps.sleep(ms),
    log: config.debug ? (m) => deps.stderr.write(`debug: ${m}\n`) : undefined,
  });
}
