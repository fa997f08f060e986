/** The pipeobs version, from package.json: alone in its module so `pipeobs --version` loads nothing else. */
import { createRequire } from 'node:module';

export const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
