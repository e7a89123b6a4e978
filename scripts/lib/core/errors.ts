// Error types the entry points map to exit codes; library code throws them, only entry points exit.

/** Documented exit codes: 0 ok, 1 a step failed, 2 bad input or config, 3 missing prerequisite, 130 interrupted. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  badInput: 2,
  missingPrerequisite: 3,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A problem the user can fix: printed as message + hint, without a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint: string = '',
    readonly exitCode: ExitCode = ExitCode.failed,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** Bad flags, values or settings (exit code 2). */
export class InputError extends UserError {
  constructor(message: string, hint = '') {
    super(message, hint, ExitCode.badInput);
    this.name = 'InputError';
  }
}

/** A tool that is missing, too old or not running (exit code 3). */
export class PrerequisiteError extends UserError {
  constructor(message: string, hint = '') {
    super(message, hint, ExitCode.missingPrerequisite);
    this.name = 'PrerequisiteError';
  }
}

/**
 * The Docker daemon does not answer (exit code 3). Commands that read the cluster before anything
 * else let it through rather than mistake a cluster behind a stopped Docker for a gone or broken one.
 */
export class DockerDaemonDownError extends PrerequisiteError {
  constructor(message: string, hint = '') {
    super(message, hint);
    this.name = 'DockerDaemonDownError';
  }
}

/** The user pressed Ctrl+C (or the command got SIGTERM): nothing more is started (exit code 130). */
export class InterruptedError extends UserError {
  constructor() {
    super('interrupted', '', ExitCode.interrupted);
    this.name = 'InterruptedError';
  }
}
