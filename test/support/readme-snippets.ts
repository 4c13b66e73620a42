/** One ```ts block of a markdown file. */
export interface Snippet {
  /** The 1-based line of the markdown file that holds the block's first line of code. */
  line: number;
  /** The block's code. */
  code: string;
  /**
   * The file the block is compiled as: the name its first line gives in a comment
   * (`// bot.module.ts`, so that other blocks can import it), else `readme-<line>.ts`.
   */
  file: string;
  /** Whether the block is run, not only compiled (`<!-- snippet: run -->`). */
  run: boolean;
  /** The hidden preamble it names (`<!-- snippet: preamble=necord -->`), if any. */
  preamble: string | undefined;
}

const OPENING = /^```(?:ts|typescript)\s*$/;
const DIRECTIVE = /^<!--\s*snippet:(.*)-->$/;
const FILE_NAME = /^\/\/ ([\w.-]+\.ts)$/;

/**
 * The TypeScript blocks of a markdown file, with what the HTML comment right before each (blank
 * lines between allowed) says about it: `<!-- snippet: run -->`, `<!-- snippet: preamble=NAME -->`,
 * or both. The comment is invisible where the markdown is rendered.
 */
export function readmeSnippets(markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  for (let index = 0; index < lines.length; index++) {
    if (!OPENING.test(lines[index]!)) continue;
    const end = lines.indexOf('```', index + 1);
    if (end === -1) throw new Error(`the code block at line ${index + 1} is never closed`);
    const code = lines.slice(index + 1, end);
    let before = index - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const words =
      DIRECTIVE.exec(lines[before]?.trim() ?? '')?.[1]!
        .trim()
        .split(/\s+/) ?? [];
    const named = FILE_NAME.exec(code[0] ?? '')?.[1];
    snippets.push({
      line: index + 2,
      code: code.join('\n'),
      file: named ?? `readme-${index + 2}.ts`,
      run: words.includes('run'),
      preamble: words.find((word) => word.startsWith('preamble='))?.slice('preamble='.length),
    });
    index = end;
  }
  return snippets;
}
