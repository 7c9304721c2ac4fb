import type { RunningGes } from '../main/server.ts';

/** What a newcomer needs after `npm start`: where GES listens, a working curl with the demo key, and the console sign-in. */
export function printWelcome(ges: RunningGes): void {
  const base = ges.apiUrl.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
  const lines = [''];
  if (ges.embedded) {
    lines.push('  GES is running in EMBEDDED MODE: one node, PGlite database in DATA_DIR, for trying GES out.');
    lines.push('  For production set DATABASE_URL (PostgreSQL).');
  }
  lines.push(
    `  Engagement API:  ${base}/engagement/v3`,
    `  API docs:        ${base}/ges/docs`,
    `  Console:         ${base}/ges/`,
    `  Health:          ${ges.internalUrl.replace('0.0.0.0', '127.0.0.1')}/health/ready`,
  );
  if (ges.demo) {
    const key = ges.demo.apiKey ?? '<the key printed at first start>';
    lines.push('', `  Demo tenant "${ges.demo.tenant}", service "${ges.demo.service}", API key:`, `    ${key}`, '', '  Try it:');
    lines.push(`    curl -s -X POST ${base}/engagement/v3/callbacks/create -H 'Content-Type: application/json' \\`);
    lines.push(`      -H 'X-API-Key: ${key}' -d '{"serviceName":"${ges.demo.service}","phoneNumber":"+14155550100"}'`);
    if (ges.demo.consoleLogin) {
      lines.push('', `  Console sign-in at ${base}/ges/: tenant "${ges.demo.tenant}", login "${ges.demo.consoleLogin}", password:`);
      lines.push(`    ${ges.demo.consolePassword ?? '<the password printed at first start>'}`);
    }
  }
  if (ges.demoSipAgent && ges.demo) {
    const a = ges.demoSipAgent;
    lines.push('', `  SIP (docs/VOICE-SIP.md): register a softphone as agent "${a.login}", domain "${ges.demo.tenant}", via ${a.registrar}, password:`);
    lines.push(`    ${a.password ?? '<the password printed at first start>'}`);
    lines.push(`  Customers are called at SIP_CUSTOMER_URI: let a second softphone listen there (by default 127.0.0.1:5080).`);
  }
  lines.push('');
  process.stdout.write(lines.join('\n') + '\n');
}
