/**
 * The stand-in platform's durable dial ledger: every change the simulator tells (simulator-resume.ts)
 * appended to a file as one JSON line, synchronously, before the change reaches a call. A restarted
 * platform folds the file back, so it never dials a key of an earlier run and reports the calls that
 * run had in flight (docs/VOICE-CONTRACT.md, "A platform restarts"). appendFileSync survives the
 * process dying, not the machine: a production platform would fsync, or keep its ledger in a
 * database.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { foldLedgerChanges, type LedgerChange, type SimulatorResume } from '../simulator/simulator-resume.ts';

export class DialJournalFile {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** The earlier runs' ledger, or undefined when there is no journal yet (a first start). */
  read(): SimulatorResume | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const changes: LedgerChange[] = [];
    const lines = text.split('\n');
    lines.forEach((line, index) => {
      if (line === '') return;
      try {
        changes.push(JSON.parse(line) as LedgerChange);
      } catch (error) {
        // Only the last line can be cut short (the process died writing it); anywhere else the file is damaged.
        if (index !== lines.length - 1) throw new Error(`${this.path}: line ${index + 1} is not JSON`, { cause: error });
      }
    });
    return foldLedgerChanges(changes);
  }

  append(change: LedgerChange): void {
    appendFileSync(this.path, `${JSON.stringify(change)}\n`);
  }
}
