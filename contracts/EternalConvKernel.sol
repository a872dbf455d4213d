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
///      27 pl.
///      xs: word (gi·hp + y)·cin + ci holds lanes j < L of x'(y, gi·Q + j, ci) (padded rows and
///      columns, stride 1); ws: blocks of six filters, word (blk·kh·cin + ky·cin + ci)·6 + k is
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
            // `_polyInput`'s words at d: the raw Q32.32 inputs (calldata from X0, [h, w, cin])
            // narrowed once, x' = (x + 2^(e−1)) >> e, into rows of Wb = groups·Q + L padded
            // columns at p (fresh memory: zeros around the input, so a lane past the padded row
            // or off the input reads 0), then each word's L lanes from there, real rows only.
            function packInput(d, p) {
                let cs := shl(5, mload(0x160))
                let q := mload(0x80)
                let groups := div(add(mload(0xe0), sub(q, 1)), q)
                let rowBytes := mul(add(mul(groups, q), mload(0x2e0)), cs)
                {
                    let e := mload(0x220)
                    let half := shl(sub(e, 1), 1)
                    let n := mul(mload(0x240), cs)
                    let src := mload(0x300)
                    let dst := add(p, mul(mload(0x360), cs))
                    for { let end := add(src, mul(mload(0x120), n)) } lt(src, end) {} {
                        for { let k := 0 } lt(k, n) { k := add(k, 0x20) } {
                            mstore(add(dst, k), sar(e, add(calldataload(add(src, k)), half)))
                        }
                        src := add(src, n)
                        dst := add(dst, rowBytes)
                    }
                }
                let o := add(d, mul(mload(0x100), cs))
                for { let gi := 0 } lt(gi, groups) { gi := add(gi, 1) } {
                    packGroup(add(p, mul(gi, mul(q, cs))), add(o, mul(gi, mul(mload(0x180), cs))), cs, rowBytes)
                }
            }
            // One group's words of every real row: from narrowed rows at a (rowBytes apart) to
            // words at o (cs = a pixel's bytes apart a row), lane j the pixel j columns on.
            function packGroup(a, o, cs, rowBytes) {
                let b := mload(0x20)
                let top := mul(sub(mload(0x2e0), 1), cs)
                for { let end := add(o, mul(mload(0x120), cs)) } lt(o, end) {} {
                    for { let c := 0 } lt(c, cs) { c := add(c, 0x20) } {
                        let first := add(a, c)
                        let v := 0
                        for { let at := add(first, top) } 1 { at := sub(at, cs) } {
                            v := add(shl(b, v), mload(at))
                            if eq(at, first) { break }
                        }
                        mstore(add(o, c), v)
                    }
                    o := add(o, cs)
                    a := add(a, rowBytes)
                }
            }
            // `_polyKernel`'s words at d: from the raw stored values (calldata from K0, [kh, kw,
            // cin, F], `width` bytes big-endian), filters f0 + fi; kx ascending, each value
            // shifting the word up a lane (taps reversed).
            function packKernel(d) {
                let cin := mload(0x160)
                let rows := mul(mload(0x140), cin)
                let width := mload(0x260)
                let stride := mul(mul(cin, mload(0x280)), width)
                for { let r := 0 } lt(r, rows) { r := add(r, 1) } {
                    let src := add(mload(0x320), mul(add(mul(add(mul(mul(div(r, cin), mload(0x2c0)), cin), mod(r, cin)), mload(0x280)), mload(0x2a0)), width))
                    let dst := add(d, mul(r, 0xc0))
                    for { let fi := 0 } lt(fi, mload(0xa0)) { fi := add(fi, 1) } {
                        mstore(add(add(dst, mul(div(fi, 6), mul(rows, 0xc0))), shl(5, mod(fi, 6))), tapRow(src, stride, width))
                        src := add(src, width)
                    }
                }
            }
            // One filter's window row: kw stored values `stride` bytes apart from src.
            function tapRow(src, stride, width) -> wv {
                let b := mload(0x20)
                let se := sub(width, 1)
                let sh := sub(256, shl(3, width))
                for { let end := add(src, mul(mload(0x2c0), stride)) } lt(src, end) { src := add(src, stride) } {
                    wv := add(shl(b, wv), signextend(se, shr(sh, calldataload(src))))
                }
            }
            // The header at memory 0 (28 words), scratch 0x400…0x4c0, the outputs from 0x500,
            // then the packed input and kernel words.
            calldatacopy(0, 0, 0x380)
            let outLen := mul(mul(mload(0xc0), mload(0xe0)), mload(0xa0))
            let out := 0x500
            // A window row's input bytes; kernel bytes of a block of six filters; a group's input
            // bytes; the blocks.
            {
                let q := mload(0x80)
                let xsBytes := shl(5, mul(mul(div(add(mload(0xe0), sub(q, 1)), q), mload(0x180)), mload(0x160)))
                let xsMem := add(out, shl(5, add(outLen, 8)))
                let wsMem := add(xsMem, xsBytes)
                switch mload(0x340)
                case 0 {
                    calldatacopy(xsMem, mload(0x1c0), xsBytes)
                    calldatacopy(wsMem, mload(0x1e0), mul(mul(div(add(mload(0xa0), 5), 6), mul(mload(0x140), mload(0x160))), 0xc0))
                }
                default {
                    let wsBytes := mul(mul(div(add(mload(0xa0), 5), 6), mul(mload(0x140), mload(0x160))), 0xc0)
                    packInput(xsMem, add(wsMem, wsBytes))
                    packKernel(wsMem)
                }
                mstore(0x1c0, xsMem)
                mstore(0x1e0, wsMem)
            }
            mstore(0x4c0, shl(5, mload(0x160)))
            mstore(0x400, mul(mul(mload(0x140), mload(0x4c0)), 6))
            mstore(0x420, mul(mload(0x180), mload(0x4c0)))
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
