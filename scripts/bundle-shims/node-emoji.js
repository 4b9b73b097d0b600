// node-emoji for the bundle: render.ts turns marked-terminal's emoji option off (a path
// like lower:b:c is not an emoji), so its table of emoji names is never read.
export function get() {
  return undefined;
}
