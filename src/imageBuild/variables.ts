/** The variables the action passes to the Packer template (packer/variables.pkr.hcl). */

export class PackerVarsError extends Error {
  override name = 'PackerVarsError';
  readonly code = 'packer-vars-invalid';
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * Parses the `packer-vars` input: one `name=value` per line; blank lines and lines starting with `#` are skipped.
 * The value is everything after the first `=`, trimmed, passed to Packer as written (HCL lists and maps included).
 */
export function parsePackerVars(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  const lineOf = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    const number = index + 1;
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const name = eq === -1 ? '' : line.slice(0, eq).trim();
    if (eq === -1 || !VARIABLE_NAME.test(name)) {
      throw new PackerVarsError(
        `packer-vars line ${number} ('${line.length > 60 ? `${line.slice(0, 60)}…` : line}') is not name=value with a Packer variable name.`,
      );
    }
    const earlier = lineOf.get(name);
    if (earlier !== undefined) {
      throw new PackerVarsError(`packer-vars sets '${name}' twice (lines ${earlier} and ${number}).`);
    }
    vars.set(name, line.slice(eq + 1).trim());
    lineOf.set(name, number);
  });
  return vars;
}

export interface ActionVariableInput {
  /** Empty: whatever the Azure CLI or the var files say (template checks only). */
  subscriptionId: string;
  /** The template's cloud_environment_name: Public or USGovernment. */
  cloudEnvironmentName?: string;
  tenantId?: string;
  clientId?: string;
  /** oidc: GitHub OIDC through the runner's token endpoint; azure-cli: the signed-in Azure CLI; none: whatever the var files say. */
  auth: 'oidc' | 'azure-cli' | 'none';
  templateVersion: string;
  /** Defaults to GITHUB_SHA. */
  gitCommit?: string;
  /** Defaults to the workflow run URL built from GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_RUN_ID. */
  runUrl?: string;
  /** The exact Marketplace base version (image_version), resolved before the build. */
  baseImageVersion?: string;
  /**
   * The program and arguments the template runs on the runner before sysprep, followed by `--facts <path>`. Packer
   * starts it as an argument vector: no shell ever parses these paths.
   */
  sysprepCheckArgv?: readonly string[];
  /** Absolute folder that receives the manifest and the facts. */
  outputDirectory: string;
  manifestFileName: string;
  factsFileName: string;
}

export interface ActionVariables {
  /** Passed as `-var name=value`, visible in the process list and the log. */
  plain: Map<string, string>;
  /** Passed as PKR_VAR_<name> environment variables: never on the command line, never logged. */
  sensitive: Map<string, string>;
}

export class ActionVariablesError extends Error {
  override name = 'ActionVariablesError';
  readonly code = 'oidc-unavailable';
}

/** A path the template would hand to Packer's own template engine, which reads `{{` as the start of an expression. */
export class UnsafePathError extends Error {
  override name = 'UnsafePathError';
  readonly code = 'unsafe-path';
}

/**
 * An HCL list of string literals. Each item is a JSON string (HCL shares its escapes) with template sequences
 * escaped, so a `${` or `%{` in a path stays text.
 */
export function hclStringList(items: readonly string[]): string {
  const literal = (item: string) => JSON.stringify(item).replaceAll('${', '$${').replaceAll('%{', '%%{');
  return `[${items.map(literal).join(', ')}]`;
}

export function actionVariables(
  input: ActionVariableInput,
  env: NodeJS.ProcessEnv,
  options: { requireAuth: boolean },
): ActionVariables {
  const plain = new Map<string, string>();
  const sensitive = new Map<string, string>();
  if (input.subscriptionId) plain.set('subscription_id', input.subscriptionId);
  if (input.cloudEnvironmentName) plain.set('cloud_environment_name', input.cloudEnvironmentName);
  if (input.tenantId) plain.set('tenant_id', input.tenantId);
  if (input.clientId) plain.set('client_id', input.clientId);
  if (input.auth === 'azure-cli') plain.set('use_azure_cli_auth', 'true');
  if (input.auth === 'oidc') {
    const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
    const token = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    if (url && token) {
      // The plugin fetches a fresh ID token from this endpoint whenever it needs one: long builds never expire.
      plain.set('oidc_request_url', url);
      sensitive.set('oidc_request_token', token);
    } else if (options.requireAuth) {
      throw new ActionVariablesError(
        "OIDC authentication needs ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN: give the job 'permissions: id-token: write' (fork pull requests never get them).",
      );
    }
  }
  plain.set('template_version', input.templateVersion);
  const gitCommit = input.gitCommit ?? env.GITHUB_SHA;
  if (gitCommit) plain.set('git_commit', gitCommit);
  const runUrl = input.runUrl ?? workflowRunUrl(env);
  if (runUrl) plain.set('run_url', runUrl);
  if (input.baseImageVersion) plain.set('image_version', input.baseImageVersion);
  if (input.sysprepCheckArgv && input.sysprepCheckArgv.length > 0) {
    // shell-local renders each execute_command item as a Go template before it runs it.
    for (const item of [...input.sysprepCheckArgv, input.outputDirectory]) {
      if (item.includes('{{'))
        throw new UnsafePathError(
          `The path ${JSON.stringify(item.slice(0, 200))} contains '{{', which Packer's template engine would read as an expression in the sysprep-check hook. Move the runner's temporary folder or the action to a path without '{{'.`,
        );
    }
    plain.set('sysprep_check_command', hclStringList(input.sysprepCheckArgv));
  }
  plain.set('output_directory', input.outputDirectory);
  plain.set('manifest_file_name', input.manifestFileName);
  plain.set('facts_file_name', input.factsFileName);
  return { plain, sensitive };
}

export function workflowRunUrl(env: NodeJS.ProcessEnv): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repository, GITHUB_RUN_ID: runId } = env;
  return server && repository && runId ? `${server}/${repository}/actions/runs/${runId}` : undefined;
}

/** `-var name=value` pairs in order; later pairs win in Packer. */
export function varArgs(vars: Iterable<[string, string]>): string[] {
  return [...vars].flatMap(([name, value]) => ['-var', `${name}=${value}`]);
}

export function sensitiveEnv(vars: ReadonlyMap<string, string>): Record<string, string> {
  return Object.fromEntries([...vars].map(([name, value]) => [`PKR_VAR_${name}`, value]));
}
