import { describe, expect, it } from 'vitest';
import { runHook, runHooks } from './hooks.js';

describe('hooks', () => {
  it('run without a shell: metacharacters are plain arguments', async () => {
    const result = await runHook({ command: ['/bin/echo', '$(id)', '; rm -rf /', '`x`'] });
    expect(result).toMatchObject({ ok: true, exitCode: 0, output: '$(id) ; rm -rf / `x`' });
  });

  it('a failing fail-hook throws HOOK_FAILED; a continue-hook becomes a warning; env is passed', async () => {
    await expect(runHooks([{ command: ['/bin/sh', '-c', 'echo broken >&2; exit 3'] }])).rejects.toMatchObject({
      code: 'HOOK_FAILED',
      message: expect.stringContaining('exit code 3: broken'),
    });
    const warnings = await runHooks(
      [{ command: ['/bin/false'], onError: 'continue' }, { command: ['/bin/sh', '-c', 'test "$OPS_BACKUP_JOB" = pg'] }],
      { OPS_BACKUP_JOB: 'pg' },
    );
    expect(warnings).toEqual(['hook "/bin/false" exit code 1']);
  });

  it('is killed after its timeout', async () => {
    const result = await runHook({ command: ['/bin/sleep', '5'], timeout: '100ms' });
    expect(result).toMatchObject({ ok: false, timedOut: true });
    await expect(runHooks([{ command: ['/bin/sleep', '5'], timeout: '100ms' }])).rejects.toMatchObject({
      code: 'HOOK_FAILED',
      message: expect.stringContaining('timed out after 100ms'),
    });
  });

  it('a missing program is a failure, not a crash', async () => {
    const result = await runHook({ command: ['/nonexistent/program'] });
    expect(result.ok).toBe(false);
    expect(result.output).toContain('ENOENT');
  });
});
