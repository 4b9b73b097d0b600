// What a check says: pass, fail (with a reason and a hint naming the likely cause) or skip
// (the kernel or machine cannot do it), and always what it looked at.
export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  title: string;
  status: CheckStatus;
  /** What was observed, in a sentence. */
  reason: string;
  /** For a failure: the likely cause and what to do. */
  hint?: string;
  /** Files and kernel objects the check read. */
  looked: string[];
}

export const pass = (title: string, reason: string, looked: string[]): CheckResult => ({ title, status: 'pass', reason, looked });
export const fail = (title: string, reason: string, hint: string, looked: string[]): CheckResult => ({ title, status: 'fail', reason, hint, looked });
export const skip = (title: string, reason: string, looked: string[] = []): CheckResult => ({ title, status: 'skip', reason, looked });

export function allPassed(results: CheckResult[]): boolean {
  return results.length > 0 && results.every((r) => r.status !== 'fail') && results.some((r) => r.status === 'pass');
}
