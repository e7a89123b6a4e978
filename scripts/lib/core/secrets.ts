// Secret masking: every value registered here is replaced by *** wherever the toolkit prints,
// logs or records text. It depends on nothing, so config, ui and exec can all use it.

const secrets = new Set<string>();

/** Remembers a secret value so it is masked wherever the toolkit prints or records it. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}

/** Replaces every registered secret in text with ***. */
export function mask(text: string): string {
  let out = text;
  // Longest first, so a secret that contains another is masked whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
  return out;
}
