// A command that ran but failed (the app would not load, a check found routes over their
// limits): the CLI prints the message and exits 1. Usage errors are OptionError (exit 2).
export class RunFailure extends Error {}
