import { setTimeout as sleep } from 'node:timers/promises';
import type { Container } from 'dockerode';

/** Runs `cmd` in `container` through the exec API and waits (≤ 5 s) until it ended. */
export async function execInContainer(container: Container, cmd: string[]): Promise<void> {
  const run = await container.exec({ Cmd: cmd });
  await run.start({ Detach: true });
  // Podman forgets an exec session once it ended: a failed inspect means done too.
  for (let attempt = 0; attempt < 50; attempt++) {
    const running = await run.inspect().then(
      (info) => info.Running,
      () => false,
    );
    if (!running) return;
    await sleep(100);
  }
}
