// Replaced at bundle time (and by the test config) with package.json's version, so the bundle does not carry
// the whole package.json.
declare const W365_IMAGE_VERSION: string | undefined;

export const TOOL_VERSION: string = typeof W365_IMAGE_VERSION === 'string' ? W365_IMAGE_VERSION : '0.0.0-dev';
export const USER_AGENT = `w365-image/${TOOL_VERSION}`;
