import type { TokenCredential } from '@azure/identity';
import { CLOUDS } from '../config/clouds.ts';
import type { Config } from '../config/inputs.ts';
import { createCredential, explainAuthError } from '../azure/credential.ts';
import { ManagedImageClient } from '../azure/managedImage.ts';
import { GraphClient } from '../graph/client.ts';
import type { Clock } from '../util/clock.ts';
import type { Log } from '../util/log.ts';
import { failed } from './checks.ts';
import { registerImage, RegistrationError, type Registration } from './register.ts';
import { portalUrl, registrationSection, type Outcome, type Report } from './report.ts';
import { validateImage, type Validation } from './validate.ts';
import { TOOL_VERSION, USER_AGENT } from '../version.ts';

export interface PipelineDeps {
  log: Log;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  getIdToken: (audience: string) => Promise<string>;
}

/** validate -> register -> report. Each step sees only what the one before produced. */
export async function runPipeline(config: Config, deps: PipelineDeps): Promise<Report> {
  const { log, clock } = deps;
  const cloud = CLOUDS[config.cloud];
  const started = clock.now();
  let credential: TokenCredential | undefined;
  const getCredential = () =>
    (credential ??= createCredential(
      {
        auth: config.auth,
        tenantId: config.tenantId,
        clientId: config.clientId,
        cloud,
        authorityHost: config.authorityHost,
      },
      deps,
    ));

  const validation: Validation = await log.group('Validate the managed image', async () => {
    const result = await validateImage({
      imageId: config.imageId,
      subscriptionId: config.subscriptionId,
      read: async (id) => {
        const images = new ManagedImageClient({
          credential: getCredential(),
          subscriptionId: id.subscriptionId,
          endpoint: config.armEndpoint ?? cloud.armEndpoint,
          scope: cloud.armScope,
          userAgent: USER_AGENT,
        });
        const read = await images.read(id);
        if (!read.ok && read.status === undefined) {
          const help = explainAuthError(read.message);
          if (help) return { ...read, message: `${read.message} — ${help}` };
        }
        return read;
      },
    });
    for (const c of result.checks) {
      const line = `${c.status.toUpperCase().padEnd(4)} ${c.id} (${c.requirement}): ${c.detail}`;
      if (c.status === 'fail') log.error(`${line} Fix: ${c.fix}`);
      else if (c.status === 'warn') log.warning(`${line} ${c.fix ?? ''}`);
      else log.info(line);
    }
    return result;
  });
  const validated = clock.now();
  const displayName = config.displayName ?? validation.imageId?.name ?? '';

  const finish = (
    outcome: Outcome,
    message: string,
    extra: { registration?: Report['registration']; registerMs?: number; error?: Report['error'] } = {},
  ): Report => {
    const finished = clock.now();
    return {
      schemaVersion: 1,
      tool: { name: 'w365-image', version: TOOL_VERSION },
      outcome,
      message,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(finished).toISOString(),
      timings: {
        validateSeconds: Math.round((validated - started) / 100) / 10,
        registerSeconds: extra.registerMs === undefined ? null : Math.round(extra.registerMs / 1000),
        totalSeconds: Math.round((finished - started) / 1000),
      },
      inputs: {
        imageId: config.imageId,
        displayName,
        version: config.version,
        versionDerived: config.versionDerived,
        register: config.register,
        auth: config.auth,
        azureEnvironment: config.cloud,
        waitTimeoutMinutes: config.waitTimeoutMinutes,
      },
      image: validation.imageId
        ? {
            ...validation.imageId,
            location: validation.image?.location ?? null,
            portalUrl: portalUrl(cloud, config.tenantId, validation.imageId.id),
          }
        : null,
      checks: validation.checks,
      registration: extra.registration ?? null,
      error: extra.error ?? null,
    };
  };

  if (!validation.passed || !validation.imageId) {
    const failures = failed(validation.checks);
    return finish(
      'invalid',
      `${failures.length} check(s) failed: ${failures.map((c) => c.id).join(', ')}. Nothing was uploaded.`,
    );
  }
  if (!config.register) {
    return finish('validated', 'Every check passed; register is false, so nothing was uploaded.');
  }

  const graph = new GraphClient({
    endpoint: config.graphEndpoint ?? cloud.graphEndpoint,
    scope: cloud.graphScope,
    credential: getCredential(),
    clock,
    log,
    userAgent: USER_AGENT,
  });
  const sourceImageResourceId = validation.imageId.id;
  let registration: Registration;
  try {
    registration = await log.group('Register with Windows 365', () =>
      registerImage(
        {
          displayName,
          version: config.version,
          sourceImageResourceId,
          timeoutMs: config.waitTimeoutMinutes * 60_000,
        },
        { graph, clock, log },
      ),
    );
  } catch (error) {
    const kind = error instanceof RegistrationError ? error.kind : 'graph';
    const message = error instanceof Error ? error.message : String(error);
    const help = explainAuthError(message);
    return finish('error', message.split('\n')[0] ?? message, {
      registerMs: clock.now() - validated,
      error: { kind, message: help ? `${message}\n${help}` : message },
    });
  }
  const section = registrationSection(registration, graph.requests, cloud);
  const extra = { registration: section, registerMs: clock.now() - validated };
  const name = `'${displayName}' ${config.version} (${registration.deviceImage.id})`;
  switch (registration.outcome) {
    case 'ready':
      return finish('ready', `Device image ${name} is ready for provisioning policies.`, extra);
    case 'warning':
      return finish(
        'warning',
        `Device image ${name} is usable but Windows 365 reported a warning: ${registration.deviceImage.statusDetails ?? 'see Intune'}.`,
        extra,
      );
    case 'failed':
      return finish(
        'failed',
        `Windows 365 rejected ${name}: ${section.errorCode}. ${section.cause} Fix: ${section.fix}`,
        extra,
      );
    case 'timeout':
      return finish(
        'timeout',
        `Device image ${name} is still ${registration.deviceImage.status} after ${config.waitTimeoutMinutes} minutes. The upload goes on in Windows 365: re-run with the same display-name and version to resume waiting (no second upload).`,
        extra,
      );
  }
}
