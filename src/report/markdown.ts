/** Text from outside made safe inside a ``` block: it cannot close the block and go on as markdown. */
export function unfenced(text: string): string {
  return text.replaceAll('```', "'''");
}

/** Text made safe for one markdown table cell. */
export function cell(text: string | null | undefined): string {
  return (text ?? '').replaceAll('|', '\\|').replaceAll('\r', '').replaceAll('\n', '<br>');
}

/** Inline code, or nothing for an empty value (an empty code span renders as two stray backticks). */
export function codeSpan(text: string | null | undefined): string {
  return text ? '`' + text.replaceAll('`', "'") + '`' : '';
}
