import type { Command } from 'commander';
import type { Config } from '../config/config.ts';
import { AgentAdmin, MIN_SIP_PASSWORD_LENGTH, type SipAgentListing } from '../app/agent-admin.ts';
import { withDatabase } from './database-session.ts';
import { passwordFromStdin } from './stdin-password.ts';

const queueList = (value: string) => value.split(',').map((q) => q.trim());

/** One line per agent, never a secret: whether it registers, not with what. */
export function describeAgent(a: SipAgentListing): string {
  const presence = a.ready ? 'ready' : a.notReadyReason ? `not ready (${a.notReadyReason})` : 'signed out';
  const reached = a.uri ? a.uri : a.registers ? 'registers' : 'unreachable';
  const held = a.heldBy ? `  held until ${a.heldUntil!.toISOString()}` : '';
  return `${a.login}${a.displayName ? ` "${a.displayName}"` : ''}  ${a.queues.join(',')}  ${reached}  ${presence}${held}`;
}

/**
 * `ges agent create|update|password|ready|not-ready|list|remove`: the agents of the SIP voice
 * adapter (VOICE_PLATFORM=sip) and, until the agent desktop exists, their presence. Passwords come
 * from standard input only, never from the command line.
 */
export function addAgentCommands(program: Command, config: () => Config): void {
  const agent = program.command('agent').description('manage the agents of the SIP voice adapter (VOICE_PLATFORM=sip) and set their presence');
  const admin = <T>(fn: (a: AgentAdmin) => Promise<T>) => withDatabase(config(), (pool) => fn(new AgentAdmin(pool)));

  agent
    .command('create <tenant> <login>')
    .description('create an agent, not ready; it is reached at --uri, or at the softphone that registers as login@tenant with the password')
    .requiredOption('--queues <services>', 'services (queues) the agent takes calls for, comma-separated', queueList)
    .option('--uri <sip-uri>', 'fixed phone of the agent, e.g. sip:1001@pbx.example.net')
    .option('--name <display-name>', 'name shown on phones')
    .option('--password-stdin', `read the SIP password (${MIN_SIP_PASSWORD_LENGTH} to 256 characters) from the first line of standard input`)
    .action(async (tenantName: string, login: string, o: { queues: string[]; uri?: string; name?: string; passwordStdin?: boolean }) => {
      const password = o.passwordStdin ? await passwordFromStdin() : undefined;
      await admin((a) =>
        a.create(tenantName, login, {
          queues: o.queues,
          ...(o.uri === undefined ? {} : { uri: o.uri }),
          ...(o.name === undefined ? {} : { displayName: o.name }),
          ...(password === undefined ? {} : { password }),
        }),
      );
      console.log(`agent ${login} of ${tenantName} created (not ready: ges agent ready ${tenantName} ${login})`);
    });

  agent
    .command('update <tenant> <login>')
    .description("change an agent's queues, phone or name")
    .option('--queues <services>', 'services (queues), comma-separated; replaces the list', queueList)
    .option('--uri <sip-uri>', 'fixed phone of the agent')
    .option('--no-uri', 'no fixed phone: the agent is reached at the softphone it registers')
    .option('--name <display-name>', 'name shown on phones')
    .action(async (tenantName: string, login: string, o: { queues?: string[]; uri?: string | boolean; name?: string }) => {
      await admin((a) =>
        a.update(tenantName, login, {
          ...(o.queues === undefined ? {} : { queues: o.queues }),
          ...(o.uri === undefined || o.uri === true ? {} : { uri: o.uri === false ? null : o.uri }),
          ...(o.name === undefined ? {} : { displayName: o.name }),
        }),
      );
      console.log(`agent ${login} of ${tenantName} updated`);
    });

  agent
    .command('password <tenant> <login>')
    .description('set the SIP password (from the first line of standard input); GES keeps only its digest hashes')
    .action(async (tenantName: string, login: string) => {
      const password = await passwordFromStdin();
      await admin((a) => a.setPassword(tenantName, login, password));
      console.log(`SIP password of ${login} of ${tenantName} set`);
    });

  agent
    .command('ready <tenant> <login>')
    .description('make the agent ready for calls')
    .action(async (tenantName: string, login: string) => {
      await admin((a) => a.setReady(tenantName, login));
      console.log(`agent ${login} of ${tenantName} ready`);
    });

  agent
    .command('not-ready <tenant> <login>')
    .description('stop offering calls to the agent; with --reason it stays signed in (a break), without it is signed out')
    .option('--reason <text>', 'why (shown in the agent list)')
    .action(async (tenantName: string, login: string, o: { reason?: string }) => {
      await admin((a) => a.setNotReady(tenantName, login, o.reason));
      console.log(`agent ${login} of ${tenantName} ${o.reason === undefined ? 'signed out' : 'not ready'}`);
    });

  agent
    .command('list <tenant>')
    .description('list agents: queues, phone, presence (never a secret)')
    .action(async (tenantName: string) => {
      for (const a of await admin((x) => x.list(tenantName))) console.log(describeAgent(a));
    });

  agent
    .command('remove <tenant> <login>')
    .description('remove the agent and its registrations')
    .action(async (tenantName: string, login: string) => {
      await admin((a) => a.remove(tenantName, login));
      console.log(`agent ${login} of ${tenantName} removed`);
    });
}
