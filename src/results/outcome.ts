/** How a run ended: the report's outcome and the job step's verdict. */
export type Outcome =
  | 'ready'
  | 'warning'
  | 'validated'
  | 'up-to-date'
  | 'dry-run'
  | 'template-valid'
  | 'invalid'
  | 'failed'
  | 'timeout'
  | 'cancelled'
  | 'error';

/** Why a run stopped: a kind a workflow can branch on (`build:timeout`, `register:image-limit`) and the whole message. */
export interface RunError {
  kind: string;
  message: string;
}

/** Outcomes after which the job step succeeds. */
export function succeeded(outcome: Outcome): boolean {
  return (
    outcome === 'ready' ||
    outcome === 'warning' ||
    outcome === 'validated' ||
    outcome === 'up-to-date' ||
    outcome === 'template-valid' ||
    outcome === 'dry-run'
  );
}
