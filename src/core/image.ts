// Container images, in the two forms they travel in, unpacked into the layer store:
//
//   docker save     manifest.json -> <config>.json + <id>/layer.tar per layer (Docker 25+ points
//                   the same manifest.json into blobs/sha256/ instead)
//   OCI layout      oci-layout, index.json -> (index ->) manifest -> config + layer blobs, all
//                   under blobs/sha256/<hex>, named by their sha256
//
// Nothing is trusted before it is checked: every blob against its digest, every layer's
// uncompressed tar against the diff id the config lists for it. A layer is keyed by its chain
// id, so an image that shares base layers with one imported before reuses them as they are.
// Tar reading and writing is node-tar's; what overlayfs needs beyond a plain extraction
// (whiteouts, opaque directories, device nodes, symlinks kept verbatim) is done in
// image-unpack.ts.
//
// This file is the public face; the work is in four parts, one file each:
//   image-manifest.ts   reading manifests, indexes and configs into a plan of layers
//   image-unpack.ts     an archive into a directory, a layer tar into a diff directory
//   image-import.ts     the store side: importImage, listImages
//   image-write.ts      writeImage
// beside image-digest.ts (sha256 naming) and image-error.ts (ImageError and its hints).
export { ImageError } from './image-error.js';
export { importImage, listImages, type ImportedImage, type ImportedLayer } from './image-import.js';
export { writeImage } from './image-write.js';
