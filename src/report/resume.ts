import type { Config } from '../config/inputs.ts';

export interface ResumeTarget {
  imageId: string;
  displayName: string;
  version: string;
}

/**
 * The inputs that resume this registration: the image (built or given), its display name and the version actually
 * used, plus every input that changes what happens next. Never a secret: inputs hold none.
 */
export function resumeInputs(config: Config, target: ResumeTarget): Array<[string, string]> {
  const inputs: Array<[string, string]> = [
    ['image-id', target.imageId],
    ['display-name', target.displayName],
    ['version', target.version],
  ];
  // After a build, re-running the same inputs would build (and upload) a new image.
  if (config.build === 'build') inputs.push(['build', 'false']);
  inputs.push(['auth', config.auth]);
  if (config.tenantId) inputs.push(['tenant-id', config.tenantId]);
  if (config.clientId) inputs.push(['client-id', config.clientId]);
  if (config.cloud !== 'public') inputs.push(['azure-environment', config.cloud]);
  if (config.armEndpoint) inputs.push(['arm-endpoint', config.armEndpoint]);
  if (config.graphEndpoint) inputs.push(['graph-endpoint', config.graphEndpoint]);
  if (config.authorityHost) inputs.push(['authority-host', config.authorityHost]);
  inputs.push(['wait-timeout-minutes', String(config.waitTimeoutMinutes)]);
  for (const policy of config.policyRefs) inputs.push(['provisioning-policies', policy]);
  inputs.push(['keep-images', String(config.keepImages)]);
  if (config.deleteSourceImage) inputs.push(['delete-source-image', 'true']);
  inputs.push(['upload-retries', String(config.uploadRetries)]);
  return inputs;
}

/** POSIX shell single quotes: safe for any value. */
function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * One line saying exactly how to resume: in a workflow the step inputs (a `with:` block in flow style), in a
 * terminal the command line.
 */
export function resumeHint(config: Config, target: ResumeTarget, env: NodeJS.ProcessEnv): string {
  const inputs = resumeInputs(config, target);
  if (env.GITHUB_ACTIONS === 'true') {
    const policies = inputs.filter(([name]) => name === 'provisioning-policies').map(([, v]) => v);
    const others = inputs.filter(([name]) => name !== 'provisioning-policies');
    const yaml = others.map(([name, value]) => `${name}: ${JSON.stringify(value)}`);
    if (policies.length > 0) yaml.push(`provisioning-policies: ${JSON.stringify(policies.join('\n'))}`);
    return `To resume, re-run the step with: { ${yaml.join(', ')} }`;
  }
  return `To resume, run: w365-image ${inputs.map(([name, value]) => `--${name} ${shellQuote(value)}`).join(' ')}`;
}
