// The copy key: a step's commands onto the learner's clipboard through the terminal.
//
// OSC 52 ("ESC ] 52 ; c ; <base64> BEL") asks the terminal itself to set its clipboard, so it
// works where a clipboard program cannot: over SSH, in a VM's console, inside tmux (which
// takes it into its paste buffer and passes it on when `set-clipboard` is on). A terminal
// that does not allow it ignores the sequence: nothing is shown either way.

/** The escape sequence that puts `text` on the clipboard. */
export function osc52(text: string): string {
  return `\x1b]52;c;${Buffer.from(text, 'utf8').toString('base64')}\x07`;
}

/** What the copy key copies: the commands one per line, as a shell reads them when pasted. */
export function clipboardText(commands: string[]): string {
  return commands.join('\n');
}
