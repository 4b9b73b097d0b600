// An OCI image layout written by hand around raw layer tars, for importing what another tool
// might write (or what no honest tool writes).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The media type of a layer blob, by its first bytes. */
function layerType(blob: Buffer): string {
  if (blob.readUInt32LE(0) === 0xfd2fb528) return 'application/vnd.oci.image.layer.v1.tar+zstd';
  if (blob[0] === 0x1f && blob[1] === 0x8b) return 'application/vnd.oci.image.layer.v1.tar+gzip';
  return 'application/vnd.oci.image.layer.v1.tar';
}

/** Write `dir` as an OCI layout of one image whose layer blobs are `tars`, base first (their
 * uncompressed tars `plain`, when they are compressed: the config's diff ids); with `tag`, its
 * manifest carries that name (umoci finds an image by it). Returns `dir`. */
export function ociOf(dir: string, tars: Buffer[], tag?: string, plain: Buffer[] = tars): string {
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    const hex = crypto.createHash('sha256').update(b).digest('hex');
    fs.writeFileSync(path.join(blobs, hex), b);
    return { digest: `sha256:${hex}`, size: b.length };
  };
  const ls = tars.map(put);
  const diffIds = plain.map((b) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`);
  const config = put(Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } })));
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: ls.map((l, i) => ({ mediaType: layerType(tars[i]!), ...l })),
      }),
    ),
  );
  const annotations = tag ? { annotations: { 'org.opencontainers.image.ref.name': tag } } : {};
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, ...annotations }] }));
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  return dir;
}
