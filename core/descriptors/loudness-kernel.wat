;; The K-weighting of ITU-R BS.1770-4 (a high shelf, then the RLB high-pass: two biquads) over two channels at
;; once, one in each lane of a 128-bit f64x2 vector (WebAssembly SIMD), with the mean-square energy of the
;; K-weighted samples and the largest |sample| of each 16-frame block (the true-peak screen's input); and the
;; true peak of BS.1770-4 Annex 2 (4× oversampling by a 48-tap polyphase filter) of the blocks the screen keeps.
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
;;   160  in: the true-peak interpolator's folded coefficients, 4 × 6 f64: the sums and differences of phase 0's
;;        mirrored taps (S0, D0), then phase 1's (S1, D1) (see TRUE_PEAK_PHASE_0 in loudness.ts)
;;   352  out: the largest |sample| of each block of 16 frames (the last one may be shorter), f64x2 per block
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
    (local.set $block (i32.const 352))
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
    (local.set $block (i32.const 352))
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

  ;; The true peak of `frames` frames from byte `input` (`stride` bytes apart, 16-bit samples or, with `float`,
  ;; 32-bit floats; the 11 frames before `input` must be there too): the largest magnitude of the 4 interpolated
  ;; values after each sample, over both channels, in input units. As the scalar loop (interpolate in
  ;; loudness.ts): phases 0 and 3 are s0 ± d0, phases 1 and 2 s1 ± d1 of the folded sums of x[k] ± x[11−k], and
  ;; the larger magnitude of s ± d is |s| + |d|.
  (func (export "truePeak") (param $input i32) (param $frames i32) (param $stride i32) (param $float i32) (result f64)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128) (local $x4 v128) (local $x5 v128)
    (local $x6 v128) (local $x7 v128) (local $x8 v128) (local $x9 v128) (local $x10 v128) (local $x11 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128)
    (local $e0 v128) (local $e1 v128) (local $e2 v128) (local $e3 v128) (local $e4 v128) (local $e5 v128)
    (local $peak v128) (local $end i32) (local $at i32)
    ;; The 11 frames before the first.
    (local.set $at (i32.sub (local.get $input) (local.get $stride)))
    (local.set $x1 (call $frame (local.get $at) (local.get $float)))
    (local.set $at (i32.sub (local.get $at) (local.get $stride)))
    (local.set $x2 (call $frame (local.get $at) (local.get $float)))
    (local.set $at (i32.sub (local.get $at) (local.get $stride)))
    (local.set $x3 (call $frame (local.get $at) (local.get $float)))
    (local.set $at (i32.sub (local.get $at) (local.get $stride)))
    (local.set $x4 (call $frame (local.get $at) (local.get $float)))
    (local.set $at (i32.sub (local.get $at) (local.get $stride)))
    (local.set $x5 (call $frame (local.get $at) (local.get $float)))
    (local.set $at (i32.sub (local.get $at) (local.get $stride)))
    (local.set $x6 (call $frame (local.get $at) (local.get $float)))
    (local.set $at (i32.sub (local.get $at) (local.get $stride)))
    (local.set $x7 (call $frame (local.get $at) (local.get $float)))
    (local.set $at (i32.sub (local.get $at) (local.get $stride)))
    (local.set $x8 (call $frame (local.get $at) (local.get $float)))
    (local.set $at (i32.sub (local.get $at) (local.get $stride)))
    (local.set $x9 (call $frame (local.get $at) (local.get $float)))
    (local.set $at (i32.sub (local.get $at) (local.get $stride)))
    (local.set $x10 (call $frame (local.get $at) (local.get $float)))
    (local.set $at (i32.sub (local.get $at) (local.get $stride)))
    (local.set $x11 (call $frame (local.get $at) (local.get $float)))
    (local.set $peak (v128.const i64x2 0 0))
    (local.set $end (i32.add (local.get $input) (i32.mul (local.get $frames) (local.get $stride))))
    (loop $each
      (local.set $x0 (if (result v128) (local.get $float)
        (then (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $input))))
        (else (f64x2.convert_low_i32x4_s (i32x4.extend_low_i16x8_s (v128.load32_zero (local.get $input)))))))
      (local.set $a0 (f64x2.add (local.get $x0) (local.get $x11)))
      (local.set $a1 (f64x2.add (local.get $x1) (local.get $x10)))
      (local.set $a2 (f64x2.add (local.get $x2) (local.get $x9)))
      (local.set $a3 (f64x2.add (local.get $x3) (local.get $x8)))
      (local.set $a4 (f64x2.add (local.get $x4) (local.get $x7)))
      (local.set $a5 (f64x2.add (local.get $x5) (local.get $x6)))
      (local.set $e0 (f64x2.sub (local.get $x0) (local.get $x11)))
      (local.set $e1 (f64x2.sub (local.get $x1) (local.get $x10)))
      (local.set $e2 (f64x2.sub (local.get $x2) (local.get $x9)))
      (local.set $e3 (f64x2.sub (local.get $x3) (local.get $x8)))
      (local.set $e4 (f64x2.sub (local.get $x4) (local.get $x7)))
      (local.set $e5 (f64x2.sub (local.get $x5) (local.get $x6)))
      ;; |s0| + |d0| and |s1| + |d1|, each sum taken term by term from the first, as the scalar loop does (written
      ;; out: V8 does not inline a call here).
      (local.set $peak (f64x2.pmax (local.get $peak) (f64x2.add
        (f64x2.abs (f64x2.add (f64x2.add (f64x2.add (f64x2.add (f64x2.add (f64x2.mul (v128.load64_splat offset=160 (i32.const 0)) (local.get $a0))
          (f64x2.mul (v128.load64_splat offset=168 (i32.const 0)) (local.get $a1)))
          (f64x2.mul (v128.load64_splat offset=176 (i32.const 0)) (local.get $a2)))
          (f64x2.mul (v128.load64_splat offset=184 (i32.const 0)) (local.get $a3)))
          (f64x2.mul (v128.load64_splat offset=192 (i32.const 0)) (local.get $a4)))
          (f64x2.mul (v128.load64_splat offset=200 (i32.const 0)) (local.get $a5))))
        (f64x2.abs (f64x2.add (f64x2.add (f64x2.add (f64x2.add (f64x2.add (f64x2.mul (v128.load64_splat offset=208 (i32.const 0)) (local.get $e0))
          (f64x2.mul (v128.load64_splat offset=216 (i32.const 0)) (local.get $e1)))
          (f64x2.mul (v128.load64_splat offset=224 (i32.const 0)) (local.get $e2)))
          (f64x2.mul (v128.load64_splat offset=232 (i32.const 0)) (local.get $e3)))
          (f64x2.mul (v128.load64_splat offset=240 (i32.const 0)) (local.get $e4)))
          (f64x2.mul (v128.load64_splat offset=248 (i32.const 0)) (local.get $e5)))))))
      (local.set $peak (f64x2.pmax (local.get $peak) (f64x2.add
        (f64x2.abs (f64x2.add (f64x2.add (f64x2.add (f64x2.add (f64x2.add (f64x2.mul (v128.load64_splat offset=256 (i32.const 0)) (local.get $a0))
          (f64x2.mul (v128.load64_splat offset=264 (i32.const 0)) (local.get $a1)))
          (f64x2.mul (v128.load64_splat offset=272 (i32.const 0)) (local.get $a2)))
          (f64x2.mul (v128.load64_splat offset=280 (i32.const 0)) (local.get $a3)))
          (f64x2.mul (v128.load64_splat offset=288 (i32.const 0)) (local.get $a4)))
          (f64x2.mul (v128.load64_splat offset=296 (i32.const 0)) (local.get $a5))))
        (f64x2.abs (f64x2.add (f64x2.add (f64x2.add (f64x2.add (f64x2.add (f64x2.mul (v128.load64_splat offset=304 (i32.const 0)) (local.get $e0))
          (f64x2.mul (v128.load64_splat offset=312 (i32.const 0)) (local.get $e1)))
          (f64x2.mul (v128.load64_splat offset=320 (i32.const 0)) (local.get $e2)))
          (f64x2.mul (v128.load64_splat offset=328 (i32.const 0)) (local.get $e3)))
          (f64x2.mul (v128.load64_splat offset=336 (i32.const 0)) (local.get $e4)))
          (f64x2.mul (v128.load64_splat offset=344 (i32.const 0)) (local.get $e5)))))))
      (local.set $x11 (local.get $x10)) (local.set $x10 (local.get $x9)) (local.set $x9 (local.get $x8))
      (local.set $x8 (local.get $x7)) (local.set $x7 (local.get $x6)) (local.set $x6 (local.get $x5))
      (local.set $x5 (local.get $x4)) (local.set $x4 (local.get $x3)) (local.set $x3 (local.get $x2))
      (local.set $x2 (local.get $x1)) (local.set $x1 (local.get $x0))
      (local.set $input (i32.add (local.get $input) (local.get $stride)))
      (br_if $each (i32.lt_u (local.get $input) (local.get $end))))
    (f64.max (f64x2.extract_lane 0 (local.get $peak)) (f64x2.extract_lane 1 (local.get $peak))))

  ;; One frame's two samples as f64x2: 16-bit integers, or with `float` 32-bit floats.
  (func $frame (param $at i32) (param $float i32) (result v128)
    (if (result v128) (local.get $float)
      (then (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $at))))
      (else (f64x2.convert_low_i32x4_s (i32x4.extend_low_i16x8_s (v128.load32_zero (local.get $at)))))))

)
