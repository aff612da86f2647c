export type RolloutErrorKind =
  /** One or more provisioning-policies entries match no policy, or a display name matches several. */
  | 'policy-refs'
  /** A policy would be pointed at a device image that is not ready. */
  | 'image-not-ready'
  /** Graph refused or failed a policy PATCH. */
  | 'policy-update-failed';

/** The rollout stopped; `message` says why and what to do. Nothing after the failing step was changed. */
export class RolloutError extends Error {
  override name = 'RolloutError';
  readonly kind: RolloutErrorKind;
  constructor(kind: RolloutErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}
