import { describe, expect, it } from 'vitest';
import { renderSummary } from '../../src/report/summary.ts';
import { sampleReport } from './sampleReport.ts';

describe('renderSummary with text from outside', () => {
  it('an error or Packer line holding ``` cannot close its code block and continue as markdown', () => {
    const summary = renderSummary(
      sampleReport({
        outcome: 'error',
        error: {
          kind: 'graph',
          message: 'Graph said: ```\n# Injected heading\n[click](https://example.invalid)',
        },
      }),
    );
    const errorBlock = summary.slice(summary.indexOf('### Error'));
    // Exactly the opening and the closing fence of the block.
    expect(errorBlock.match(/```/g)).toHaveLength(2);
    expect(errorBlock).toContain("Graph said: '''");
  });
});
