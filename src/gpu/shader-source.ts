/** Where WGSL text comes from: files under `shaders/` in Node, fetched URLs in a browser. */
export type ShaderSource = (name: string) => Promise<string>;

export function fetchShaderSource(baseUrl: string): ShaderSource {
  return async (name) => {
    const url = `${baseUrl.replace(/\/$/, '')}/${name}.wgsl`;
    const res = await fetch(url);
    if (!res.ok) throw new Error(`shader ${name}: GET ${url} answered ${res.status}`);
    return res.text();
  };
}
