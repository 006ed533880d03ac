;; The K-weighting of ITU-R BS.1770-4 (a high shelf, then the RLB high-pass: two biquads) over two channels at
;; once, one in each lane of a 128-bit f64x2 vector (WebAssembly SIMD), with the mean-square energy of the
;; K-weighted samples and the largest |sample| of each 16-frame block (the true-peak screen's input).
;;
;; Assembled by scripts/embed-wasm-kernels.ts (wabt) into core/descriptors/loudness-wasm.ts; FileLoudnessMeter
;; (core/descriptors/loudness.ts) calls it for each 100-ms run of a stereo file. Every lane does exactly the
;; arithmetic of the scalar loop it replaced, in the same order and in double precision (WebAssembly fuses no
;; multiply-add), so the figures are the same to the last bit; it is about 3 times faster than that loop,
;; because one vector instruction does both channels' work and the samples need no bounds checks.
;;
;; Memory (bytes):
;;   0    the filter state, 4 × f64x2: shelf s1, s2, high-pass s3, s4 (lane 0 the first channel, lane 1 the second)
;;   64   out: the sum of squares of the K-weighted samples of this call, f64x2
;;   80   out: the largest |sample| of this call, f64x2
;;   96   in: the coefficients, 7 × f64: the shelf's b0, b1, b2, a1, a2 (y = b0·x + b1·x1 + b2·x2 − a1·y1 − a2·y2),
;;        then the high-pass's a1, a2 (its b are 1, −2, 1)
;;   160  out: the largest |sample| of each block of 16 frames (the last one may be shorter), f64x2 per block
;;   the caller's samples wherever it put them (see the exports' `input` and `stride` parameters)
(module
  (memory (export "memory") 1)

  ;; `frames` frames of 16-bit samples from byte `input`, `stride` bytes apart: the two channels are the two
  ;; 16-bit values at each frame's address. Values in 16-bit units (the caller scales the state in and out).
  (func (export "pairInt16") (param $input i32) (param $frames i32) (param $stride i32)
    (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $s4 v128)
    (local $energy v128) (local $blockMax v128) (local $runMax v128)
    (local $x v128) (local $y v128) (local $k v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $a1 v128) (local $a2 v128) (local $h1 v128) (local $h2 v128)
    (local $end i32) (local $blockEnd i32) (local $block i32)
    (local.set $b0 (v128.load64_splat offset=96 (i32.const 0))) (local.set $b1 (v128.load64_splat offset=104 (i32.const 0)))
    (local.set $b2 (v128.load64_splat offset=112 (i32.const 0))) (local.set $a1 (v128.load64_splat offset=120 (i32.const 0)))
    (local.set $a2 (v128.load64_splat offset=128 (i32.const 0))) (local.set $h1 (v128.load64_splat offset=136 (i32.const 0)))
    (local.set $h2 (v128.load64_splat offset=144 (i32.const 0)))
    (local.set $s1 (v128.load offset=0 (i32.const 0)))
    (local.set $s2 (v128.load offset=16 (i32.const 0)))
    (local.set $s3 (v128.load offset=32 (i32.const 0)))
    (local.set $s4 (v128.load offset=48 (i32.const 0)))
    (local.set $energy (v128.const i64x2 0 0))
    (local.set $runMax (v128.const i64x2 0 0))
    (local.set $block (i32.const 160))
    (local.set $end (i32.add (local.get $input) (i32.mul (local.get $frames) (local.get $stride))))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $input) (local.get $end)))
        (local.set $blockEnd (i32.add (local.get $input) (i32.shl (local.get $stride) (i32.const 4))))
        (if (i32.gt_u (local.get $blockEnd) (local.get $end)) (then (local.set $blockEnd (local.get $end))))
        (local.set $blockMax (v128.const i64x2 0 0))
        (loop $frame
          ;; Two 16-bit samples → two i32 lanes → two f64 lanes.
          (local.set $x (f64x2.convert_low_i32x4_s (i32x4.extend_low_i16x8_s (v128.load32_zero (local.get $input)))))
          ;; pmax (b > a ? b : a) rather than max: the same for magnitudes, which are never NaN, and a single
          ;; instruction where max's NaN and ±0 rules cost V8 several (the whole loop ran 30 % slower with max).
          (local.set $blockMax (f64x2.pmax (local.get $blockMax) (f64x2.abs (local.get $x))))
          ;; Both stages in transposed direct form II (Oppenheim & Schafer §6.4), as the scalar loop did:
          ;; y = b0·x + s1; s1 = b1·x + s2 − a1·y; s2 = b2·x − a2·y; then k = y + s3; s3 = s4 − 2·y − h1·k; s4 = y − h2·k.
          (local.set $y (f64x2.add (f64x2.mul (local.get $b0) (local.get $x)) (local.get $s1)))
          (local.set $s1 (f64x2.sub (f64x2.add (f64x2.mul (local.get $b1) (local.get $x)) (local.get $s2))
                                    (f64x2.mul (local.get $a1) (local.get $y))))
          (local.set $s2 (f64x2.sub (f64x2.mul (local.get $b2) (local.get $x)) (f64x2.mul (local.get $a2) (local.get $y))))
          (local.set $k (f64x2.add (local.get $y) (local.get $s3)))
          ;; 2·y computed as y + y: the same value, exactly.
          (local.set $s3 (f64x2.sub (f64x2.sub (local.get $s4) (f64x2.add (local.get $y) (local.get $y)))
                                    (f64x2.mul (local.get $h1) (local.get $k))))
          (local.set $s4 (f64x2.sub (local.get $y) (f64x2.mul (local.get $h2) (local.get $k))))
          (local.set $energy (f64x2.add (local.get $energy) (f64x2.mul (local.get $k) (local.get $k))))
          (local.set $input (i32.add (local.get $input) (local.get $stride)))
          (br_if $frame (i32.lt_u (local.get $input) (local.get $blockEnd))))
        (v128.store (local.get $block) (local.get $blockMax))
        (local.set $runMax (f64x2.pmax (local.get $runMax) (local.get $blockMax)))
        (local.set $block (i32.add (local.get $block) (i32.const 16)))
        (br $blocks)))
    (v128.store offset=0 (i32.const 0) (local.get $s1))
    (v128.store offset=16 (i32.const 0) (local.get $s2))
    (v128.store offset=32 (i32.const 0) (local.get $s3))
    (v128.store offset=48 (i32.const 0) (local.get $s4))
    (v128.store offset=64 (i32.const 0) (local.get $energy))
    (v128.store offset=80 (i32.const 0) (local.get $runMax)))

  ;; The same for 32-bit float samples: the two channels are the two floats at each frame's address. NaN must
  ;; have been replaced by the caller (the filters would carry it on).
  (func (export "pairFloat32") (param $input i32) (param $frames i32) (param $stride i32)
    (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $s4 v128)
    (local $energy v128) (local $blockMax v128) (local $runMax v128)
    (local $x v128) (local $y v128) (local $k v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $a1 v128) (local $a2 v128) (local $h1 v128) (local $h2 v128)
    (local $end i32) (local $blockEnd i32) (local $block i32)
    (local.set $b0 (v128.load64_splat offset=96 (i32.const 0))) (local.set $b1 (v128.load64_splat offset=104 (i32.const 0)))
    (local.set $b2 (v128.load64_splat offset=112 (i32.const 0))) (local.set $a1 (v128.load64_splat offset=120 (i32.const 0)))
    (local.set $a2 (v128.load64_splat offset=128 (i32.const 0))) (local.set $h1 (v128.load64_splat offset=136 (i32.const 0)))
    (local.set $h2 (v128.load64_splat offset=144 (i32.const 0)))
    (local.set $s1 (v128.load offset=0 (i32.const 0)))
    (local.set $s2 (v128.load offset=16 (i32.const 0)))
    (local.set $s3 (v128.load offset=32 (i32.const 0)))
    (local.set $s4 (v128.load offset=48 (i32.const 0)))
    (local.set $energy (v128.const i64x2 0 0))
    (local.set $runMax (v128.const i64x2 0 0))
    (local.set $block (i32.const 160))
    (local.set $end (i32.add (local.get $input) (i32.mul (local.get $frames) (local.get $stride))))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $input) (local.get $end)))
        (local.set $blockEnd (i32.add (local.get $input) (i32.shl (local.get $stride) (i32.const 4))))
        (if (i32.gt_u (local.get $blockEnd) (local.get $end)) (then (local.set $blockEnd (local.get $end))))
        (local.set $blockMax (v128.const i64x2 0 0))
        (loop $frame
          ;; Two floats → two f64 lanes.
          (local.set $x (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $input))))
          (local.set $blockMax (f64x2.pmax (local.get $blockMax) (f64x2.abs (local.get $x))))
          (local.set $y (f64x2.add (f64x2.mul (local.get $b0) (local.get $x)) (local.get $s1)))
          (local.set $s1 (f64x2.sub (f64x2.add (f64x2.mul (local.get $b1) (local.get $x)) (local.get $s2))
                                    (f64x2.mul (local.get $a1) (local.get $y))))
          (local.set $s2 (f64x2.sub (f64x2.mul (local.get $b2) (local.get $x)) (f64x2.mul (local.get $a2) (local.get $y))))
          (local.set $k (f64x2.add (local.get $y) (local.get $s3)))
          (local.set $s3 (f64x2.sub (f64x2.sub (local.get $s4) (f64x2.add (local.get $y) (local.get $y)))
                                    (f64x2.mul (local.get $h1) (local.get $k))))
          (local.set $s4 (f64x2.sub (local.get $y) (f64x2.mul (local.get $h2) (local.get $k))))
          (local.set $energy (f64x2.add (local.get $energy) (f64x2.mul (local.get $k) (local.get $k))))
          (local.set $input (i32.add (local.get $input) (local.get $stride)))
          (br_if $frame (i32.lt_u (local.get $input) (local.get $blockEnd))))
        (v128.store (local.get $block) (local.get $blockMax))
        (local.set $runMax (f64x2.pmax (local.get $runMax) (local.get $blockMax)))
        (local.set $block (i32.add (local.get $block) (i32.const 16)))
        (br $blocks)))
    (v128.store offset=0 (i32.const 0) (local.get $s1))
    (v128.store offset=16 (i32.const 0) (local.get $s2))
    (v128.store offset=32 (i32.const 0) (local.get $s3))
    (v128.store offset=48 (i32.const 0) (local.get $s4))
    (v128.store offset=64 (i32.const 0) (local.get $energy))
    (v128.store offset=80 (i32.const 0) (local.get $runMax)))
)
