// node scripts/bench-conv-kernel/sweep-cases.mjs > scripts/bench-conv-kernel/sweep.json
// The session-13 sweep of the merged EternalConvKernel (hostpack + hostdot) for run.mjs: the
// shapes below, each in int8 and int16 (where kw ≤ L − 1: L = 8 / 6 lanes), under default
// inputs, F0=1 and F0=3 (where f allows), EXTREME=1, EXTREME=-1, INSCALE=2 and INSCALE=1.5.
// A case that ConvBase._hosts' geometric rule (ported below; the lane bound holds for inputs
// in [-1, 1]) takes is marked {"host": true}, so run.mjs fails unless the trace shows the
// STATICCALL to the kernel; one it does not take {"host": false} (listed on stderr), so the
// port is checked both ways. Since branch `hostrule` widened the rule, _hosts takes every
// shape here (the layer's own lanes at these shapes: the `_s2` lane-bound fixtures and
// `hostrule`'s forced runs in BENCHMARKS.md).
// INSCALE cases are left unmarked: their lane bound may send them to the layer's own lanes
// (run.mjs reports which — at 2 every one, at 1.5 those whose taps are at most ≈ 0.56 of a
// power of two, the lane sums then within ≈ 12 % of the sign bit). The shapes cover kw 2…7,
// kh 1…5, cin 1…8, f 2…20 (every f mod 6), valid, same and causal padding, a row slice's
// padding above or below only, last groups of 0…Q−1 pixels for every Q, stride 2 along the
// height, one-row outputs and Conv1D-like h = 1. Should _hosts' rule change, port it here
// and write sweep.json again.
const shapes = [
  // [name, h, w, cin, f, kh, kw, sh, padding]
  ["k3 same f6", 8, 13, 2, 6, 3, 3, 1, "same"],
  ["k3 valid f7", 9, 14, 3, 7, 3, 3, 1, "valid"],
  ["k2 same f1", 5, 11, 1, 1, 2, 2, 1, "same"],
  ["k2 valid f12", 6, 16, 4, 12, 2, 2, 1, "valid"],
  ["k4 same f8", 7, 12, 2, 8, 4, 4, 1, "same"],
  ["k4 valid f9", 8, 17, 1, 9, 3, 4, 1, "valid"],
  ["k5 same f10", 9, 15, 2, 10, 5, 5, 1, "same"],
  ["k5 valid f11", 10, 18, 3, 11, 5, 5, 1, "valid"],
  ["k6 same f13", 6, 14, 2, 13, 2, 6, 1, "same"],
  ["k7 valid f14", 5, 20, 1, 14, 3, 7, 1, "valid"],
  ["k7 same f20", 4, 16, 2, 20, 1, 7, 1, "same"],
  ["k6 valid f17", 7, 19, 1, 17, 4, 6, 1, "valid"],
  ["cin5 k3 f15", 6, 10, 5, 15, 3, 3, 1, "same"],
  ["cin8 k3 f16", 5, 9, 8, 16, 3, 3, 1, "same"],
  ["cin6 k5 f16 (conv2-like)", 8, 11, 6, 16, 5, 5, 1, "same"],
  ["cin7 k2 f18", 4, 13, 7, 18, 2, 2, 1, "valid"],
  ["sh2 k3 f8", 11, 12, 2, 8, 3, 3, 2, "same"],
  ["sh2 k5 f6 valid", 12, 14, 1, 6, 5, 5, 2, "valid"],
  ["sh2 k4 f19", 9, 15, 3, 19, 4, 4, 2, "same"],
  ["sh2 k2 f5", 8, 18, 2, 5, 2, 2, 2, "valid"],
  ["one row k3 f9", 3, 17, 2, 9, 3, 3, 1, "valid"],
  ["one row k5 f4", 5, 13, 3, 4, 5, 5, 1, "valid"],
  ["one row sh2 k4 f10", 4, 21, 1, 10, 4, 4, 2, "valid"],
  ["conv1d k3 f8", 1, 23, 4, 8, 1, 3, 1, "valid"],
  ["conv1d k5 f12 same", 1, 19, 2, 12, 1, 5, 1, "same"],
  ["conv1d k2 f3", 1, 26, 1, 3, 1, 2, 1, "same"],
  ["conv1d k7 f7", 1, 22, 3, 7, 1, 7, 1, "valid"],
  ["k3 f2 wide", 4, 29, 1, 2, 3, 3, 1, "same"],
  ["k4 f4 same", 6, 10, 4, 4, 4, 4, 1, "same"],
  ["k2 f19 same", 5, 7, 3, 19, 2, 2, 1, "same"],
  ["k5 f1 valid", 8, 20, 1, 1, 5, 5, 1, "valid"],
  ["k3 f13 w5", 5, 5, 2, 13, 3, 3, 1, "same"],
  ["k6 f6 same", 3, 11, 3, 6, 3, 6, 1, "same"],
  ["k5 f20 w9", 6, 9, 2, 20, 5, 5, 1, "same"],
  // last groups the shapes above miss
  ["k7 valid ow13", 4, 19, 2, 12, 2, 7, 1, "valid"],
  ["k6 same w12", 3, 12, 2, 16, 2, 6, 1, "same"],
  ["k6 same w13", 4, 13, 1, 18, 3, 6, 1, "same"],
  ["k5 same w16", 5, 16, 2, 12, 5, 5, 1, "same"],
  ["k4 same w11", 4, 11, 3, 14, 2, 4, 1, "same"],
  ["k3 same w14", 5, 14, 2, 9, 3, 3, 1, "same"],
  ["k2 same w8", 4, 8, 2, 12, 2, 2, 1, "same"],
  ["k2 same w9", 3, 9, 3, 16, 3, 2, 1, "same"],
  ["k2 same w11 f17", 4, 11, 1, 17, 2, 2, 1, "same"],
  ["k2 valid ow13", 3, 14, 2, 11, 1, 2, 1, "valid"],
  ["k2 same w16 f18", 3, 16, 2, 18, 2, 2, 1, "same"],
  ["k2 same w20 f18", 2, 20, 3, 18, 2, 2, 1, "same"],
  // Conv1D causal (h = 1, all kw − 1 padding columns on the left: pl = kw − 1)
  ["conv1d causal k2 f5 (conv1d_causal_strided)", 1, 6, 4, 5, 1, 2, 1, "causal"],
  ["conv1d causal k3 f12", 1, 17, 2, 12, 1, 3, 1, "causal"],
  ["conv1d causal k5 f16", 1, 13, 3, 16, 1, 5, 1, "causal"],
  ["conv1d causal k7 f18", 1, 22, 2, 18, 1, 7, 1, "causal"],
  // row slices of a same-padded Conv2D (Conv2DLayer._windowRows): the top slice (padding rows
  // above only) and the bottom one (below only)
  ["top slice k5 f16", 6, 14, 6, 16, 5, 5, 1, "top"],
  ["bottom slice k5 f16", 6, 14, 6, 16, 5, 5, 1, "bottom"],
  ["top slice k3 f8 sh2", 7, 13, 2, 8, 3, 3, 2, "top"],
  ["bottom slice k4 f12 sh2", 8, 11, 3, 12, 4, 4, 2, "bottom"],
  ["top slice k5 f6 (conv1-like)", 4, 28, 1, 6, 5, 5, 1, "top"],
  ["bottom slice k5 f6 (conv1-like)", 4, 28, 1, 6, 5, 5, 1, "bottom"],
];
function geometry([, h, w, cin, f, kh, kw, sh, padding]) {
  if (padding === "causal") return [h, w, cin, f, kh, kw, sh, 1, h, w, 0, kw - 1];
  if (padding === "top" || padding === "bottom") {
    const pt = padding === "top" ? Math.floor((kh - 1) / 2) : 0;
    const below = padding === "bottom" ? kh - 1 - Math.floor((kh - 1) / 2) : 0;
    return [h, w, cin, f, kh, kw, sh, 1, Math.floor((h + pt + below - kh) / sh) + 1, w, pt, Math.floor((kw - 1) / 2)];
  }
  if (padding === "valid") return [h, w, cin, f, kh, kw, sh, 1, Math.floor((h - kh) / sh) + 1, w - kw + 1, 0, 0];
  const oh = Math.ceil(h / sh);
  return [h, w, cin, f, kh, kw, sh, 1, oh, w, Math.floor(Math.max((oh - 1) * sh + kh - h, 0) / 2), Math.floor((kw - 1) / 2)];
}
// ConvBase._byPixel, _muls, _widest (e > 0) and _hosts' rule without the lane bound.
function byPixel(g, lanes) {
  const [, , , f, kh, kw, sh, sw, , ow] = g;
  if (kh * kw < 4 * sh * sw) return false;
  if (lanes == 3) return f <= 6 && Math.floor((ow + 2) / 3) * f * 3 < ow * Math.floor((f + 2) / 3) * (f > 3 ? 4 : 3);
  const px = Math.floor((ow + lanes - 1) / lanes) * f, byF = ow * Math.floor((f + lanes - 1) / lanes);
  return f > lanes ? px <= byF : 7 * px <= 8 * byF;
}
function muls(g, lanes) {
  const [, , , f, , , , , , ow] = g;
  return byPixel(g, lanes) ? Math.floor((ow + lanes - 1) / lanes) * f : ow * Math.floor((f + lanes - 1) / lanes);
}
function widest(g, width) {
  let wide = width == 1 ? 8 : 6;
  const px = byPixel(g, wide);
  if ((px ? 3 : 5) * muls(g, wide) > (px ? 2 : 3) * muls(g, 3) || (g[3] <= 6 && !px)) wide = 3;
  return wide;
}
function hosts(g, width) {
  const [, , , f, , kw, , sw, , ow] = g;
  const lanes = width == 1 ? 8 : 6;
  if (sw != 1 || kw < 2 || kw >= lanes) return false;
  const hosted = Math.floor((ow + lanes - kw) / (lanes - kw + 1)) * Math.floor((f + 5) / 6) * 6;
  const own = kw * muls(g, widest(g, width));
  if (4 * hosted <= 3 * own) return true;
  // Above 3/4: at least 2k output columns and 16k own multiplications in all, k = 2 past six filters.
  const k = f > 6 ? 2 : 1;
  return ow >= 2 * k && own * g[8] * g[4] * g[2] >= 16 * k;
}
const cases = [];
const notHosted = [];
for (const s of shapes) {
  const g = geometry(s);
  for (const width of [1, 2]) {
    const L = width == 1 ? 8 : 6;
    if (g[5] > L - 1) continue;
    const q = L - g[5] + 1;
    const tag = `${s[0]} ${width == 1 ? "int8" : "int16"} [${g.join(",")}] Q${q} last${g[9] % q}`;
    for (const [v, opt] of [["", {}], ["F0=1", { f0: 1 }], ["F0=3", { f0: 3 }], ["EXT=1", { extreme: 1 }], ["EXT=-1", { extreme: -1 }], ["INSCALE=2", { inscale: 2 }], ["INSCALE=1.5", { inscale: 1.5 }]]) {
      const f = g[3] - (opt.f0 || 0);
      if (f < 1) continue;
      const sg = g.slice(); sg[3] = f;
      const host = hosts(sg, width);
      if (!host) notHosted.push(`${tag} ${v}`);
      cases.push([`${tag} ${v}`.trim(), g, width, opt.inscale ? opt : { ...opt, host }]);
    }
  }
}
console.error(`${cases.length} cases; not hosted by _hosts' rule: ${notHosted.length}\n  ${notHosted.join("\n  ")}`);
console.log("[\n" + cases.map((c) => "  " + JSON.stringify(c)).join(",\n") + "\n]");
