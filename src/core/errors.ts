// One error type for the whole workbook: a message that says what failed, and a hint that
// says what the learner can do about it. The CLI and the TUI print both; subclasses add
// what their kind of failure knows (the syscall and errno, the lock's holder, the step).

export class HintedError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
