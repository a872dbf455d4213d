// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Conv2DLayer} from "../../contracts/layers/Conv2DLayer.sol";
import {Fixed} from "../../contracts/lib/Fixed.sol";
import {benchRaw} from "../BenchRaw.sol";

contract ConvBench is Conv2DLayer {
    function bench(
        int256[] calldata inputs,
        uint256[12] calldata gg,
        bytes calldata kernel,
        uint256 width,
        int256[] calldata scales,
        int256[] calldata bias,
        uint8 act
    ) external view returns (uint256 used, int256[] memory out) {
        Geometry memory g = Geometry(gg[0], gg[1], gg[2], gg[3], gg[4], gg[5], gg[6], gg[7], gg[8], gg[9], gg[10], gg[11]);
        // width | f0 << 8: filters [f0, gg[3]) of the stored kernel (an output-channel slice).
        uint256 f0 = width >> 8;
        width &= 0xff;
        g.f -= f0;
        Raw memory w = benchRaw(kernel, width, 0, scales);
        int256[] memory b = bias;
        uint256 g0 = gasleft();
        out = _convolveNarrowed(inputs, g, w, b, act, f0);
        used = g0 - gasleft();
    }
}
