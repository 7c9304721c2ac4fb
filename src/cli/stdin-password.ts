/**
 * A password on standard input: its first line, as typed (a trailing newline is not part of it).
 * Commands take passwords this way so that they never appear in the process list or the shell history.
 */
export async function passwordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}
