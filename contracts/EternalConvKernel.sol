// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title EternalConvKernel
/// @notice The dot loop and emit of a narrowed (int8/int16) convolution, several taps a
///         multiplication (polykernel's `_convolvePoly`), hosted in a contract of its own so that
///         Conv2DLayer/Conv1DLayer keep their other paths within EIP-170. Stateless; one shared
///         instance at `ConvKernelAddress.CONV_KERNEL`, STATICCALLed by ConvBase. Measured in
///         branch `convhost` (scripts/bench-conv-host): via-IR, no better under legacy codegen.
/// @dev Calldata (no selector), words:
///      0 reserved (0), 1 b (lane bits), 2 b·(kw − 1), 3 half a lane in every lane,
///      4 Q (pixels a group), 5 f, 6 oh, 7 ow, 8 pt, 9 h, 10 kh, 11 cin, 12 hp, 13 sh,
///      14 byte offset of the packed input xs, 15 of the kernel words ws, 16 of the terms,
///      17 e (the input shift), 18 w, 19 width (bytes a stored value), 20 F (stored filters),
///      21 f0, 22 kw, 23 L, 24 byte offset of the raw inputs, 25 of the raw kernel, 26 raw
///      (0: xs and ws given, copied to memory; 1: packed here from the raw inputs and kernel),
///      27 pl. Once packed, memory words 17–28 hold the current block's terms and word 30 an
///      output row's bytes (see the block loop at the end).
///      xs: word (gi·hp + y)·cin + ci holds lanes j < L of x'(y, gi·Q + j, ci) (padded rows and
///      columns, stride 1; packed here (raw 1): the h real rows only, word (gi·h + y − pt)·cin +
///      ci, as padding rows are never read); ws: blocks of six filters, word (blk·kh·cin + ky·cin + ci)·6 + k is
///      filter blk·6 + k's window row (ky, ci), taps reversed, b-bit lanes; terms: per filter
///      (five spare filters of zeros past f) m and bias·2^32 − 2^(b−1)·m. Returns the
///      oh·ow·f outputs (S·m + bias·2^32) >> 32, pixel-major.
contract EternalConvKernel {
    fallback() external {
        assembly {
            // Accumulators of six (four, two) filters: half a lane in every lane (see emit) plus
            // the packed input words [xa, xe) (memory), each times the filters' kernel words
            // from wp (six a window row and input word, of which the first four or two are
            // read): an odd word, two, four, eight, then sixteen a pass.
            function dot6(xa, xe, wp) -> c0, c1, c2, c3, c4, c5 {
                c0 := mload(0x60)
                c1 := c0
                c2 := c0
                c3 := c0
                c4 := c0
                c5 := c0
                if and(sub(xe, xa), 0x20) {
                    let v := mload(xa)
                    c0 := add(c0, mul(v, mload(wp)))
                    c1 := add(c1, mul(v, mload(add(wp, 0x20))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x40))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x60))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x80))))
                    c5 := add(c5, mul(v, mload(add(wp, 0xa0))))
                    xa := add(xa, 0x20)
                    wp := add(wp, 0xc0)
                }
                if and(sub(xe, xa), 0x40) {
                    let v := mload(xa)
                    c0 := add(c0, mul(v, mload(wp)))
                    c1 := add(c1, mul(v, mload(add(wp, 0x20))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x40))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x60))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x80))))
                    c5 := add(c5, mul(v, mload(add(wp, 0xa0))))
                    v := mload(add(xa, 0x20))
                    c0 := add(c0, mul(v, mload(add(wp, 0xc0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xe0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x100))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x120))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x140))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x160))))
                    xa := add(xa, 0x40)
                    wp := add(wp, 0x180)
                }
                if and(sub(xe, xa), 0x80) {
                    let v := mload(xa)
                    c0 := add(c0, mul(v, mload(wp)))
                    c1 := add(c1, mul(v, mload(add(wp, 0x20))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x40))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x60))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x80))))
                    c5 := add(c5, mul(v, mload(add(wp, 0xa0))))
                    v := mload(add(xa, 0x20))
                    c0 := add(c0, mul(v, mload(add(wp, 0xc0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xe0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x100))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x120))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x140))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x160))))
                    v := mload(add(xa, 0x40))
                    c0 := add(c0, mul(v, mload(add(wp, 0x180))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x1a0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x1c0))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x1e0))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x200))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x220))))
                    v := mload(add(xa, 0x60))
                    c0 := add(c0, mul(v, mload(add(wp, 0x240))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x260))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x280))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x2a0))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x2c0))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x2e0))))
                    xa := add(xa, 0x80)
                    wp := add(wp, 0x300)
                }
                if and(sub(xe, xa), 0x100) {
                    let v := mload(xa)
                    c0 := add(c0, mul(v, mload(wp)))
                    c1 := add(c1, mul(v, mload(add(wp, 0x20))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x40))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x60))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x80))))
                    c5 := add(c5, mul(v, mload(add(wp, 0xa0))))
                    v := mload(add(xa, 0x20))
                    c0 := add(c0, mul(v, mload(add(wp, 0xc0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xe0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x100))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x120))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x140))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x160))))
                    v := mload(add(xa, 0x40))
                    c0 := add(c0, mul(v, mload(add(wp, 0x180))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x1a0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x1c0))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x1e0))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x200))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x220))))
                    v := mload(add(xa, 0x60))
                    c0 := add(c0, mul(v, mload(add(wp, 0x240))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x260))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x280))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x2a0))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x2c0))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x2e0))))
                    v := mload(add(xa, 0x80))
                    c0 := add(c0, mul(v, mload(add(wp, 0x300))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x320))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x340))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x360))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x380))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x3a0))))
                    v := mload(add(xa, 0xa0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x3c0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x3e0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x400))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x420))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x440))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x460))))
                    v := mload(add(xa, 0xc0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x480))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x4a0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x4c0))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x4e0))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x500))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x520))))
                    v := mload(add(xa, 0xe0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x540))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x560))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x580))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x5a0))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x5c0))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x5e0))))
                    xa := add(xa, 0x100)
                    wp := add(wp, 0x600)
                }
                for {} lt(xa, xe) {
                    xa := add(xa, 0x200)
                    wp := add(wp, 0xc00)
                } {
                    let v := mload(xa)
                    c0 := add(c0, mul(v, mload(wp)))
                    c1 := add(c1, mul(v, mload(add(wp, 0x20))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x40))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x60))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x80))))
                    c5 := add(c5, mul(v, mload(add(wp, 0xa0))))
                    v := mload(add(xa, 0x20))
                    c0 := add(c0, mul(v, mload(add(wp, 0xc0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xe0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x100))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x120))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x140))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x160))))
                    v := mload(add(xa, 0x40))
                    c0 := add(c0, mul(v, mload(add(wp, 0x180))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x1a0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x1c0))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x1e0))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x200))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x220))))
                    v := mload(add(xa, 0x60))
                    c0 := add(c0, mul(v, mload(add(wp, 0x240))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x260))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x280))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x2a0))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x2c0))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x2e0))))
                    v := mload(add(xa, 0x80))
                    c0 := add(c0, mul(v, mload(add(wp, 0x300))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x320))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x340))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x360))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x380))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x3a0))))
                    v := mload(add(xa, 0xa0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x3c0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x3e0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x400))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x420))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x440))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x460))))
                    v := mload(add(xa, 0xc0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x480))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x4a0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x4c0))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x4e0))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x500))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x520))))
                    v := mload(add(xa, 0xe0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x540))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x560))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x580))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x5a0))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x5c0))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x5e0))))
                    v := mload(add(xa, 0x100))
                    c0 := add(c0, mul(v, mload(add(wp, 0x600))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x620))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x640))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x660))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x680))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x6a0))))
                    v := mload(add(xa, 0x120))
                    c0 := add(c0, mul(v, mload(add(wp, 0x6c0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x6e0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x700))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x720))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x740))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x760))))
                    v := mload(add(xa, 0x140))
                    c0 := add(c0, mul(v, mload(add(wp, 0x780))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x7a0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x7c0))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x7e0))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x800))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x820))))
                    v := mload(add(xa, 0x160))
                    c0 := add(c0, mul(v, mload(add(wp, 0x840))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x860))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x880))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x8a0))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x8c0))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x8e0))))
                    v := mload(add(xa, 0x180))
                    c0 := add(c0, mul(v, mload(add(wp, 0x900))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x920))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x940))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x960))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x980))))
                    c5 := add(c5, mul(v, mload(add(wp, 0x9a0))))
                    v := mload(add(xa, 0x1a0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x9c0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x9e0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0xa00))))
                    c3 := add(c3, mul(v, mload(add(wp, 0xa20))))
                    c4 := add(c4, mul(v, mload(add(wp, 0xa40))))
                    c5 := add(c5, mul(v, mload(add(wp, 0xa60))))
                    v := mload(add(xa, 0x1c0))
                    c0 := add(c0, mul(v, mload(add(wp, 0xa80))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xaa0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0xac0))))
                    c3 := add(c3, mul(v, mload(add(wp, 0xae0))))
                    c4 := add(c4, mul(v, mload(add(wp, 0xb00))))
                    c5 := add(c5, mul(v, mload(add(wp, 0xb20))))
                    v := mload(add(xa, 0x1e0))
                    c0 := add(c0, mul(v, mload(add(wp, 0xb40))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xb60))))
                    c2 := add(c2, mul(v, mload(add(wp, 0xb80))))
                    c3 := add(c3, mul(v, mload(add(wp, 0xba0))))
                    c4 := add(c4, mul(v, mload(add(wp, 0xbc0))))
                    c5 := add(c5, mul(v, mload(add(wp, 0xbe0))))
                }
            }
            function dot4(xa, xe, wp) -> c0, c1, c2, c3 {
                c0 := mload(0x60)
                c1 := c0
                c2 := c0
                c3 := c0
                if and(sub(xe, xa), 0x20) {
                    let v := mload(xa)
                    c0 := add(c0, mul(v, mload(wp)))
                    c1 := add(c1, mul(v, mload(add(wp, 0x20))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x40))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x60))))
                    xa := add(xa, 0x20)
                    wp := add(wp, 0xc0)
                }
                if and(sub(xe, xa), 0x40) {
                    let v := mload(xa)
                    c0 := add(c0, mul(v, mload(wp)))
                    c1 := add(c1, mul(v, mload(add(wp, 0x20))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x40))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x60))))
                    v := mload(add(xa, 0x20))
                    c0 := add(c0, mul(v, mload(add(wp, 0xc0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xe0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x100))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x120))))
                    xa := add(xa, 0x40)
                    wp := add(wp, 0x180)
                }
                if and(sub(xe, xa), 0x80) {
                    let v := mload(xa)
                    c0 := add(c0, mul(v, mload(wp)))
                    c1 := add(c1, mul(v, mload(add(wp, 0x20))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x40))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x60))))
                    v := mload(add(xa, 0x20))
                    c0 := add(c0, mul(v, mload(add(wp, 0xc0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xe0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x100))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x120))))
                    v := mload(add(xa, 0x40))
                    c0 := add(c0, mul(v, mload(add(wp, 0x180))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x1a0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x1c0))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x1e0))))
                    v := mload(add(xa, 0x60))
                    c0 := add(c0, mul(v, mload(add(wp, 0x240))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x260))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x280))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x2a0))))
                    xa := add(xa, 0x80)
                    wp := add(wp, 0x300)
                }
                if and(sub(xe, xa), 0x100) {
                    let v := mload(xa)
                    c0 := add(c0, mul(v, mload(wp)))
                    c1 := add(c1, mul(v, mload(add(wp, 0x20))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x40))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x60))))
                    v := mload(add(xa, 0x20))
                    c0 := add(c0, mul(v, mload(add(wp, 0xc0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xe0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x100))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x120))))
                    v := mload(add(xa, 0x40))
                    c0 := add(c0, mul(v, mload(add(wp, 0x180))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x1a0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x1c0))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x1e0))))
                    v := mload(add(xa, 0x60))
                    c0 := add(c0, mul(v, mload(add(wp, 0x240))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x260))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x280))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x2a0))))
                    v := mload(add(xa, 0x80))
                    c0 := add(c0, mul(v, mload(add(wp, 0x300))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x320))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x340))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x360))))
                    v := mload(add(xa, 0xa0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x3c0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x3e0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x400))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x420))))
                    v := mload(add(xa, 0xc0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x480))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x4a0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x4c0))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x4e0))))
                    v := mload(add(xa, 0xe0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x540))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x560))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x580))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x5a0))))
                    xa := add(xa, 0x100)
                    wp := add(wp, 0x600)
                }
                for {} lt(xa, xe) {
                    xa := add(xa, 0x200)
                    wp := add(wp, 0xc00)
                } {
                    let v := mload(xa)
                    c0 := add(c0, mul(v, mload(wp)))
                    c1 := add(c1, mul(v, mload(add(wp, 0x20))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x40))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x60))))
                    v := mload(add(xa, 0x20))
                    c0 := add(c0, mul(v, mload(add(wp, 0xc0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xe0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x100))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x120))))
                    v := mload(add(xa, 0x40))
                    c0 := add(c0, mul(v, mload(add(wp, 0x180))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x1a0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x1c0))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x1e0))))
                    v := mload(add(xa, 0x60))
                    c0 := add(c0, mul(v, mload(add(wp, 0x240))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x260))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x280))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x2a0))))
                    v := mload(add(xa, 0x80))
                    c0 := add(c0, mul(v, mload(add(wp, 0x300))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x320))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x340))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x360))))
                    v := mload(add(xa, 0xa0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x3c0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x3e0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x400))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x420))))
                    v := mload(add(xa, 0xc0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x480))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x4a0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x4c0))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x4e0))))
                    v := mload(add(xa, 0xe0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x540))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x560))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x580))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x5a0))))
                    v := mload(add(xa, 0x100))
                    c0 := add(c0, mul(v, mload(add(wp, 0x600))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x620))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x640))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x660))))
                    v := mload(add(xa, 0x120))
                    c0 := add(c0, mul(v, mload(add(wp, 0x6c0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x6e0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x700))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x720))))
                    v := mload(add(xa, 0x140))
                    c0 := add(c0, mul(v, mload(add(wp, 0x780))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x7a0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x7c0))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x7e0))))
                    v := mload(add(xa, 0x160))
                    c0 := add(c0, mul(v, mload(add(wp, 0x840))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x860))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x880))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x8a0))))
                    v := mload(add(xa, 0x180))
                    c0 := add(c0, mul(v, mload(add(wp, 0x900))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x920))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x940))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x960))))
                    v := mload(add(xa, 0x1a0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x9c0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x9e0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0xa00))))
                    c3 := add(c3, mul(v, mload(add(wp, 0xa20))))
                    v := mload(add(xa, 0x1c0))
                    c0 := add(c0, mul(v, mload(add(wp, 0xa80))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xaa0))))
                    c2 := add(c2, mul(v, mload(add(wp, 0xac0))))
                    c3 := add(c3, mul(v, mload(add(wp, 0xae0))))
                    v := mload(add(xa, 0x1e0))
                    c0 := add(c0, mul(v, mload(add(wp, 0xb40))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xb60))))
                    c2 := add(c2, mul(v, mload(add(wp, 0xb80))))
                    c3 := add(c3, mul(v, mload(add(wp, 0xba0))))
                }
            }
            function dot2(xa, xe, wp) -> c0, c1 {
                c0 := mload(0x60)
                c1 := c0
                if and(sub(xe, xa), 0x20) {
                    let v := mload(xa)
                    c0 := add(c0, mul(v, mload(wp)))
                    c1 := add(c1, mul(v, mload(add(wp, 0x20))))
                    xa := add(xa, 0x20)
                    wp := add(wp, 0xc0)
                }
                if and(sub(xe, xa), 0x40) {
                    let v := mload(xa)
                    c0 := add(c0, mul(v, mload(wp)))
                    c1 := add(c1, mul(v, mload(add(wp, 0x20))))
                    v := mload(add(xa, 0x20))
                    c0 := add(c0, mul(v, mload(add(wp, 0xc0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xe0))))
                    xa := add(xa, 0x40)
                    wp := add(wp, 0x180)
                }
                if and(sub(xe, xa), 0x80) {
                    let v := mload(xa)
                    c0 := add(c0, mul(v, mload(wp)))
                    c1 := add(c1, mul(v, mload(add(wp, 0x20))))
                    v := mload(add(xa, 0x20))
                    c0 := add(c0, mul(v, mload(add(wp, 0xc0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xe0))))
                    v := mload(add(xa, 0x40))
                    c0 := add(c0, mul(v, mload(add(wp, 0x180))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x1a0))))
                    v := mload(add(xa, 0x60))
                    c0 := add(c0, mul(v, mload(add(wp, 0x240))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x260))))
                    xa := add(xa, 0x80)
                    wp := add(wp, 0x300)
                }
                if and(sub(xe, xa), 0x100) {
                    let v := mload(xa)
                    c0 := add(c0, mul(v, mload(wp)))
                    c1 := add(c1, mul(v, mload(add(wp, 0x20))))
                    v := mload(add(xa, 0x20))
                    c0 := add(c0, mul(v, mload(add(wp, 0xc0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xe0))))
                    v := mload(add(xa, 0x40))
                    c0 := add(c0, mul(v, mload(add(wp, 0x180))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x1a0))))
                    v := mload(add(xa, 0x60))
                    c0 := add(c0, mul(v, mload(add(wp, 0x240))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x260))))
                    v := mload(add(xa, 0x80))
                    c0 := add(c0, mul(v, mload(add(wp, 0x300))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x320))))
                    v := mload(add(xa, 0xa0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x3c0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x3e0))))
                    v := mload(add(xa, 0xc0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x480))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x4a0))))
                    v := mload(add(xa, 0xe0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x540))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x560))))
                    xa := add(xa, 0x100)
                    wp := add(wp, 0x600)
                }
                for {} lt(xa, xe) {
                    xa := add(xa, 0x200)
                    wp := add(wp, 0xc00)
                } {
                    let v := mload(xa)
                    c0 := add(c0, mul(v, mload(wp)))
                    c1 := add(c1, mul(v, mload(add(wp, 0x20))))
                    v := mload(add(xa, 0x20))
                    c0 := add(c0, mul(v, mload(add(wp, 0xc0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xe0))))
                    v := mload(add(xa, 0x40))
                    c0 := add(c0, mul(v, mload(add(wp, 0x180))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x1a0))))
                    v := mload(add(xa, 0x60))
                    c0 := add(c0, mul(v, mload(add(wp, 0x240))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x260))))
                    v := mload(add(xa, 0x80))
                    c0 := add(c0, mul(v, mload(add(wp, 0x300))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x320))))
                    v := mload(add(xa, 0xa0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x3c0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x3e0))))
                    v := mload(add(xa, 0xc0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x480))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x4a0))))
                    v := mload(add(xa, 0xe0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x540))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x560))))
                    v := mload(add(xa, 0x100))
                    c0 := add(c0, mul(v, mload(add(wp, 0x600))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x620))))
                    v := mload(add(xa, 0x120))
                    c0 := add(c0, mul(v, mload(add(wp, 0x6c0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x6e0))))
                    v := mload(add(xa, 0x140))
                    c0 := add(c0, mul(v, mload(add(wp, 0x780))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x7a0))))
                    v := mload(add(xa, 0x160))
                    c0 := add(c0, mul(v, mload(add(wp, 0x840))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x860))))
                    v := mload(add(xa, 0x180))
                    c0 := add(c0, mul(v, mload(add(wp, 0x900))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x920))))
                    v := mload(add(xa, 0x1a0))
                    c0 := add(c0, mul(v, mload(add(wp, 0x9c0))))
                    c1 := add(c1, mul(v, mload(add(wp, 0x9e0))))
                    v := mload(add(xa, 0x1c0))
                    c0 := add(c0, mul(v, mload(add(wp, 0xa80))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xaa0))))
                    v := mload(add(xa, 0x1e0))
                    c0 := add(c0, mul(v, mload(add(wp, 0xb40))))
                    c1 := add(c1, mul(v, mload(add(wp, 0xb60))))
                }
            }
            // n pixels of six (four, two) filters of a block from its accumulators (every lane
            // biased by half a lane, so none borrows from the next): per pixel one lane a filter,
            // from lane kw − 1 on, the next pixel a lane up. Pixel j's filter k at op + j·32f +
            // 32k; the terms of filter k at memory 0x220 + 64k (the block's, see below).
            function emit6(c0, c1, c2, c3, c4, c5, op, n) {
                let b := mload(0x20)
                let mask := sub(shl(b, 1), 1)
                let step := shl(5, mload(0xa0))
                let s := mload(0x40)
                let end := add(op, mul(n, step))
                if and(n, 1) {
                    mstore(op, sar(32, add(mul(and(shr(s, c0), mask), mload(0x220)), mload(0x240))))
                    mstore(add(op, 0x20), sar(32, add(mul(and(shr(s, c1), mask), mload(0x260)), mload(0x280))))
                    mstore(add(op, 0x40), sar(32, add(mul(and(shr(s, c2), mask), mload(0x2a0)), mload(0x2c0))))
                    mstore(add(op, 0x60), sar(32, add(mul(and(shr(s, c3), mask), mload(0x2e0)), mload(0x300))))
                    mstore(add(op, 0x80), sar(32, add(mul(and(shr(s, c4), mask), mload(0x320)), mload(0x340))))
                    mstore(add(op, 0xa0), sar(32, add(mul(and(shr(s, c5), mask), mload(0x360)), mload(0x380))))
                    op := add(op, step)
                    s := add(s, b)
                }
                for {} lt(op, end) {} {
                    mstore(op, sar(32, add(mul(and(shr(s, c0), mask), mload(0x220)), mload(0x240))))
                    mstore(add(op, 0x20), sar(32, add(mul(and(shr(s, c1), mask), mload(0x260)), mload(0x280))))
                    mstore(add(op, 0x40), sar(32, add(mul(and(shr(s, c2), mask), mload(0x2a0)), mload(0x2c0))))
                    mstore(add(op, 0x60), sar(32, add(mul(and(shr(s, c3), mask), mload(0x2e0)), mload(0x300))))
                    mstore(add(op, 0x80), sar(32, add(mul(and(shr(s, c4), mask), mload(0x320)), mload(0x340))))
                    mstore(add(op, 0xa0), sar(32, add(mul(and(shr(s, c5), mask), mload(0x360)), mload(0x380))))
                    op := add(op, step)
                    s := add(s, b)
                    mstore(op, sar(32, add(mul(and(shr(s, c0), mask), mload(0x220)), mload(0x240))))
                    mstore(add(op, 0x20), sar(32, add(mul(and(shr(s, c1), mask), mload(0x260)), mload(0x280))))
                    mstore(add(op, 0x40), sar(32, add(mul(and(shr(s, c2), mask), mload(0x2a0)), mload(0x2c0))))
                    mstore(add(op, 0x60), sar(32, add(mul(and(shr(s, c3), mask), mload(0x2e0)), mload(0x300))))
                    mstore(add(op, 0x80), sar(32, add(mul(and(shr(s, c4), mask), mload(0x320)), mload(0x340))))
                    mstore(add(op, 0xa0), sar(32, add(mul(and(shr(s, c5), mask), mload(0x360)), mload(0x380))))
                    op := add(op, step)
                    s := add(s, b)
                }
            }
            function emit4(c0, c1, c2, c3, op, n) {
                let b := mload(0x20)
                let mask := sub(shl(b, 1), 1)
                let step := shl(5, mload(0xa0))
                let s := mload(0x40)
                let end := add(op, mul(n, step))
                if and(n, 1) {
                    mstore(op, sar(32, add(mul(and(shr(s, c0), mask), mload(0x220)), mload(0x240))))
                    mstore(add(op, 0x20), sar(32, add(mul(and(shr(s, c1), mask), mload(0x260)), mload(0x280))))
                    mstore(add(op, 0x40), sar(32, add(mul(and(shr(s, c2), mask), mload(0x2a0)), mload(0x2c0))))
                    mstore(add(op, 0x60), sar(32, add(mul(and(shr(s, c3), mask), mload(0x2e0)), mload(0x300))))
                    op := add(op, step)
                    s := add(s, b)
                }
                for {} lt(op, end) {} {
                    mstore(op, sar(32, add(mul(and(shr(s, c0), mask), mload(0x220)), mload(0x240))))
                    mstore(add(op, 0x20), sar(32, add(mul(and(shr(s, c1), mask), mload(0x260)), mload(0x280))))
                    mstore(add(op, 0x40), sar(32, add(mul(and(shr(s, c2), mask), mload(0x2a0)), mload(0x2c0))))
                    mstore(add(op, 0x60), sar(32, add(mul(and(shr(s, c3), mask), mload(0x2e0)), mload(0x300))))
                    op := add(op, step)
                    s := add(s, b)
                    mstore(op, sar(32, add(mul(and(shr(s, c0), mask), mload(0x220)), mload(0x240))))
                    mstore(add(op, 0x20), sar(32, add(mul(and(shr(s, c1), mask), mload(0x260)), mload(0x280))))
                    mstore(add(op, 0x40), sar(32, add(mul(and(shr(s, c2), mask), mload(0x2a0)), mload(0x2c0))))
                    mstore(add(op, 0x60), sar(32, add(mul(and(shr(s, c3), mask), mload(0x2e0)), mload(0x300))))
                    op := add(op, step)
                    s := add(s, b)
                }
            }
            function emit2(c0, c1, op, n) {
                let b := mload(0x20)
                let mask := sub(shl(b, 1), 1)
                let step := shl(5, mload(0xa0))
                let s := mload(0x40)
                let end := add(op, mul(n, step))
                if and(n, 1) {
                    mstore(op, sar(32, add(mul(and(shr(s, c0), mask), mload(0x220)), mload(0x240))))
                    mstore(add(op, 0x20), sar(32, add(mul(and(shr(s, c1), mask), mload(0x260)), mload(0x280))))
                    op := add(op, step)
                    s := add(s, b)
                }
                for {} lt(op, end) {} {
                    mstore(op, sar(32, add(mul(and(shr(s, c0), mask), mload(0x220)), mload(0x240))))
                    mstore(add(op, 0x20), sar(32, add(mul(and(shr(s, c1), mask), mload(0x260)), mload(0x280))))
                    op := add(op, step)
                    s := add(s, b)
                    mstore(op, sar(32, add(mul(and(shr(s, c0), mask), mload(0x220)), mload(0x240))))
                    mstore(add(op, 0x20), sar(32, add(mul(and(shr(s, c1), mask), mload(0x260)), mload(0x280))))
                    op := add(op, step)
                    s := add(s, b)
                }
            }
            // The groups of Q pixels of an output row (the last one maybe fewer), from the
            // window's input words [a, a + span) of the first on (a group's words apart), the
            // kernel words from w, the outputs from op (a group's outputs apart).
            function groups6(a, span, w, op) {
                for { let left := mload(0xe0) } left {} {
                    let n := mload(0x80)
                    if lt(left, n) { n := left }
                    left := sub(left, n)
                    let c0, c1, c2, c3, c4, c5 := dot6(a, add(a, span), w)
                    emit6(c0, c1, c2, c3, c4, c5, op, n)
                    a := add(a, mload(0x420))
                    op := add(op, mload(0x4e0))
                }
            }
            function groups4(a, span, w, op) {
                for { let left := mload(0xe0) } left {} {
                    let n := mload(0x80)
                    if lt(left, n) { n := left }
                    left := sub(left, n)
                    let c0, c1, c2, c3 := dot4(a, add(a, span), w)
                    emit4(c0, c1, c2, c3, op, n)
                    a := add(a, mload(0x420))
                    op := add(op, mload(0x4e0))
                }
            }
            function groups2(a, span, w, op) {
                for { let left := mload(0xe0) } left {} {
                    let n := mload(0x80)
                    if lt(left, n) { n := left }
                    left := sub(left, n)
                    let c0, c1 := dot2(a, add(a, span), w)
                    emit2(c0, c1, op, n)
                    a := add(a, mload(0x420))
                    op := add(op, mload(0x4e0))
                }
            }
            // Output row oy of a block of nf filters (its kernel words from wb, its first filter
            // at ob among pixel 0's outputs): the window rows on real input [ky0, ky1), then
            // group by group. A block of 5, 3 or 1 filters goes as one of 6, 4 or 2: its spare
            // filter (zero kernel words and terms) writes 0 over the next pixel's filter 0, which
            // the block after writes (see below).
            function row(oy, wb, ob, nf) {
                let top := mul(oy, mload(0x1a0))
                let pt := mload(0x100)
                let ky0 := 0
                if gt(pt, top) { ky0 := sub(pt, top) }
                let ky1 := 0
                if gt(add(pt, mload(0x120)), top) { ky1 := sub(add(pt, mload(0x120)), top) }
                if gt(ky1, mload(0x140)) { ky1 := mload(0x140) }
                if lt(ky1, ky0) { ky1 := ky0 }
                let rowBytes := mload(0x4c0)
                let a := add(mload(0x1c0), mul(add(top, ky0), rowBytes))
                let span := mul(sub(ky1, ky0), rowBytes)
                let w := add(wb, mul(mul(ky0, rowBytes), 6))
                let op := add(ob, mul(oy, mload(0x3c0)))
                switch gt(nf, 4)
                case 1 { groups6(a, span, w, op) }
                default {
                    switch gt(nf, 2)
                    case 1 { groups4(a, span, w, op) }
                    default { groups2(a, span, w, op) }
                }
            }
            // `_polyInput`'s words at d (word (gi·h + y)·cin + ci, real rows only): the raw
            // Q32.32 inputs (calldata from X0, [h, w, cin]) narrowed, x' = (x + 2^(e−1)) >> e,
            // straight into the words, group by group. Lane j of word (gi, y, ci) is padded
            // column gi·Q + j, input column gi·Q + j − pl (0 off the input). Words slide: word
            // gi is word gi − 1 (the group before, in memory) moved down Q lanes — sar of the
            // word plus half of Q lanes, exact as the low lanes' sum is below half of Q lanes in
            // size (|x'| < 2^(b−2) wherever the kernel is not all zeros, `_lanes`) — plus its
            // new lanes [L − Q, L) (the first group: all L lanes). A group's lanes on the input
            // are the same for all its words: loaded unchecked, unrolled where all Q are.
            function packInput(d) {
                let q := mload(0x80)
                let L := mload(0x2e0)
                let step := mul(mload(0x120), shl(5, mload(0x160)))
                for { let gi := 0 } lt(gi, div(add(mload(0xe0), sub(q, 1)), q)) { gi := add(gi, 1) } {
                    let j0 := 0
                    if gi { j0 := sub(L, q) }
                    // input column of lane 0 (signed); lanes [jlo, jhi) on the input
                    let c := sub(mul(gi, q), mload(0x360))
                    let jlo := j0
                    if slt(add(c, jlo), 0) { jlo := sub(0, c) }
                    let jhi := L
                    if sgt(add(c, L), mload(0x240)) { jhi := sub(mload(0x240), c) }
                    if slt(jhi, jlo) { jhi := jlo }
                    let o := add(d, mul(gi, step))
                    // unrolled: eight lanes of 32 bits and Q = 4, or six of 42 and Q = 2 (kw = 5)
                    let lq := or(or(shl(16, mload(0x20)), shl(8, L)), q)
                    let fast := and(eq(jhi, L), or(eq(lq, 0x200804), eq(lq, 0x2a0602)))
                    switch add(and(and(iszero(iszero(gi)), eq(jlo, j0)), fast), shl(1, and(and(iszero(gi), eq(jlo, 2)), and(eq(c, sub(0, 2)), fast))))
                    case 1 { slideAll(o, add(mload(0x300), mul(add(c, j0), shl(5, mload(0x160))))) }
                    case 2 { slideFirst(o) }
                    default {
                        switch or(iszero(gi), gt(sub(jhi, jlo), 2))
                        case 0 { slideFew(o, add(mload(0x300), mul(add(c, jlo), shl(5, mload(0x160)))), jlo, sub(jhi, jlo)) }
                        default { slidePart(o, c, jlo, jhi) }
                    }
                }
            }
            // A group's words from o (the group before at o − h·cs), all Q new lanes on the
            // input, L = 8, Q = 4 or L = 6, Q = 2: lane L − Q of word (y, ci) from calldata
            // a + y·w·cs + ci·32, the next lanes cs on.
            function slideAll(o, a) {
                let cs := shl(5, mload(0x160))
                let step := mul(mload(0x120), cs)
                let gap := sub(mul(mload(0x240), cs), cs)
                if eq(cs, 0x20) { gap := mul(mload(0x240), 0x20) }
                let e := mload(0x220)
                let half := shl(sub(e, 1), 1)
                let end := add(o, step)
                switch mload(0x2e0)
                case 8 {
                    switch cs
                    case 0x20 {
                        // one channel: a word a pixel, the next row w pixels on
                        for {} lt(o, end) { o := add(o, 0x20) } {
                            let t := add(a, cs)
                            mstore(o, add(sar(128, add(mload(sub(o, step)), shl(127, 1))), add(add(shl(128, sar(e, add(calldataload(a), half))), shl(160, sar(e, add(calldataload(t), half)))), add(shl(192, sar(e, add(calldataload(add(t, cs)), half))), shl(224, sar(e, add(calldataload(add(t, shl(1, cs))), half)))))))
                            a := add(a, gap)
                        }
                    }
                    default {
                        for {} lt(o, end) { a := add(a, gap) } {
                            for { let rowEnd := add(o, cs) } lt(o, rowEnd) { o := add(o, 0x20) } {
                                let t := add(a, cs)
                                mstore(o, add(sar(128, add(mload(sub(o, step)), shl(127, 1))), add(add(shl(128, sar(e, add(calldataload(a), half))), shl(160, sar(e, add(calldataload(t), half)))), add(shl(192, sar(e, add(calldataload(add(t, cs)), half))), shl(224, sar(e, add(calldataload(add(t, shl(1, cs))), half)))))))
                                a := add(a, 0x20)
                            }
                        }
                    }
                }
                default {
                    switch cs
                    case 0x20 {
                        // one channel: a word a pixel, the next row w pixels on
                        for {} lt(o, end) { o := add(o, 0x20) } {
                            let t := add(a, cs)
                            mstore(o, add(sar(84, add(mload(sub(o, step)), shl(83, 1))), add(shl(168, sar(e, add(calldataload(a), half))), shl(210, sar(e, add(calldataload(t), half))))))
                            a := add(a, gap)
                        }
                    }
                    default {
                        for {} lt(o, end) { a := add(a, gap) } {
                            for { let rowEnd := add(o, cs) } lt(o, rowEnd) { o := add(o, 0x20) } {
                                let t := add(a, cs)
                                mstore(o, add(sar(84, add(mload(sub(o, step)), shl(83, 1))), add(shl(168, sar(e, add(calldataload(a), half))), shl(210, sar(e, add(calldataload(t), half))))))
                                a := add(a, 0x20)
                            }
                        }
                    }
                }
            }
            // The first group's words from o where pl = 2 (kw = 5, "same") and lanes 2 … L − 1
            // are on the input: input columns 0 … L − 3 of word (y, ci) from calldata
            // X0 + y·w·cs + ci·32, cs apart.
            function slideFirst(o) {
                let cs := shl(5, mload(0x160))
                let a := mload(0x300)
                let gap := sub(mul(mload(0x240), cs), cs)
                if eq(cs, 0x20) { gap := mul(mload(0x240), 0x20) }
                let e := mload(0x220)
                let half := shl(sub(e, 1), 1)
                let end := add(o, mul(mload(0x120), cs))
                switch mload(0x2e0)
                case 8 {
                    switch cs
                    case 0x20 {
                        for {} lt(o, end) { o := add(o, 0x20) } {
                            let t := add(a, cs)
                            mstore(o, add(add(add(shl(64, sar(e, add(calldataload(a), half))), shl(96, sar(e, add(calldataload(t), half)))), add(shl(128, sar(e, add(calldataload(add(t, cs)), half))), shl(160, sar(e, add(calldataload(add(t, shl(1, cs))), half))))), add(shl(192, sar(e, add(calldataload(add(t, mul(3, cs))), half))), shl(224, sar(e, add(calldataload(add(t, shl(2, cs))), half))))))
                            a := add(a, gap)
                        }
                    }
                    default {
                        for {} lt(o, end) { a := add(a, gap) } {
                            for { let rowEnd := add(o, cs) } lt(o, rowEnd) { o := add(o, 0x20) } {
                                let t := add(a, cs)
                                mstore(o, add(add(add(shl(64, sar(e, add(calldataload(a), half))), shl(96, sar(e, add(calldataload(t), half)))), add(shl(128, sar(e, add(calldataload(add(t, cs)), half))), shl(160, sar(e, add(calldataload(add(t, shl(1, cs))), half))))), add(shl(192, sar(e, add(calldataload(add(t, mul(3, cs))), half))), shl(224, sar(e, add(calldataload(add(t, shl(2, cs))), half))))))
                                a := add(a, 0x20)
                            }
                        }
                    }
                }
                default {
                    switch cs
                    case 0x20 {
                        for {} lt(o, end) { o := add(o, 0x20) } {
                            let t := add(a, cs)
                            mstore(o, add(add(shl(84, sar(e, add(calldataload(a), half))), shl(126, sar(e, add(calldataload(t), half)))), add(shl(168, sar(e, add(calldataload(add(t, cs)), half))), shl(210, sar(e, add(calldataload(add(t, shl(1, cs))), half))))))
                            a := add(a, gap)
                        }
                    }
                    default {
                        for {} lt(o, end) { a := add(a, gap) } {
                            for { let rowEnd := add(o, cs) } lt(o, rowEnd) { o := add(o, 0x20) } {
                                let t := add(a, cs)
                                mstore(o, add(add(shl(84, sar(e, add(calldataload(a), half))), shl(126, sar(e, add(calldataload(t), half)))), add(shl(168, sar(e, add(calldataload(add(t, cs)), half))), shl(210, sar(e, add(calldataload(add(t, shl(1, cs))), half))))))
                                a := add(a, 0x20)
                            }
                        }
                    }
                }
            }
            // A later group's words from o with n ≤ 2 new lanes on the input (lanes jlo, jlo + 1
            // from calldata a + y·w·cs + ci·32 and cs on), the others off it (0).
            function slideFew(o, a, jlo, n) {
                let cs := shl(5, mload(0x160))
                let step := mul(mload(0x120), cs)
                let qb := mul(mload(0x80), mload(0x20))
                let hq := shl(sub(qb, 1), 1)
                let end := add(o, step)
                switch n
                case 0 {
                    for {} lt(o, end) { o := add(o, 0x20) } { mstore(o, sar(qb, add(mload(sub(o, step)), hq))) }
                }
                default {
                    let gap := sub(mul(mload(0x240), cs), cs)
                    if eq(cs, 0x20) { gap := mul(mload(0x240), 0x20) }
                    let e := mload(0x220)
                    let half := shl(sub(e, 1), 1)
                    let s := mul(mload(0x20), jlo)
                    // the second lane's value times 0 where n = 1
                    let m := sub(n, 1)
                    let s1 := add(s, mload(0x20))
                    switch cs
                    case 0x20 {
                        for {} lt(o, end) { o := add(o, 0x20) } {
                            mstore(o, add(sar(qb, add(mload(sub(o, step)), hq)), add(shl(s, sar(e, add(calldataload(a), half))), mul(m, shl(s1, sar(e, add(calldataload(add(a, cs)), half)))))))
                            a := add(a, gap)
                        }
                    }
                    default {
                        for {} lt(o, end) { a := add(a, gap) } {
                            for { let rowEnd := add(o, cs) } lt(o, rowEnd) { o := add(o, 0x20) } {
                                mstore(o, add(sar(qb, add(mload(sub(o, step)), hq)), add(shl(s, sar(e, add(calldataload(a), half))), mul(m, shl(s1, sar(e, add(calldataload(add(a, cs)), half)))))))
                                a := add(a, 0x20)
                            }
                        }
                    }
                }
            }
            // A group's words from o, any lanes: lanes [jlo, jhi) from input columns c + jlo, …
            // (c signed), two a pass; the lanes below from the group before where there is one.
            function slidePart(o, c, jlo, jhi) {
                let cs := shl(5, mload(0x160))
                let step := mul(mload(0x120), cs)
                let b := mload(0x20)
                let qb := mul(mload(0x80), b)
                let first := eq(c, sub(0, mload(0x360)))
                let a := add(mload(0x300), mul(add(c, jlo), cs))
                let gap := sub(mul(mload(0x240), cs), cs)
                let odd := and(sub(jhi, jlo), 1)
                let span := mul(sub(sub(jhi, jlo), odd), cs)
                let e := mload(0x220)
                for { let end := add(o, step) } lt(o, end) { a := add(a, gap) } {
                    for { let rowEnd := add(o, cs) } lt(o, rowEnd) { o := add(o, 0x20) } {
                        let v := 0
                        if iszero(first) { v := sar(qb, add(mload(sub(o, step)), shl(sub(qb, 1), 1))) }
                        let s := mul(b, jlo)
                        let t := a
                        for {} lt(t, add(a, span)) { t := add(t, shl(1, cs)) } {
                            v := add(v, add(shl(s, sar(e, add(calldataload(t), shl(sub(e, 1), 1)))), shl(add(s, b), sar(e, add(calldataload(add(t, cs)), shl(sub(e, 1), 1))))))
                            s := add(s, shl(1, b))
                        }
                        if odd { v := add(v, shl(s, sar(e, add(calldataload(t), shl(sub(e, 1), 1))))) }
                        mstore(o, v)
                        a := add(a, 0x20)
                    }
                }
            }
            // `_polyKernel`'s words at d: from the raw stored values (calldata from K0, [kh, kw,
            // cin, F], `width` bytes big-endian), filters f0 + fi; block by block, window row by
            // window row, so the words come in order; filters past f stay zero (fresh memory).
            // A value is the top `width` bytes of the calldata word at its offset.
            function packKernel(d) {
                let cin := mload(0x160)
                let f := mload(0xa0)
                let fw := mul(mload(0x280), mload(0x260))
                let kyBytes := mul(mul(mload(0x2c0), cin), fw)
                let dst := d
                for { let blk := 0 } lt(blk, f) { blk := add(blk, 6) } {
                    let n := sub(f, blk)
                    if gt(n, 6) { n := 6 }
                    let src := add(mload(0x320), mul(add(mload(0x2a0), blk), mload(0x260)))
                    for { let end := add(src, mul(mload(0x140), kyBytes)) } lt(src, end) { src := add(src, kyBytes) } {
                        for { let a := src } lt(a, add(src, mul(cin, fw))) { a := add(a, fw) } {
                            tapRows(dst, a, n)
                            dst := add(dst, 0xc0)
                        }
                    }
                }
            }
            // Window row (ky, ci)'s words of n filters at dst, dst + 32, …: filter k's kw stored
            // values cin·F·width bytes apart from a + k·width, taps reversed (kx = 0 in the top
            // lane). kw = 5, int8 (32-bit lanes) or int16 (42): the five calldata words of the six filters' values
            // once, biased (each value's sign bit flipped: v + 2^(8·width − 1), unsigned); the
            // 32-bit fields of four (int8) or two (int16) filters moved into the five lanes at
            // once (z), each filter's value masked out of its field, the bias of five lanes (c)
            // taken off; words past n zeroed again.
            function tapRows(dst, a, n) {
                let stride := mul(mload(0x160), mul(mload(0x280), mload(0x260)))
                switch or(or(shl(16, mload(0x20)), shl(8, mload(0x260))), mload(0x2c0))
                case 0x200105 {
                    let m := 0x8080808080808080808080808080808080808080808080808080808080808080
                    let v0 := xor(calldataload(a), m)
                    let v1 := xor(calldataload(add(a, stride)), m)
                    let v2 := xor(calldataload(add(a, shl(1, stride))), m)
                    let v3 := xor(calldataload(add(a, mul(3, stride))), m)
                    let v4 := xor(calldataload(add(a, shl(2, stride))), m)
                    let c := 0x8000000080000000800000008000000080
                    let z0 := add(add(add(add(and(shr(96, v0), 0xffffffff00000000000000000000000000000000), and(shr(128, v1), 0xffffffff000000000000000000000000)), and(shr(160, v2), 0xffffffff0000000000000000)), and(shr(192, v3), 0xffffffff00000000)), and(shr(224, v4), 0xffffffff))
                    let z1 := add(add(add(add(and(shr(64, v0), 0xffffffff00000000000000000000000000000000), and(shr(96, v1), 0xffffffff000000000000000000000000)), and(shr(128, v2), 0xffffffff0000000000000000)), and(shr(160, v3), 0xffffffff00000000)), and(shr(192, v4), 0xffffffff))
                    mstore(dst, sub(and(shr(24, z0), 0xff000000ff000000ff000000ff000000ff), c))
                    mstore(add(dst, 0x20), sub(and(shr(16, z0), 0xff000000ff000000ff000000ff000000ff), c))
                    mstore(add(dst, 0x40), sub(and(shr(8, z0), 0xff000000ff000000ff000000ff000000ff), c))
                    mstore(add(dst, 0x60), sub(and(z0, 0xff000000ff000000ff000000ff000000ff), c))
                    mstore(add(dst, 0x80), sub(and(shr(24, z1), 0xff000000ff000000ff000000ff000000ff), c))
                    mstore(add(dst, 0xa0), sub(and(shr(16, z1), 0xff000000ff000000ff000000ff000000ff), c))
                    for { let k := shl(5, n) } lt(k, 0xc0) { k := add(k, 0x20) } { mstore(add(dst, k), 0) }
                }
                case 0x2a0205 {
                    let m := 0x8000800080008000800080008000800080008000800080008000800080008000
                    let v0 := xor(calldataload(a), m)
                    let v1 := xor(calldataload(add(a, stride)), m)
                    let v2 := xor(calldataload(add(a, shl(1, stride))), m)
                    let v3 := xor(calldataload(add(a, mul(3, stride))), m)
                    let v4 := xor(calldataload(add(a, shl(2, stride))), m)
                    let c := 0x8000000000200000000008000000000200000000008000
                    let z0 := add(add(add(add(and(shr(56, v0), 0xffffffff000000000000000000000000000000000000000000), and(shr(98, v1), 0x3fffffffc0000000000000000000000000000000)), and(shr(140, v2), 0xffffffff000000000000000000000)), and(shr(182, v3), 0x3fffffffc0000000000)), and(shr(224, v4), 0xffffffff))
                    let z1 := add(add(add(add(and(shr(24, v0), 0xffffffff000000000000000000000000000000000000000000), and(shr(66, v1), 0x3fffffffc0000000000000000000000000000000)), and(shr(108, v2), 0xffffffff000000000000000000000)), and(shr(150, v3), 0x3fffffffc0000000000)), and(shr(192, v4), 0xffffffff))
                    let z2 := add(add(add(add(and(shl(8, v0), 0xffffffff000000000000000000000000000000000000000000), and(shr(34, v1), 0x3fffffffc0000000000000000000000000000000)), and(shr(76, v2), 0xffffffff000000000000000000000)), and(shr(118, v3), 0x3fffffffc0000000000)), and(shr(160, v4), 0xffffffff))
                    mstore(dst, sub(and(shr(16, z0), 0xffff0000003fffc000000ffff0000003fffc000000ffff), c))
                    mstore(add(dst, 0x20), sub(and(z0, 0xffff0000003fffc000000ffff0000003fffc000000ffff), c))
                    mstore(add(dst, 0x40), sub(and(shr(16, z1), 0xffff0000003fffc000000ffff0000003fffc000000ffff), c))
                    mstore(add(dst, 0x60), sub(and(z1, 0xffff0000003fffc000000ffff0000003fffc000000ffff), c))
                    mstore(add(dst, 0x80), sub(and(shr(16, z2), 0xffff0000003fffc000000ffff0000003fffc000000ffff), c))
                    mstore(add(dst, 0xa0), sub(and(z2, 0xffff0000003fffc000000ffff0000003fffc000000ffff), c))
                    for { let k := shl(5, n) } lt(k, 0xc0) { k := add(k, 0x20) } { mstore(add(dst, k), 0) }
                }
                default {
                    let b := mload(0x20)
                    let width := mload(0x260)
                    let sh := sub(256, shl(3, width))
                    let span := mul(mload(0x2c0), stride)
                    for { let last := add(dst, shl(5, n)) } lt(dst, last) { dst := add(dst, 0x20) } {
                        let wv := 0
                        for { let t := a } lt(t, add(a, span)) { t := add(t, stride) } {
                            wv := add(shl(b, wv), sar(sh, calldataload(t)))
                        }
                        mstore(dst, wv)
                        a := add(a, width)
                    }
                }
            }
            // The header at memory 0 (28 words), scratch 0x400…0x4c0, the outputs from 0x500,
            // then the input words xs and the kernel words ws: all the memory there is (its cost
            // grows with the square of the top).
            calldatacopy(0, 0, 0x380)
            let outLen := mul(mul(mload(0xc0), mload(0xe0)), mload(0xa0))
            let out := 0x500
            {
                let q := mload(0x80)
                let cs := shl(5, mload(0x160))
                let groups := div(add(mload(0xe0), sub(q, 1)), q)
                let wsBytes := mul(mul(div(add(mload(0xa0), 5), 6), mul(mload(0x140), mload(0x160))), 0xc0)
                let xsMem := add(out, shl(5, add(outLen, 8)))
                switch mload(0x340)
                case 0 {
                    // given: hp rows a group
                    let xsBytes := mul(mul(groups, mload(0x180)), cs)
                    calldatacopy(xsMem, mload(0x1c0), xsBytes)
                    calldatacopy(add(xsMem, xsBytes), mload(0x1e0), wsBytes)
                    mstore(0x1c0, xsMem)
                    mstore(0x1e0, add(xsMem, xsBytes))
                    mstore(0x420, mul(mload(0x180), cs))
                }
                default {
                    // packed here: the h real rows a group only (padding rows are never read),
                    // addressed as if the pt rows above were there
                    let xsBytes := mul(mul(groups, mload(0x120)), cs)
                    packInput(xsMem)
                    packKernel(add(xsMem, xsBytes))
                    mstore(0x1c0, sub(xsMem, mul(mload(0x100), cs)))
                    mstore(0x1e0, add(xsMem, xsBytes))
                    mstore(0x420, mul(mload(0x120), cs))
                }
            }
            mstore(0x4c0, shl(5, mload(0x160)))
            mstore(0x400, mul(mul(mload(0x140), mload(0x4c0)), 6))
            // A group's output bytes (0x4e0); an output row's (0x3c0, header word 30).
            mstore(0x4e0, shl(5, mul(mload(0x80), mload(0xa0))))
            mstore(0x3c0, shl(5, mul(mload(0xe0), mload(0xa0))))
            // Block by block, the last first (its spare filter's zeros land on the first block's
            // filter 0, or at the very last pixel on the word after the outputs: one of the
            // spare words before xs, which must stay), each block's twelve terms first copied to
            // memory 0x220…0x39f: header words 17–28, which only the packing reads.
            for { let blk := div(add(mload(0xa0), 5), 6) } blk {} {
                blk := sub(blk, 1)
                calldatacopy(0x220, add(mload(0x200), mul(blk, 0x180)), 0x180)
                let wb := add(mload(0x1e0), mul(blk, mload(0x400)))
                let ob := add(out, mul(blk, 0xc0))
                let nf := sub(mload(0xa0), mul(blk, 6))
                for { let oy := 0 } lt(oy, mload(0xc0)) { oy := add(oy, 1) } { row(oy, wb, ob, nf) }
            }
            return(out, shl(5, outLen))
        }
    }
}
