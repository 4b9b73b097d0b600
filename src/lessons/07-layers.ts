// Lesson 7: images are layers. An image written as an OCI layout and as a `docker save`
// tarball, imported into a layer store laid out as Docker's overlay2 lays it out; a
// container's root filesystem made of the image's layers, an init layer and an upper; a
// container run on it through the same core as lessons 3-6; a write and a deletion landing
// in upper; and a commit that turns upper alone into a new layer.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  LayerStore,
  createContainerLayers,
  commitContainer,
  importImage,
  writeImage,
  listImages,
  mountOverlay,
  overlayCommand,
  listWhiteouts,
  isWhiteout,
  libc,
  unmount,
  OPAQUE_XATTR,
  LAYER_TAR_OPTIONS,
  LAYER_UNTAR_OPTIONS,
  chainIdOf,
  diffIdOf,
  compareLayerTrees,
  HintedError,
  ensureRootfsAsync,
  procfs,
  type ContainerFs,
  type ContainerShape,
  type ImportedImage,
  type Running,
} from '../core/index.js';
import { pass, fail, type CheckResult } from '../checks/result.js';
import { t } from '../i18n/messages.js';
import type { Lab } from '../lab.js';
import { defineLesson, earlier, type LessonContext } from './types.js';
import { hostShell, inContainer, lines } from './show.js';
import { IDLE_SHELL, startStepContainer } from './container-common.js';
import { stillPicture } from '../pictures/picture.js';
import { drawLayerChain } from '../pictures/layer-chain.js';

const NS = ['mnt', 'uts', 'ipc', 'pid'] as const;
const IMAGE = 'web';
/** The lab paths of the overlay2-style layer store, the imported images' records, and the
 * images the lesson writes to import. */
const PATHS = { layers: 'layers', images: 'images', imageSrc: 'image-src' };
/** The lab's layer store and image records, where `container-lessons import` puts an image. */
/** The container of the image: on the merged directory of its layers. */
const onMerged = (merged: string): ContainerShape => ({ rootfs: merged, namespaces: [...NS], hostname: CONTAINER, mountProc: true });

export const storePaths = (lab: Lab) => ({ layers: path.join(lab.root, PATHS.layers), images: path.join(lab.root, PATHS.images), imageSrc: path.join(lab.root, PATHS.imageSrc) });

interface State {
  image?: ImportedImage;
  fs?: ContainerFs;
  container?: Running;
}
const CONTAINER = 'web1';

/** The demo image: the lesson's root filesystem as the base layer, then an "app" layer and
 * an "update" layer that deletes a file (a whiteout) and replaces a directory (opaque). */
function demoLayers(lab: Lab): [base: string, app: string, update: string] {
  const build = path.join(storePaths(lab).imageSrc, 'build');
  const app = path.join(build, 'app');
  const update = path.join(build, 'update');
  fs.rmSync(build, { recursive: true, force: true });
  const put = (root: string, rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  };
  put(app, 'srv/www/index.html', '<h1>hello from the app layer</h1>\n');
  put(app, 'srv/www/old.html', 'an old page\n');
  put(app, 'srv/data/a.txt', 'data from the app layer\n');
  put(update, 'srv/www/.wh.old.html', ''); // OCI whiteout: old.html is deleted
  put(update, 'srv/data/.wh..wh..opq', ''); // OCI opaque marker: hide the data below
  put(update, 'srv/data/b.txt', 'data from the update layer\n');
  put(update, 'etc/motd', 'built in layers by container-lessons\n');
  // Fixed times, as reproducible builds do: the same files give the same layer digest,
  // so a second image built from them shares the layer instead of unpacking it again.
  const fixed = new Date('2024-01-01T00:00:00Z');
  const settle = (p: string) => {
    if (fs.lstatSync(p).isDirectory()) for (const n of fs.readdirSync(p)) settle(path.join(p, n));
    fs.utimesSync(p, fixed, fixed);
  };
  settle(build);
  return [lab.rootfs, app, update];
}

/** The demo image as a learner gets it from `container-lessons demo-image`. */
export async function writeDemoImage(lab: Lab, format: 'oci' | 'docker-save', target?: string): Promise<string> {
  await ensureRootfsAsync(lab.rootfs, undefined, { build: !lab.customRootfs });
  const to = target ?? (format === 'oci' ? ociDir(lab) : saveTar(lab));
  await writeImage(to, demoLayers(lab), { format, name: `${IMAGE}:1` });
  return to;
}

const ociDir = (lab: Lab) => path.join(storePaths(lab).imageSrc, 'web-oci');
const saveTar = (lab: Lab) => path.join(storePaths(lab).imageSrc, 'web-debug.tar');
const store = (lab: Lab) => new LayerStore(storePaths(lab).layers);
const short = (id: string) => id.slice(0, 12);
/** The shell line that reads the image's top layer into $TOP, from the store's directory. */
const topOf = (lab: Lab) => `cd ${storePaths(lab).layers}; TOP=$(grep -o '"top": "[^"]*"' ${storePaths(lab).images}/${IMAGE}.json | cut -d'"' -f4)`;
/** The tar commands of a commit, the same options the core runs (layer-tar.ts). */
const tarCreate = (from: string, file: string) => `tar -C ${from} -cf ${file} ${LAYER_TAR_OPTIONS.join(' ')} .`;
const tarExtract = (file: string, to: string) => `tar -C ${to} -xf ${file} ${LAYER_UNTAR_OPTIONS.join(' ')}`;
/** A commit by hand, as commitContainer makes one: upper as a tar, its sha256 the diff id,
 * the chain id on the image's top layer the new layer's name, the tar unpacked into its
 * diff; then link, l/<short> and lower as for any layer. */
const commitCommands = (lab: Lab) => [
  `${topOf(lab)}   # the parent: the image's top layer`,
  `${tarCreate(`${CONTAINER}/diff`, `${CONTAINER}.tar`)}   # upper alone, as a tar`,
  `DIFFID=sha256:$(sha256sum < ${CONTAINER}.tar | cut -c1-64); NEW=$(printf 'sha256:%s %s' $TOP $DIFFID | sha256sum | cut -c1-64)   # diff id, then chain id: the name`,
  `mkdir -p $NEW/diff $NEW/work; ${tarExtract(`${CONTAINER}.tar`, '$NEW/diff')}; rm ${CONTAINER}.tar`,
  'SHORT=$(tr -dc A-Z2-7 < /dev/urandom | head -c 26); printf %s $SHORT > $NEW/link; ln -s ../$NEW/diff l/$SHORT',
  `printf %s "l/$(cat $TOP/link):$(cat $TOP/lower)" > $NEW/lower   # the image's layers, top first: ${CONTAINER}'s lower less the init layer`,
  'ls -l l/$SHORT/srv/www   # the layer holds upper: new.html, and index.html as a whiteout; no etc/hostname',
];

function storeTree(s: LayerStore, ids: string[]): string {
  return ids
    .map((id) => {
      const i = s.info(id);
      return `${short(id)}…/  link=${i.link}  lower=${i.lower.length ? i.lower.map((l) => l.slice(0, 9) + '…').join(':') : t`(none: the base layer)`}`;
    })
    .join('\n');
}

/** The checks, by the titles their results carry (the text lists each). */
const CHECKS = {
  store: 'a layer store laid out like overlay2',
  image: 'an image in the store',
  mounted: 'a container mounted from an image',
  merged: 'merged shows what the layers say',
  whiteout: 'a deletion is a whiteout in upper',
  commit: 'a commit is a layer of upper alone, named by its chain id',
} as const;

const layers = defineLesson<State>({
  id: 'layers',
  title: 'Images are layers: overlay2, init layer, commit',
  text: '07-layers.md',
  labPaths: PATHS,
  needs: { filesystems: ['overlay'], namespaces: [...NS] },
  newState: () => ({}),
  checks: Object.values(CHECKS),
  steps: [
    {
      title: 'An image to start from: three layers, written as an OCI image layout',
      commands: (lab) => [`container-lessons demo-image ${ociDir(lab)}   # or: docker save busybox -o busybox.tar`, `cat ${ociDir(lab)}/index.json`, `ls ${ociDir(lab)}/blobs/sha256`],
      async run(ctx) {
        await ensureRootfsAsync(ctx.lab.rootfs, ctx.ledger, { build: !ctx.lab.customRootfs });
        fs.rmSync(storePaths(ctx.lab).imageSrc, { recursive: true, force: true });
        ctx.ledger.add({ kind: 'file', path: storePaths(ctx.lab).imageSrc });
        await writeImage(ociDir(ctx.lab), demoLayers(ctx.lab), { format: 'oci', name: `${IMAGE}:1` });
        return lines(
          t`base layer: ${ctx.lab.rootfs}; app layer: /srv/www, /srv/data; update layer: deletes /srv/www/old.html (.wh.old.html), replaces /srv/data (.wh..wh..opq), adds /etc/motd`,
          await hostShell(`ls ${ociDir(ctx.lab)} ${ociDir(ctx.lab)}/blobs/sha256 | cut -c1-80`),
        );
      },
    },
    {
      title: 'Import it: one directory per layer, with diff/, link, lower, and short links in l/',
      commands: (lab) => [
        `container-lessons import ${ociDir(lab)} --name ${IMAGE}`,
        `ls ${storePaths(lab).layers} ${storePaths(lab).layers}/l`,
        `${topOf(lab)}   # the image's top layer`,
        'echo "link: $(cat $TOP/link)  lower: $(cat $TOP/lower)"',
      ],
      async run(ctx) {
        const s = store(ctx.lab);
        if (s.ensure()) ctx.ledger.add({ kind: 'file', path: storePaths(ctx.lab).layers });
        if (!fs.existsSync(storePaths(ctx.lab).images)) ctx.ledger.add({ kind: 'file', path: storePaths(ctx.lab).images });
        const img = await importImage(ociDir(ctx.lab), s, { name: IMAGE, ledger: ctx.ledger });
        ctx.state.image = img;
        const top = img.layers.at(-1);
        if (!top) throw new Error(`${IMAGE}: the imported image has no layers`);
        const opaque = libc.lgetxattr(path.join(storePaths(ctx.lab).layers, top.id, 'diff', 'srv/data'), OPAQUE_XATTR)?.toString();
        return lines(
          ...img.layers.map((l, i) => t`layer ${i + 1}: ${l.diffId.slice(0, 19)}… verified, unpacked into ${short(l.id)}…/diff`),
          storeTree(
            s,
            img.layers.map((l) => l.id),
          ),
          await hostShell(`ls -l ${storePaths(ctx.lab).layers}/l | tail -n +2 | sed 's/.* \\([A-Z0-9]*\\) -> /\\1 -> /'`),
          t`# the update layer's whiteouts became overlayfs ones in ${short(top.id)}…/diff:`,
          ...listWhiteouts(path.join(storePaths(ctx.lab).layers, top.id, 'diff')).map((w) => `c 0/0  ${w.path}`),
          opaque === undefined ? t`opaque: srv/data (${OPAQUE_XATTR}=missing)` : t`opaque: srv/data (${OPAQUE_XATTR}=${opaque})`,
        );
      },
    },
    {
      title: 'A second image that shares layers is not unpacked again',
      commands: (lab) => [`container-lessons demo-image ${saveTar(lab)} --format docker-save   # the same layers, as docker save writes them`, `container-lessons import ${saveTar(lab)} --name ${IMAGE}-debug`],
      async run(ctx) {
        if (!fs.existsSync(saveTar(ctx.lab))) await writeDemoImage(ctx.lab, 'docker-save', saveTar(ctx.lab));
        const img = await importImage(saveTar(ctx.lab), store(ctx.lab), { name: `${IMAGE}-debug`, ledger: ctx.ledger });
        return lines(
          ...img.layers.map((l, i) => t`layer ${i + 1}: ${short(l.id)}… ${l.reused ? t`already in the store: shared, not unpacked again` : t`new: unpacked`}`),
          t`# layers are keyed by chain id: the same layers in the same order are the same directory`,
        );
      },
    },
    {
      title: "A container's root filesystem: an init layer and an upper layer on top of the image",
      commands: (lab) => [
        `${topOf(lab)}   # the image's top layer`,
        `mkdir -p ${CONTAINER}-init/diff/etc ${CONTAINER}/diff ${CONTAINER}/work ${CONTAINER}/merged`,
        `echo ${CONTAINER} > ${CONTAINER}-init/diff/etc/hostname   # and etc/hosts, etc/resolv.conf`,
        `LOWER=$PWD/l/$(cat $TOP/link):$(sed "s#l/#$PWD/l/#g" $TOP/lower)   # the image, top first`,
        `mount -t overlay overlay -o lowerdir=$PWD/${CONTAINER}-init/diff:$LOWER,upperdir=$PWD/${CONTAINER}/diff,workdir=$PWD/${CONTAINER}/work $PWD/${CONTAINER}/merged`,
      ],
      async run(ctx) {
        const img = earlier(ctx.state.image, t`the imported image`);
        const s = store(ctx.lab);
        const marker = JSON.stringify({ id: randomUUID(), kind: 'container', created: new Date().toISOString() });
        const c = await createContainerLayers(s, img.top, CONTAINER, { hostname: CONTAINER, marker, ledger: ctx.ledger });
        const spec = { lowers: c.lowers, upper: c.upper, work: c.work, merged: c.merged };
        mountOverlay(spec, ctx.ledger);
        ctx.state.fs = c;
        const m = procfs.readMountinfo().find((x) => x.mountPoint === c.merged);
        return lines(
          t`init layer ${CONTAINER}-init: etc/hostname, etc/hosts, etc/resolv.conf for this container only`,
          `# ${overlayCommand(spec)}`.replace(new RegExp(storePaths(ctx.lab).layers.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g'), '$L'),
          t`# ($L = ${storePaths(ctx.lab).layers}; lowerdir: the init layer first, then the image from its top layer down)`,
          m ? `# mountinfo: ${m.fstype} ${m.superOptions.length > 160 ? m.superOptions.slice(0, 160) + '…' : m.superOptions}` : '',
        );
      },
    },
    {
      title: 'Run a container from the image, through the same core as lessons 3-6',
      commands: (lab) => [
        `unshare --mount --uts --ipc --pid --fork --mount-proc=${storePaths(lab).layers}/${CONTAINER}/merged/proc chroot ${storePaths(lab).layers}/${CONTAINER}/merged sh -c 'hostname "$(cat /etc/hostname)"; exec sh'`,
        'hostname; cat /etc/hostname   # inside: both say web1, in the UTS namespace of its own',
      ],
      alsoStarts: (lab) => [onMerged(path.join(storePaths(lab).layers, CONTAINER, 'merged'))],
      async run(ctx) {
        const c = earlier(ctx.state.fs, t`the container's layers`);
        const r = await startStepContainer(ctx, onMerged(c.merged), IDLE_SHELL);
        ctx.state.container = r;
        return lines(t`container started on ${c.merged}, host pid ${r.pid}`, await inContainer(r, [...NS], 'hostname; cat /etc/motd; ls /srv/www /srv/data'));
      },
    },
    {
      title: 'Write and delete inside: both land in the upper layer',
      commands: (lab) => ["echo 'made in the container' > /srv/www/new.html; rm /srv/www/index.html   # inside", `ls -l ${storePaths(lab).layers}/${CONTAINER}/diff/srv/www`],
      async run(ctx) {
        const c = earlier(ctx.state.fs, t`the container's layers`);
        const r = earlier(ctx.state.container, t`the container`);
        const out = await inContainer(r, [...NS], "echo 'made in the container' > /srv/www/new.html; rm /srv/www/index.html; ls /srv/www");
        return lines(out, t`# upper (${CONTAINER}/diff) now holds:`, ...walkUpper(c.upper));
      },
    },
    {
      title: 'Commit: the upper layer alone becomes a new layer; the init layer stays out',
      commands: (lab) => commitCommands(lab),
      async run(ctx) {
        const c = earlier(ctx.state.fs, t`the container's layers`);
        const layer = await commitContainer(store(ctx.lab), c, ctx.ledger);
        const hasInit = fs.existsSync(path.join(layer.diff, 'etc', 'hostname'));
        return lines(
          t`diff id ${layer.diffId} (the sha256 of ${CONTAINER}/diff as a tar)`,
          t`chain id on the image's top layer ${short(c.image)}…: ${layer.chainId}`,
          t`new layer ${short(layer.id)}…${layer.reused ? t` (the store had it: this very change was committed before)` : ''}: link=${layer.link}, lower=${layer.lower.map((l) => l.slice(0, 9) + '…').join(':')} (the image's layers, top first)`,
          ...walkUpper(layer.diff),
          hasInit ? t`etc/hostname came along: wrong` : t`# no etc/hostname, etc/hosts, etc/resolv.conf: those were in the init layer`,
        );
      },
    },
  ],

  async check(lab) {
    return checkLayers(lab);
  },

  hints: (lab) => [
    t`An image is a stack of read-only layers, and a container's root filesystem is one overlay mount of them: the image's layers, an init layer above them with this container's own /etc/hostname, /etc/hosts and /etc/resolv.conf, and on top an empty upper layer that takes the container's writes. Docker's overlay2 store keeps one directory per layer; a file of the image deleted in the container becomes a whiteout in the upper layer. A commit turns that upper layer alone, whiteouts and all, into one more layer on the image, named by its content: the chain id of its tar's digest on the image's top layer.`,
    t`The store ${storePaths(lab).layers} is laid out like /var/lib/docker/overlay2: <id>/diff (the layer's files), <id>/link (its short name), <id>/lower (the layers below as l/<short>:..., nearest first) and l/<short> -> ../<id>/diff; an imported image's record is ${storePaths(lab).images}/<name>.json, whose "top" is its top layer's id. The container is one mount(2) of type overlay: lowerdir= the init layer's diff first, then the image from its top layer down (l/ of <top>/link, then <top>/lower); the check reads lowerdir in /proc/self/mountinfo. A commit is a new <id> directory like the others: its diff/ holds exactly what ${CONTAINER}/diff holds (tar -x of a tar of it keeps the 0/0 whiteouts and, with --xattrs, the ${OPAQUE_XATTR} mark), its lower is the image's top link then the top's own lower, l/<its link> -> ../<id>/diff, and <id> is the sha256 of "sha256:<top> sha256:<the tar's sha256>" (the chain id of its diff id on the image's top layer).`,
    [
      `container-lessons demo-image ${ociDir(lab)}; container-lessons import ${ociDir(lab)} --name ${IMAGE}`,
      `cd ${storePaths(lab).layers}; TOP=$(grep -o '"top": "[^"]*"' ${storePaths(lab).images}/${IMAGE}.json | cut -d'"' -f4)`,
      `mkdir -p ${CONTAINER}-init/diff/etc ${CONTAINER}/diff ${CONTAINER}/work ${CONTAINER}/merged; echo ${CONTAINER} > ${CONTAINER}-init/diff/etc/hostname`,
      `LOWER=$PWD/l/$(cat $TOP/link):$(sed "s#l/#$PWD/l/#g" $TOP/lower)   # the image, top first`,
      `mount -t overlay overlay -o lowerdir=$PWD/${CONTAINER}-init/diff:$LOWER,upperdir=$PWD/${CONTAINER}/diff,workdir=$PWD/${CONTAINER}/work $PWD/${CONTAINER}/merged`,
      `rm ${CONTAINER}/merged/srv/www/index.html; ls -l ${CONTAINER}/diff/srv/www`,
      ...commitCommands(lab).slice(1),
    ].join('\n'),
  ],

  picture: stillPicture((lab, opts) => drawLayerChain(storePaths(lab).layers, opts)),

  async reset(lab) {
    const removed: string[] = [];
    // Containers on a merged dir of the store: end them before unmounting. After pivot_root
    // a container's root is not a path the host can name (readlink says "/"), but
    // /proc/<pid>/root still leads to it: its device is the overlay mount's own.
    const mounts = procfs.readMountinfo().filter((m) => m.mountPoint.startsWith(storePaths(lab).layers + '/'));
    const devs = new Set<number>();
    for (const m of mounts) {
      try {
        devs.add(fs.statSync(m.mountPoint).dev);
      } catch {
        /* gone */
      }
    }
    const killed: number[] = [];
    for (const pid of procfs.listPids()) {
      if (pid === process.pid) continue;
      try {
        if (devs.has(fs.statSync(`/proc/${pid}/root`).dev) || fs.readlinkSync(`/proc/${pid}/root`).startsWith(storePaths(lab).layers + '/')) {
          const comm = procfs.comm(pid);
          process.kill(pid, 'SIGKILL');
          killed.push(pid);
          removed.push(t`process ${pid} (${comm})`);
        }
      } catch {
        /* gone, or not ours to read */
      }
    }
    await procfs.waitReaped(killed, 3000);
    for (const m of mounts.reverse()) {
      unmount(m.mountPoint);
      removed.push(t`mount ${m.mountPoint}`);
    }
    for (const p of [storePaths(lab).layers, storePaths(lab).images, storePaths(lab).imageSrc]) {
      if (fs.existsSync(p)) {
        fs.rmSync(p, { recursive: true, force: true });
        removed.push(p);
      }
    }
    return removed;
  },

  async shell(ctx: LessonContext<State>) {
    const cwd = fs.existsSync(storePaths(ctx.lab).layers) ? storePaths(ctx.lab).layers : ctx.lab.root;
    return { kind: 'host', cwd, title: t`a shell on the host in ${cwd}` };
  },
});

export default layers;

function walkUpper(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const st = fs.lstatSync(full);
      const rel = path.relative(root, full);
      if (isWhiteout(st)) out.push(t`c 0/0  ${rel}   (whiteout: deleted)`);
      else if (st.isDirectory()) walk(full);
      else out.push(`       ${rel}`);
    }
  };
  walk(root);
  return out;
}

/** Overlay mounts whose upper layer lives in the store: the learner's containers. */
function containerMounts(lab: Lab) {
  const opt = procfs.mountOption;
  return procfs
    .readMountinfo()
    .filter((m) => m.fstype === 'overlay' && (opt(m, 'upperdir') ?? '').startsWith(storePaths(lab).layers + '/'))
    .map((m) => ({ m, lowers: (opt(m, 'lowerdir') ?? '').split(':').filter(Boolean), upper: opt(m, 'upperdir')! }));
}

export async function checkLayers(lab: Lab): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const s = store(lab);
  // A lowerdir or upperdir path (through l/<short> or not) names a layer when it resolves to
  // <store>/<id>/diff.
  const storeReal = fs.existsSync(storePaths(lab).layers) ? fs.realpathSync(storePaths(lab).layers) : storePaths(lab).layers;
  const layerOf = (p: string) => {
    try {
      const real = fs.realpathSync(p);
      return path.basename(real) === 'diff' && path.dirname(path.dirname(real)) === storeReal ? path.basename(path.dirname(real)) : null;
    } catch {
      return null;
    }
  };
  // Commits are the store's other layers: in no image, and neither the upper nor the init
  // layer of a mounted container. Each is judged by the commit check (6), all of it, so a
  // commit half made is named there, not here.
  const mounts = containerMounts(lab);
  const imageLayers = new Set(listImages(s).flatMap((im) => im.layers.map((l) => l.replace(/^sha256:/, ''))));
  const containerLayers = new Set(mounts.flatMap((mt) => [layerOf(mt.upper), mt.lowers[0] ? layerOf(mt.lowers[0]) : null]).filter((x): x is string => !!x));
  const commits = commitCandidates(lab).filter((id) => !imageLayers.has(id) && !containerLayers.has(id));
  const ids = s.ids().filter((id) => !commits.includes(id));
  // 1. The store's layout.
  if (!ids.length) {
    results.push(
      fail(CHECKS.store, t`${storePaths(lab).layers} holds no layer (a directory with diff/ and link)`, t`write the lesson's image and import it: container-lessons demo-image; container-lessons import ${ociDir(lab)} --name ${IMAGE}`, [
        storePaths(lab).layers,
      ]),
    );
    return results;
  }
  const broken: string[] = [];
  for (const id of ids) {
    const i = s.info(id);
    if (s.resolveLink(`l/${i.link}`) !== id) broken.push(t`l/${i.link} does not point at ${id}/diff`);
    for (const e of i.lower) if (!s.resolveLink(e)) broken.push(t`${id}/lower names ${e}, which is not a link to a layer`);
  }
  if (broken.length) {
    results.push(fail(CHECKS.store, broken.slice(0, 3).join('; '), t`each layer needs link (its short id), l/<short id> -> ../<id>/diff, and lower listing the short links below it, nearest first`, [storePaths(lab).layers]));
    return results;
  }
  results.push(pass(CHECKS.store, t`${ids.length} layers, each with diff/, link and l/<short id>; lower files name existing links`, [storePaths(lab).layers, `${storePaths(lab).layers}/l`]));

  // 2. An image and its chain.
  const images = listImages(s).filter((im) => im.layers.every((l) => s.has(l.replace(/^sha256:/, ''))));
  const [firstImage] = images;
  if (!firstImage) {
    results.push(fail(CHECKS.image, t`no image record in ${storePaths(lab).images} whose layers are all in the store`, `container-lessons import ${ociDir(lab)} --name ${IMAGE}`, [storePaths(lab).images]));
    return results;
  }
  results.push(pass(CHECKS.image, images.map((im) => t`${im.name} (${im.layers.length} layers)`).join(', '), [storePaths(lab).images]));

  // 3. A container's mount: init layer first, then an image's layers, top first.
  const mi = '/proc/self/mountinfo';
  if (!mounts.length) {
    results.push(
      fail(CHECKS.mounted, t`no overlay mount has its upperdir in ${storePaths(lab).layers}`, t`make the ${CONTAINER}-init and ${CONTAINER} layers and mount them (see the steps), or run container-lessons solve 7 --keep to look at one`, [
        mi,
      ]),
    );
    return results;
  }
  let judged: CheckResult | null = null;
  let chosen: (typeof mounts)[number] | null = null;
  let imageOf: (typeof images)[number] | null = null;
  for (const mt of mounts) {
    const layers = mt.lowers.map(layerOf);
    const [first, ...rest] = layers;
    const im = images.find((x) => x.layers.length === rest.length && [...x.layers].reverse().every((l, k) => l.replace(/^sha256:/, '') === rest[k]));
    const initOk = !!first && fs.existsSync(path.join(storePaths(lab).layers, first, 'diff', 'etc', 'hostname'));
    if (im && initOk) {
      chosen = mt;
      imageOf = im;
      judged = pass(CHECKS.mounted, t`${mt.m.mountPoint}: lowerdir = ${first} (init: etc/hostname, hosts, resolv.conf), then ${im.name}'s ${rest.length} layers top first; upperdir ${path.relative(storePaths(lab).layers, mt.upper)}`, [mi]);
      break;
    }
    const expected = firstImage;
    const listed = rest.map((r) => (r ? short(r) : '?')).join(':');
    const wanted = [...expected.layers]
      .reverse()
      .map((l) => short(l.replace(/^sha256:/, '')))
      .join(':');
    judged = fail(
      CHECKS.mounted,
      !first
        ? t`${mt.m.mountPoint}: lowerdir ${mt.lowers[0]} is not a layer of ${storePaths(lab).layers}`
        : !initOk
          ? t`${mt.m.mountPoint}: the first lowerdir (${first}) is not an init layer: it has no etc/hostname`
          : t`${mt.m.mountPoint}: below the init layer, lowerdir lists ${listed}, not an image's layers top first (${expected.name}: ${wanted})`,
      t`lowerdir= lists the top layer first: the init layer, then the image from its top layer down to the base (cat <top>/lower gives the order)`,
      [mi],
    );
    chosen = mt;
  }
  results.push(judged!);
  if (!imageOf || !chosen) return results;

  // 4. What a learner sees in merged: the image's whiteouts hide the files below them.
  const merged = chosen.m.mountPoint;
  const hidden: string[] = [];
  for (const l of imageOf.layers) for (const w of listWhiteouts(path.join(storePaths(lab).layers, l.replace(/^sha256:/, ''), 'diff'))) hidden.push(w.path);
  const leaked = hidden.filter((h) => fs.existsSync(path.join(merged, h)));
  results.push(
    leaked.length
      ? fail(CHECKS.merged, t`${leaked.join(', ')} should be hidden by a whiteout in the image but is visible in merged`, t`a whiteout only hides what lies below it: check the lowerdir order`, [merged])
      : pass(CHECKS.merged, t`${hidden.length ? t`${hidden.join(', ')} deleted by a layer above: not in merged` : t`the image deletes nothing`}; ${fs.readdirSync(merged).length} entries at /`, [merged]),
  );

  // 5. A deletion in the container: a whiteout in upper.
  const outs = listWhiteouts(chosen.upper).filter((w) => !fs.existsSync(path.join(merged, w.path)));
  results.push(
    outs.length
      ? pass(CHECKS.whiteout, t`${outs.map((w) => w.path).join(', ')}: character device 0/0 in ${path.relative(storePaths(lab).layers, chosen.upper)}, gone from merged`, [chosen.upper])
      : fail(CHECKS.whiteout, t`${path.relative(storePaths(lab).layers, chosen.upper)} has no whiteout yet`, t`delete a file of the image through merged (rm ${merged}/srv/www/index.html, or inside the container) and look at upper again`, [
          chosen.upper,
        ]),
  );

  // 6. A commit of that upper, on that image.
  results.push(await checkCommits(lab, commits, chosen.upper, imageOf.top));
  return results;
}

/** The store's directories that could be layers (not l/, not a half-made .tmp-/.import-). */
function commitCandidates(lab: Lab): string[] {
  try {
    return fs
      .readdirSync(storePaths(lab).layers, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== 'l' && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/** The commit check: among the store's commits (layers of no image and no container), one
 * that is upper alone as a layer on the image's top, as a commit makes it. When none is, the
 * newest one's first fault is reported, with what to do about it. */
async function checkCommits(lab: Lab, commits: string[], upper: string, top: string): Promise<CheckResult> {
  const L = storePaths(lab).layers;
  const looked = [L, `${L}/l`, upper];
  const upperRel = path.relative(L, upper);
  if (!commits.length) {
    return fail(
      CHECKS.commit,
      t`no commit yet: ${L} has no layer besides the images' and the container's`,
      t`commit ${upperRel} as step 7 shows: a tar of it, its sha256 (the diff id), the chain id on the image's top layer as the new layer's name, the tar unpacked into <name>/diff, then link, l/<short> and lower`,
      looked,
    );
  }
  const verdicts: Array<{ id: string; fault?: { reason: string; hint: string }; pass?: string }> = [];
  for (const id of commits) verdicts.push({ id, ...(await judgeCommit(lab, id, upper, top)) });
  const good = verdicts.find((v) => v.pass);
  if (good?.pass) return pass(CHECKS.commit, good.pass, looked);
  const mtime = (id: string) => fs.statSync(path.join(L, id), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const newest = verdicts.sort((a, b) => mtime(b.id) - mtime(a.id))[0]!;
  const others = verdicts.length === 2 ? t` (1 other in the store, none a commit of ${upperRel} either)` : verdicts.length > 2 ? t` (${verdicts.length - 1} others in the store, none a commit of ${upperRel} either)` : '';
  return fail(CHECKS.commit, `${newest.fault!.reason}${others}`, newest.fault!.hint, looked);
}

const tail = (id: string) => (/^[0-9a-f]{64}$/.test(id) ? `${short(id)}…` : id);

/** One commit, judged: its link and l/ link, its lower, its diff against upper, its name. */
async function judgeCommit(lab: Lab, id: string, upper: string, top: string): Promise<{ fault: { reason: string; hint: string } } | { pass: string }> {
  const L = storePaths(lab).layers;
  const dir = path.join(L, id);
  const at = tail(id);
  const no = (reason: string, hint: string) => ({ fault: { reason: `${at}: ${reason}`, hint } });
  const read = (f: string) => {
    try {
      return fs.readFileSync(path.join(dir, f), 'utf8').trim();
    } catch {
      return null;
    }
  };
  // Its short id, and the link in l/ that names its diff by it.
  const link = read('link');
  if (link === null) return no(t`it has no link file`, t`a layer's link file holds its short id: printf %s $SHORT > $NEW/link, with SHORT=$(tr -dc A-Z2-7 < /dev/urandom | head -c 26)`);
  if (!/^[A-Z0-9]{26}$/.test(link))
    return no(t`its link file holds "${link.slice(0, 40)}", not a short id (26 characters, A-Z and 2-7 as overlay2 makes them)`, 'SHORT=$(tr -dc A-Z2-7 < /dev/urandom | head -c 26); printf %s $SHORT > $NEW/link');
  const linkPath = path.join(L, 'l', link);
  const lst = fs.lstatSync(linkPath, { throwIfNoEntry: false });
  const wanted = path.join(dir, 'diff');
  const fixLink = t`ln -sfn ../${id}/diff l/${link} (run in ${L}: the link is relative to l/)`;
  if (!lst) return no(t`l/${link} is missing: nothing in l/ names this layer's diff`, fixLink);
  if (!lst.isSymbolicLink()) return no(t`l/${link} is not a symbolic link`, `rm -r l/${link}; ${fixLink}`);
  const target = fs.readlinkSync(linkPath);
  const resolved = path.resolve(path.join(L, 'l'), target);
  if (resolved !== wanted)
    return no(t`l/${link} points at ${target}, ${fs.existsSync(resolved) ? t`another directory` : t`which does not exist (a dangling link)`}, not ../${id}/diff`, t`the link goes from l/ up one and into the layer: ${fixLink}`);
  if (!fs.statSync(wanted, { throwIfNoEntry: false })?.isDirectory()) return no(t`it has no diff/ directory`, t`mkdir -p ${id}/diff and unpack the tar of upper into it`);
  // Its lower: the image's layers below it, nearest first.
  const topInfo = store(lab).info(top);
  const expected = [`l/${topInfo.link}`, ...topInfo.lower];
  const lowerText = read('lower');
  const fixLower = t`a commit lies on the image's top layer: its lower is that layer's link, then that layer's own lower: printf %s "l/$(cat $TOP/link):$(cat $TOP/lower)" > $NEW/lower`;
  if (lowerText === null) return no(t`it has no lower file: overlay2 could not mount it on the image`, fixLower);
  const lower = lowerText.split(':').filter(Boolean);
  if (lower.join(':') !== expected.join(':')) {
    const order =
      lower.length === expected.length && [...lower].sort().join() === [...expected].sort().join()
        ? t`the image's links in the wrong order`
        : lower.length < expected.length
          ? t`${expected.length - lower.length} of the image's links missing`
          : t`not the image's links`;
    const should = expected.map((e) => e.slice(0, 9) + '…').join(':');
    return no(
      lower.length
        ? t`its lower lists ${lower.map((e) => e.slice(0, 9) + '…').join(':')}: ${order}; on ${short(top)}… it is ${should} (nearest first)`
        : t`its lower lists nothing: ${order}; on ${short(top)}… it is ${should} (nearest first)`,
      fixLower,
    );
  }
  // Its diff: upper, exactly.
  const diffs = compareLayerTrees(upper, wanted, ['upper', 'diff']);
  if (diffs.length) {
    const [first] = diffs;
    const said = diffs
      .slice(0, 3)
      .map((d) => `${d.path}: ${d.detail}`)
      .join('; ');
    const hint =
      first!.kind === 'whiteout-as-file' || first!.kind === 'whiteout-lost'
        ? t`a deletion is a whiteout, a character device 0/0, and stays one in a commit: unpack the tar of upper as root (tar -x makes device files), or cp -a; a copy that skips devices, or reads through merged, loses it`
        : first!.kind === 'opaque-lost'
          ? t`an opaque directory is marked by an xattr: tar needs ${LAYER_TAR_OPTIONS.filter((o) => o.startsWith('--xattrs')).join(' ')} when it writes and when it unpacks (cp -a keeps xattrs too)`
          : first!.kind === 'extra'
            ? t`a commit holds upper alone (tar -C ${path.relative(L, upper)}): not the init layer's etc/hostname, hosts, resolv.conf, not merged; if upper changed after the commit, commit again`
            : first!.kind === 'missing'
              ? t`the commit lacks what ${path.relative(L, upper)} holds: commit again from it (a change made after a commit needs a commit of its own)`
              : t`unpack the tar as root, which keeps modes and owners (or cp -a)`;
    return no(t`its diff is not upper: ${said}${diffs.length > 3 ? t`, and ${diffs.length - 3} more` : ''}`, hint);
  }
  // Its name: the chain id of its diff on the image's top layer.
  let diffId: string;
  try {
    diffId = await diffIdOf(wanted);
  } catch (err) {
    return no(t`its diff id could not be computed: ${(err as Error).message}`, err instanceof HintedError && err.hint ? err.hint : t`run the check as root`);
  }
  const chainId = chainIdOf(`sha256:${top}`, diffId);
  if (chainId !== `sha256:${id}`) {
    // Named right for upper's tar, but diff's own tar differs: the files are the same (compared
    // above), so times or the like changed in diff after it was unpacked.
    const ofUpper = await diffIdOf(upper).then(
      (d) => chainIdOf(`sha256:${top}`, d),
      () => null,
    );
    if (ofUpper === `sha256:${id}`)
      return no(
        t`its name is the chain id of upper's tar, but the tar of its diff differs (diff id ${diffId.slice(0, 19)}…): the files are the same, so their times changed in diff after the commit (adding and removing a file changes its directory's mtime)`,
        t`unpack upper's tar again, in ${L}: rm -rf ${id}/diff; mkdir ${id}/diff; ${tarCreate(path.relative(L, upper), '-')} | ${tarExtract('-', `${id}/diff`)}`,
      );
    return no(
      t`its name is not its chain id: its diff id is ${diffId.slice(0, 19)}…, which on the image's top layer ${short(top)}… gives ${chainId.slice(7, 19)}…`,
      t`name the layer by its chain id: DIFFID=sha256:$(sha256sum < web1.tar | cut -c1-64) of the tar made by ${tarCreate('web1/diff', 'web1.tar')}; NEW=$(printf 'sha256:%s %s' $TOP $DIFFID | sha256sum | cut -c1-64); then mv the layer to $NEW and point l/${link} at ../$NEW/diff`,
    );
  }
  const outs = listWhiteouts(wanted).length;
  return {
    pass: t`${at} = chain id of diff id ${diffId.slice(0, 19)}… on ${short(top)}…; link ${link}, l/${link} -> ../${at}/diff; lower: the image's ${expected.length} links, top first; diff holds exactly upper${outs ? t` (whiteouts included: ${outs})` : ''}`,
  };
}
