import packageJson from '../package.json' with { type: 'json' };

export const TOOL_VERSION: string = packageJson.version;
export const USER_AGENT = `w365-image/${TOOL_VERSION}`;
