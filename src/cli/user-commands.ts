import { InvalidArgumentError, type Command } from 'commander';
import type { Config } from '../config/config.ts';
import { ConsoleUserService } from '../app/console-users.ts';
import { ROLES, parseRole, type Role } from '../domain/roles.ts';
import { ROLE_LABELS } from '../console/permissions.ts';
import { withDatabase } from './database-session.ts';
import { passwordFromStdin } from './stdin-password.ts';

function role(value: string): Role {
  const r = parseRole(value);
  if (!r) throw new InvalidArgumentError(`the role is one of ${ROLES.map((x) => x.toLowerCase()).join(', ')}`);
  return r;
}

/**
 * `ges user create|list|disable|enable|password`: the console's local users. A password is read
 * from standard input with --password-stdin (so it never appears in the process list or the shell
 * history), or generated and printed once.
 */
export function addUserCommands(program: Command, config: () => Config): void {
  const user = program.command('user').description('manage console users (sign-in at /ges/; passwords hashed with argon2id)');

  user
    .command('create <tenant> <login>')
    .description('create a console user; prints a generated password once unless --password-stdin')
    .requiredOption('--role <role>', `one of ${ROLES.map((r) => r.toLowerCase()).join(', ')}`, role)
    .option('--password-stdin', 'read the password (12 to 256 characters) from the first line of standard input')
    .action(async (tenantName: string, login: string, o: { role: Role; passwordStdin?: boolean }) => {
      const password = o.passwordStdin ? await passwordFromStdin() : undefined;
      const created = await withDatabase(config(), (pool) => new ConsoleUserService(pool).createInTenant(tenantName, login, o.role, password));
      console.log(`console user ${login} of ${tenantName} created (${ROLE_LABELS[o.role]})`);
      if (password === undefined) {
        console.log(created.password);
        console.error('Give this password to the user now: GES keeps only its hash and cannot show it again.');
      }
    });

  user
    .command('list <tenant>')
    .description('list console users with role and status')
    .action(async (tenantName: string) => {
      const users = await withDatabase(config(), (pool) => new ConsoleUserService(pool).listInTenant(tenantName));
      for (const u of users)
        console.log(
          `${u.login}  ${ROLE_LABELS[u.role]}  ${u.disabledAt ? `disabled ${u.disabledAt.toISOString()}` : 'enabled'}  created ${u.createdAt.toISOString()}`,
        );
    });

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    user
      .command(`${name} <tenant> <login>`)
      .description(disabled ? 'stop a user from signing in (an open session ends at its next request)' : 'let a disabled user sign in again')
      .action(async (tenantName: string, login: string) => {
        await withDatabase(config(), (pool) => new ConsoleUserService(pool).setDisabledInTenant(tenantName, login, disabled));
        console.log(`console user ${login} of ${tenantName} ${disabled ? 'disabled' : 'enabled'}`);
      });
  }

  user
    .command('password <tenant> <login>')
    .description('set a new password; prints a generated one once unless --password-stdin')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .action(async (tenantName: string, login: string, o: { passwordStdin?: boolean }) => {
      const password = o.passwordStdin ? await passwordFromStdin() : undefined;
      const set = await withDatabase(config(), (pool) => new ConsoleUserService(pool).resetPasswordInTenant(tenantName, login, password));
      console.log(`password of ${login} of ${tenantName} changed`);
      if (password === undefined) console.log(set);
    });
}
