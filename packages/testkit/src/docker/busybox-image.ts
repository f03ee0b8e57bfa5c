import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { TestkitError } from '../errors.js';
import { runCommand } from '../process/process-utilities.js';

/** Tag of the image every engine from {@link useDockerEngine} provides. */
export const BUSYBOX_IMAGE = 'localhost/busybox:test';

const INSTALL_HINT = 'Install it with `apt-get install -y busybox-static` (or run `bash scripts/services.sh` as root).';

/** Whether an ELF file has a PT_INTERP program header, i.e. is dynamically linked. */
export function hasProgramInterpreter(elf: Buffer): boolean {
  if (elf.length < 0x40 || elf.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64Bit = elf[4] === 2;
  const littleEndian = elf[5] === 1;
  const read16 = (offset: number): number => (littleEndian ? elf.readUInt16LE(offset) : elf.readUInt16BE(offset));
  const read32 = (offset: number): number => (littleEndian ? elf.readUInt32LE(offset) : elf.readUInt32BE(offset));
  const programHeaderOffset = is64Bit
    ? Number(littleEndian ? elf.readBigUInt64LE(0x20) : elf.readBigUInt64BE(0x20))
    : read32(0x1c);
  const entrySize = read16(is64Bit ? 0x36 : 0x2a);
  const entryCount = read16(is64Bit ? 0x38 : 0x2c);
  const PT_INTERP = 3;
  for (let index = 0; index < entryCount; index += 1) {
    const offset = programHeaderOffset + index * entrySize;
    if (offset + 4 > elf.length) break;
    if (read32(offset) === PT_INTERP) return true;
  }
  return false;
}

/** Path of a statically linked busybox (a dynamic one cannot run in an image without its libraries). */
export async function findStaticBusybox(): Promise<string> {
  for (const candidate of ['/bin/busybox', '/usr/bin/busybox']) {
    let header: Buffer;
    try {
      header = await readFile(candidate);
    } catch {
      continue;
    }
    if (hasProgramInterpreter(header)) {
      throw new TestkitError('SERVICE_UNAVAILABLE', `${candidate} is dynamically linked. ${INSTALL_HINT}`);
    }
    return candidate;
  }
  throw new TestkitError('SERVICE_UNAVAILABLE', `No busybox binary found. ${INSTALL_HINT}`);
}

/**
 * Writes a busybox root filesystem tarball (`/bin/busybox`, a link per applet, `/etc/passwd`) to
 * `<directory>/rootfs.tar` and returns its path. Nothing is pulled from a registry.
 */
export async function buildBusyboxRootfs(directory: string): Promise<string> {
  const busybox = await findStaticBusybox();
  const root = join(directory, 'rootfs');
  await mkdir(join(root, 'bin'), { recursive: true });
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'tmp'), { recursive: true });
  await copyFile(busybox, join(root, 'bin', 'busybox'));
  const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .map((name) => name.trim())
    .filter((name) => /^[\w.[-]+$/.test(name) && name !== 'busybox');
  await Promise.all(applets.map((name) => symlink('busybox', join(root, 'bin', name))));
  await writeFile(
    join(root, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
  );
  await writeFile(join(root, 'etc', 'group'), 'root:x:0:\nnobody:x:65534:\n');
  const tarball = join(directory, 'rootfs.tar');
  await runCommand('tar', ['-C', root, '-cf', tarball, '.']);
  return tarball;
}
