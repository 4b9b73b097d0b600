// A real distribution image: a minimal Debian root filesystem, built by
// rootfs-scripts/debootstrap.sh from Debian's packages, packed by umoci as an OCI layout and by
// skopeo as a docker save tarball (the two forms learners bring), imported both ways, compared
// with umoci's own unpack file for file, and run as lesson 7 runs its container: apt-get
// works, and ping pings as nobody by the capability its file carries.
//
// Tests download nothing: the root filesystem is built before them, where CI installs what the
// tests need (.ci/run), and named by CL_TEST_DEBIAN_ROOTFS. Without it, or without
// umoci, skopeo or setcap, the tests say why they skip.
import { describe, it, expect, afterAll, type TestContext } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createContainerLayers, importImage, LayerStore, Ledger, mountOverlay, runContainer, type ImportedImage } from '../../src/core/index.js';
import { onPath } from '../support/on-path.js';
import { skipBecause } from '../support/skip.js';
import { describeTree } from '../support/tree.js';

const SOURCE = process.env.CL_TEST_DEBIAN_ROOTFS;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-debian-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Why the tests cannot run here, or null. */
function missing(): string | null {
  if (!SOURCE) return 'no Debian root filesystem named: build one with `sudo rootfs-scripts/debootstrap.sh /var/tmp/cl-debian` and set CL_TEST_DEBIAN_ROOTFS=/var/tmp/cl-debian (.ci/run does both)';
  if (!fs.existsSync(path.join(SOURCE, 'usr/bin/apt-get'))) return `CL_TEST_DEBIAN_ROOTFS=${SOURCE} is not a Debian root filesystem (no usr/bin/apt-get)`;
  for (const [tool, pkg] of [
    ['umoci', 'umoci'],
    ['skopeo', 'skopeo'],
    ['getcap', 'libcap2-bin'],
  ] as const)
    if (!onPath(tool)) return `${tool} is not installed (apt-get install ${pkg})`;
  return null;
}

interface Images {
  /** umoci's OCI layout, the image tagged `debian`. */
  layout: string;
  /** skopeo's docker save tarball of the same image. */
  archive: string;
  /** umoci's unpack of the layout: the tree both imports must equal. */
  reference: string;
}

let made: Promise<Images> | undefined;
/** The image in both forms, made once for the file's tests. */
function images(): Promise<Images> {
  made ??= (async () => {
    const source = SOURCE as string;
    const layout = path.join(tmp, 'oci');
    const bundle = path.join(tmp, 'bundle');
    const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'pipe', maxBuffer: 64 << 20 });
    run('umoci', ['init', '--layout', layout]);
    run('umoci', ['new', '--image', `${layout}:debian`]);
    run('umoci', ['unpack', '--image', `${layout}:debian`, bundle]);
    // The root filesystem as Docker's official Debian images carry it: /dev empty (the
    // workbook refuses device nodes in a layer, and so the container makes its own).
    fs.rmSync(path.join(bundle, 'rootfs'), { recursive: true });
    run('cp', ['-a', source, path.join(bundle, 'rootfs')]);
    for (const name of fs.readdirSync(path.join(bundle, 'rootfs/dev'))) fs.rmSync(path.join(bundle, 'rootfs/dev', name), { recursive: true });
    run('umoci', ['repack', '--image', `${layout}:debian`, bundle]);
    fs.rmSync(bundle, { recursive: true });
    const archive = path.join(tmp, 'debian.tar');
    // Local files, no signatures to check: no policy file needed.
    run('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci:${layout}:debian`, `docker-archive:${archive}:debian:bookworm`]);
    const reference = path.join(tmp, 'reference');
    run('umoci', ['unpack', '--image', `${layout}:debian`, reference]);
    return { layout, archive, reference: path.join(reference, 'rootfs') };
  })();
  return made;
}

/** The tree an import made: its single layer's diff. */
function imported(store: LayerStore, img: ImportedImage): string {
  expect(img.layers).toHaveLength(1);
  return store.info(img.top).diff;
}

const stores: Record<string, { store: LayerStore; img: ImportedImage }> = {};
/** Import `form` of the image into a store of its own (so that neither reuses the other's layer). */
async function importAs(form: 'layout' | 'archive'): Promise<{ store: LayerStore; img: ImportedImage }> {
  if (stores[form]) return stores[form];
  const store = new LayerStore(path.join(tmp, `store-${form}`));
  const img = await importImage((await images())[form], store, { name: 'debian' });
  stores[form] = { store, img };
  return stores[form];
}

function ready(ctx: TestContext): void {
  const why = missing();
  if (why) skipBecause(ctx, why);
}

describe('a Debian image from the wild', () => {
  for (const [form, made] of [
    ['layout', "umoci's OCI layout"],
    ['archive', "skopeo's docker save tarball"],
  ] as const) {
    it(`${made} imports to umoci's tree, attribute by attribute`, async (ctx) => {
      ready(ctx);
      const { store, img } = await importAs(form);
      const ours = describeTree(imported(store, img));
      const theirs = describeTree((await images()).reference);
      // What the comparison is about is there at all (a tool that lost it on both sides would agree).
      expect(ours.entries['usr/bin/ping']?.xattrs).toHaveProperty(['security.capability']);
      expect(ours.entries['usr/bin/apt-get']).toMatchObject({ kind: 'file', mode: '755', owner: '0:0' });
      expect(ours.entries.tmp).toMatchObject({ kind: 'dir', mode: '1777' });
      expect(ours.links.length).toBeGreaterThan(0);
      expect(Object.keys(ours.entries).length).toBeGreaterThan(3000);
      delete ours.entries['.'];
      delete theirs.entries['.'];
      const differ = Object.keys({ ...ours.entries, ...theirs.entries }).filter((rel) => JSON.stringify(ours.entries[rel]) !== JSON.stringify(theirs.entries[rel]));
      expect(
        differ.slice(0, 5).map((rel) => ({ rel, ours: ours.entries[rel], theirs: theirs.entries[rel] })),
        `${differ.length} entries differ`,
      ).toEqual([]);
      expect(ours.links).toEqual(theirs.links);
    }, 600_000);
  }

  it("runs as lesson 7's container: apt-get works, and ping pings as nobody by its file's capability, which a copy lacks", async (ctx) => {
    ready(ctx);
    const { store, img } = await importAs('layout');
    const ledger = new Ledger();
    try {
      // As lesson 7 makes its container: an init layer and an upper one on the image, one
      // overlay mount; and a network namespace of its own, where ping reaches only its lo and
      // unprivileged ICMP sockets are off (the kernel's default ping_group_range, "1 0").
      const c = await createContainerLayers(store, img.top, 'deb1', { hostname: 'deb1', ledger });
      mountOverlay({ lowers: c.lowers, upper: c.upper, work: c.work, merged: c.merged }, ledger);
      const nobody = 'setpriv --reuid=65534 --regid=65534 --clear-groups';
      const script = [
        'hostname',
        'apt-get --version | head -n 1',
        'getcap /usr/bin/ping',
        'cat /proc/sys/net/ipv4/ping_group_range',
        'ip link set lo up',
        `${nobody} ping -c 1 -W 2 127.0.0.1 >/dev/null && echo 'nobody pings'`,
        'cp /usr/bin/ping /tmp/ping-copy',
        `${nobody} /tmp/ping-copy -c 1 -W 2 127.0.0.1 >/dev/null 2>&1 || echo 'a copy without the capability may not'`,
      ].join('\n');
      const r = await runContainer({ rootfs: c.merged, namespaces: ['mnt', 'uts', 'ipc', 'pid', 'net'], hostname: 'deb1', mountProc: true, argv: ['/bin/sh', '-c', script] });
      expect(r.stderr).toBe('');
      expect(r.stdout.split('\n')).toEqual(['deb1', expect.stringMatching(/^apt \d+\.\d+/), '/usr/bin/ping cap_net_raw=ep', '1\t0', 'nobody pings', 'a copy without the capability may not', '']);
      expect(r.code).toBe(0);
    } finally {
      expect(await ledger.cleanup()).toEqual([]);
    }
  }, 600_000);
});
