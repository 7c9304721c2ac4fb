/**
 * Writes docs/CONFIGURATION.md from the configuration schema, so the table can never drift from
 * what GES reads: `npm run docs:config`. test/docs.test.ts fails when the file is out of date.
 */
import { writeFileSync } from 'node:fs';
import { configurationMarkdown } from '../src/config/config-doc.ts';

writeFileSync(new URL('../docs/CONFIGURATION.md', import.meta.url), configurationMarkdown());
