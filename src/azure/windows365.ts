/** The first-party Windows 365 application; it needs Reader on the image's subscription to copy the image. */
export const WINDOWS_365_APP_ID = '0af06dc6-e4b5-4f28-818e-e78e62d137a5';
