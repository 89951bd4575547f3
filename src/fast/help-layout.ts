/**
 * oclif's root help laid out for a width, without oclif: `machine --help` in a terminal is
 * wrapped to its columns, and loading oclif to do that was ~3.4x bare Node (bench/cli-startup.mjs,
 * "help (terminal)"). The parts (sections, the rows of TOPICS and COMMANDS) are oclif's own,
 * read at build time from its help rendered unwrapped (partsOfUnwrappedHelp, called by
 * scripts/static-answers.mjs); the layout below is @oclif/core 5's (help/formatter.js: section,
 * renderList, wrap; indent-string 4) and the wrap-ansi 7 it wraps with ({ hard: true }), step by
 * step. It is exact only for the texts PLAIN_TEXT allows, which the build checks: there a
 * string's width (string-width 4) is its length, ' ' is the only whitespace and wrap-ansi's
 * escape code handling has nothing to do. test/commands/static-answers.test.ts compares it with
 * oclif's output at every width, test/unit/help-layout.test.ts on random texts.
 */

/** One line of the help, a section of text lines (VERSION, USAGE…) or a list section (COMMANDS, TOPICS). */
export type RootHelpPart = string | { header: string; text: string[] } | { header: string; rows: [left: string, right: string][] }

/** How oclif would render it: the terminal's width (at least 40; 80 without a terminal) and bold headers. */
export interface HelpLook {
  width: number
  bold: boolean
}

/**
 * Letters and punctuation whose width is one column in string-width 4, that no emoji sequence
 * can be made of, and that Unicode normalization leaves alone (wrap-ansi normalizes first); no
 * space but ' ' (wrap-ansi splits words on ' ' only, and trims the others off a row's start when
 * it adds the next word, so a text with a no-break space wraps differently once wrapped wide).
 * Any other character in a row or a text (East Asian wide ones, combining marks, escape codes,
 * tabs, emoji) and the build leaves the root help to oclif.
 */
export const PLAIN_TEXT = /^[\u0020-\u007e\u00a1-\u02ff\u2010-\u2027\u2030-\u205e]*$/

// oclif's list sections (help/index.js formatTopics, formatCommands); any other section is text.
const LIST_SECTIONS = new Set(['TOPICS', 'COMMANDS'])

/**
 * The parts of a help oclif rendered so wide that nothing wrapped (the build's, OCLIF_COLUMNS):
 * a line not indented and followed by indented ones (blank lines apart) is a section's header, its
 * body those lines and the blank lines before and between them, less their indentation; any other
 * line stands as it is.
 * A list's rows are a name (no spaces) padded to the widest name and 2 more, then its text.
 * Throws on what is not of that shape.
 */
export function partsOfUnwrappedHelp(help: string): RootHelpPart[] {
  const lines = help.split('\n')
  const textAfter = (i: number) => lines.slice(i + 1).find((l) => l !== '')
  const parts: RootHelpPart[] = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.startsWith(' ')) throw new Error(`an indented line outside any section: ${JSON.stringify(line)}`)
    if (line === '' || !textAfter(i)?.startsWith('  ')) {
      parts.push(line)
      continue
    }
    const body: string[] = []
    for (; i + 1 < lines.length; i++) {
      const next = lines[i + 1]!
      if (next.startsWith('  ')) body.push(next.slice(2))
      else if (next === '' && textAfter(i + 1)?.startsWith('  ')) body.push('')
      else break
    }
    parts.push(LIST_SECTIONS.has(line) ? { header: line, rows: rowsOf(line, body) } : { header: line, text: body })
  }
  return parts
}

function rowsOf(header: string, lines: readonly string[]): [string, string][] {
  const lefts = lines.map((l) => l.split(' ', 1)[0]!)
  const column = Math.max(...lefts.map((l) => l.length)) + 2
  return lines.map((line, i) => {
    const left = lefts[i]!
    if (line === left && left !== '') return [left, '']
    const right = line.slice(column)
    if (line.slice(left.length, column).trim() !== '' || right.startsWith(' ') || right === '') {
      throw new Error(`a row of ${header} that is not a name and a text: ${JSON.stringify(line)}`)
    }
    return [left, right]
  })
}

/** The help as oclif prints it: its parts on lines of their own (oclif logs each with console.log). */
export function layOutRootHelp(parts: readonly RootHelpPart[], look: HelpLook): string {
  return parts.map((part) => (typeof part === 'string' ? part : section(part, look))).join('\n')
}

/** HelpFormatter.section: the header, bold where oclif sees colour, and the body indented by 2. */
function section(part: Exclude<RootHelpPart, string>, { width, bold }: HelpLook): string {
  const header = bold ? `\u001b[1m${part.header}\u001b[22m` : part.header
  // A text section's body was wrapped by HelpFormatter.wrap with its default spacing, 2.
  const body = 'rows' in part ? renderList(part.rows, width) : wrap(part.text.join('\n'), width - 2)
  return `${header}\n${indent(body, 2)}`
}

/** HelpFormatter.renderList with formatTopics' and formatCommands' options (indentation 2, spacer '\n'). */
function renderList(rows: readonly [string, string][], width: number): string {
  const maxLength = rows.reduce((max, [left]) => Math.max(max, left.length), 0)
  let output = ''
  let cur = ''
  for (const [left, right] of rows) {
    if (cur) output += `\n${cur}`
    cur = left
    if (!right) {
      cur = cur.trim()
      continue
    }
    const [first, ...lines] = wrap(right.trim(), width - (2 + maxLength + 2))
      .split('\n')
      .map((s) => s.trim())
    cur += ' '.repeat(maxLength - cur.length + 2) + first
    if (lines.length === 0) continue
    // oclif: "if we start putting too many lines down, render in multiline format"
    if (lines.length > 4) return renderMultiline(rows, width)
    cur += `\n${indent(lines.join('\n'), maxLength + 2)}`
  }
  if (cur) output += `\n${cur}`
  return output.trim()
}

/** renderList's multiline form: each row's left on a line, its right under it indented by 4. */
function renderMultiline(rows: readonly [string, string][], width: number): string {
  let output = ''
  for (const [left, right] of rows) {
    if (!left && !right) continue
    if (left) output += wrap(left.trim(), width - 2)
    if (right) output += `\n${indent(wrap(right.trim(), width - 4), 4)}`
    output += '\n\n'
  }
  return output.trim()
}

/** indent-string 4 (/^(?!\s*$)/gm): every line that is not blank. */
function indent(text: string, count: number): string {
  const pad = ' '.repeat(count)
  return text
    .split('\n')
    .map((line) => (line.trim() === '' ? line : pad + line))
    .join('\n')
}

/** wrap-ansi 7 with { hard: true } (and its defaults trim and wordWrap) on plain text: each line on its own. */
export function wrap(text: string, columns: number): string {
  return text
    .split('\n')
    .map((line) => wrapLine(line, columns))
    .join('\n')
}

/** wrap-ansi's exec() for those options, without the escape codes plain text cannot have. */
function wrapLine(line: string, columns: number): string {
  if (line.trim() === '') return ''
  const words = line.split(' ')
  const rows = ['']
  // By index, and no regular expressions here or in indent(): this runs once per start, before
  // V8 optimizes anything, where iterators and regular expressions cost more than the work
  // (the whole layout: ~0.9 ms with them, ~0.6 ms without).
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!
    rows[rows.length - 1] = rows[rows.length - 1]!.trimStart()
    let rowLength = rows[rows.length - 1]!.length
    if (index !== 0 && rowLength > 0) {
      rows[rows.length - 1] += ' '
      rowLength++
    }
    // Hard: a word longer than a line is cut, starting on this line when that takes no more lines.
    if (word.length > columns) {
      const remainingColumns = columns - rowLength
      const breaksStartingThisLine = 1 + Math.floor((word.length - remainingColumns - 1) / columns)
      const breaksStartingNextLine = Math.floor((word.length - 1) / columns)
      if (breaksStartingNextLine < breaksStartingThisLine) rows.push('')
      wrapWord(rows, word, columns)
      continue
    }
    if (rowLength + word.length > columns && rowLength > 0 && word.length > 0) rows.push('')
    rows[rows.length - 1] += word
  }
  // wrap-ansi's stringVisibleTrimSpacesRight: the spaces that end a row (plain text has no other).
  return rows.map((row) => row.trimEnd()).join('\n')
}

/** wrap-ansi's wrapWord: `word` a character at a time onto the rows, a new row when one is full. */
function wrapWord(rows: string[], word: string, columns: number): void {
  let visible = rows[rows.length - 1]!.length
  // Characters are UTF-16 units: PLAIN_TEXT holds no surrogates.
  for (let index = 0; index < word.length; index++) {
    const character = word[index]!
    if (visible + 1 <= columns) rows[rows.length - 1] += character
    else {
      rows.push(character)
      visible = 0
    }
    visible++
    if (visible === columns && index < word.length - 1) {
      rows.push('')
      visible = 0
    }
  }
  if (!visible && rows[rows.length - 1]!.length > 0 && rows.length > 1) rows[rows.length - 2] += rows.pop()!
}
