;; The per-frame work around PFFFT's transform (core/descriptors/fft.ts), in WebAssembly SIMD on PFFFT's own
;; memory (imported), so a frame's samples, spectrum and band sums never leave the WebAssembly heap: windowing the
;; frame, the power |X[k]|² of each bin, and the short frames' band sums and SuperFlux band magnitudes
;; (core/descriptors/frames.ts).
;;
;; Assembled by scripts/embed-wasm-kernels.ts (wabt) into core/descriptors/spectrum-wasm.ts. Each function does the
;; arithmetic of the JavaScript loop it replaced, in the same order and precision (WebAssembly fuses no
;; multiply-add; a float32 product rounded once equals JavaScript's double product stored into a Float32Array),
;; so the figures are the same to the last bit. All addresses are in bytes.
(module
  (import "pffft" "memory" (memory 1))

  ;; frame[t] ×= window[t] for t < count (a multiple of 4), float32.
  (func (export "applyWindow") (param $frame i32) (param $window i32) (param $count i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $frame) (i32.shl (local.get $count) (i32.const 2))))
    (loop $each
      (v128.store (local.get $frame) (f32x4.mul (v128.load (local.get $frame)) (v128.load (local.get $window))))
      (local.set $frame (i32.add (local.get $frame) (i32.const 16)))
      (local.set $window (i32.add (local.get $window) (i32.const 16)))
      (br_if $each (i32.lt_u (local.get $frame) (local.get $end)))))

  ;; The power of bins 0 … half of PFFFT's ordered real spectrum at `spectrum` (float32: DC, Nyquist, then re, im
  ;; of bins 1 … half − 1) into `out` (float64, half + 1 values), each re·re + im·im in double precision.
  (func (export "power") (param $spectrum i32) (param $out i32) (param $half i32)
    (local $k i32) (local $bins v128) (local $re v128) (local $im v128) (local $v f64)
    (local.set $v (f64.promote_f32 (f32.load (local.get $spectrum))))
    (f64.store (local.get $out) (f64.mul (local.get $v) (local.get $v)))
    (local.set $v (f64.promote_f32 (f32.load offset=4 (local.get $spectrum))))
    (f64.store (i32.add (local.get $out) (i32.shl (local.get $half) (i32.const 3))) (f64.mul (local.get $v) (local.get $v)))
    ;; Bins k and k + 1 together: (re_k, im_k, re_k+1, im_k+1) → (re_k, re_k+1) and (im_k, im_k+1) in double.
    (local.set $k (i32.const 1))
    (block $pairsDone
      (loop $pairs
        (br_if $pairsDone (i32.ge_u (i32.add (local.get $k) (i32.const 1)) (local.get $half)))
        (local.set $bins (v128.load (i32.add (local.get $spectrum) (i32.shl (local.get $k) (i32.const 3)))))
        (local.set $re (f64x2.promote_low_f32x4
          (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $bins) (local.get $bins))))
        (local.set $im (f64x2.promote_low_f32x4
          (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $bins) (local.get $bins))))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3)))
          (f64x2.add (f64x2.mul (local.get $re) (local.get $re)) (f64x2.mul (local.get $im) (local.get $im))))
        (local.set $k (i32.add (local.get $k) (i32.const 2)))
        (br $pairs)))
    ;; The last bin below Nyquist when it has no partner.
    (if (i32.lt_u (local.get $k) (local.get $half))
      (then
        (local.set $v (f64.promote_f32 (f32.load (i32.add (local.get $spectrum) (i32.shl (local.get $k) (i32.const 3))))))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3)))
          (f64.add (f64.mul (local.get $v) (local.get $v))
            (f64.mul
              (f64.promote_f32 (f32.load offset=4 (i32.add (local.get $spectrum) (i32.shl (local.get $k) (i32.const 3)))))
              (f64.promote_f32 (f32.load offset=4 (i32.add (local.get $spectrum) (i32.shl (local.get $k) (i32.const 3)))))))))))

  ;; Band sums of a power spectrum `power` (float64 per bin) over `bands` bands, band b holding bins
  ;; edges[b] … edges[b + 1] − 1 (`edges`: int32): the magnitude of each band, sqrt(Σ power)·scale, into
  ;; `magnitudes` (float32), then Σ sqrt(power) and Σ sqrt(power)·k over all those bins into `sums` (2 × float64).
  ;; Each sum runs in two lanes (a band's bins taken in pairs: the first of each pair in lane 0, the second in lane
  ;; 1, a band's odd one out in lane 0), added together at the end, as the JavaScript loop kept two accumulators.
  (func (export "bandSums") (param $power i32) (param $edges i32) (param $bands i32) (param $scale f64)
    (param $magnitudes i32) (param $sums i32)
    (local $b i32) (local $k i32) (local $to i32)
    (local $band v128) (local $magnitude v128) (local $weighted v128) (local $p v128) (local $m v128)
    (local.set $magnitude (v128.const i64x2 0 0))
    (local.set $weighted (v128.const i64x2 0 0))
    (block $bandsDone
      (loop $eachBand
        (br_if $bandsDone (i32.ge_u (local.get $b) (local.get $bands)))
        (local.set $k (i32.load (i32.add (local.get $edges) (i32.shl (local.get $b) (i32.const 2)))))
        (local.set $to (i32.load offset=4 (i32.add (local.get $edges) (i32.shl (local.get $b) (i32.const 2)))))
        (local.set $band (v128.const i64x2 0 0))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.ge_s (i32.add (local.get $k) (i32.const 1)) (local.get $to)))
            (local.set $p (v128.load (i32.add (local.get $power) (i32.shl (local.get $k) (i32.const 3)))))
            (local.set $band (f64x2.add (local.get $band) (local.get $p)))
            (local.set $m (f64x2.sqrt (local.get $p)))
            (local.set $magnitude (f64x2.add (local.get $magnitude) (local.get $m)))
            ;; m · (k, k + 1)
            (local.set $weighted (f64x2.add (local.get $weighted) (f64x2.mul (local.get $m)
              (f64x2.convert_low_i32x4_s (i32x4.add (i32x4.splat (local.get $k)) (v128.const i32x4 0 1 0 0))))))
            (local.set $k (i32.add (local.get $k) (i32.const 2)))
            (br $pairs)))
        ;; The odd one out, in lane 0 only: lane 1 gets zeros, which leave its sums as they are.
        (if (i32.lt_s (local.get $k) (local.get $to))
          (then
            (local.set $p (v128.load64_zero (i32.add (local.get $power) (i32.shl (local.get $k) (i32.const 3)))))
            (local.set $band (f64x2.add (local.get $band) (local.get $p)))
            (local.set $m (f64x2.sqrt (local.get $p)))
            (local.set $magnitude (f64x2.add (local.get $magnitude) (local.get $m)))
            (local.set $weighted (f64x2.add (local.get $weighted) (f64x2.mul (local.get $m)
              (f64x2.convert_low_i32x4_s (i32x4.add (i32x4.splat (local.get $k)) (v128.const i32x4 0 1 0 0))))))))
        (f32.store (i32.add (local.get $magnitudes) (i32.shl (local.get $b) (i32.const 2)))
          (f32.demote_f64 (f64.mul
            (f64.sqrt (f64.add (f64x2.extract_lane 0 (local.get $band)) (f64x2.extract_lane 1 (local.get $band))))
            (local.get $scale))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $eachBand)))
    (f64.store (local.get $sums)
      (f64.add (f64x2.extract_lane 0 (local.get $magnitude)) (f64x2.extract_lane 1 (local.get $magnitude))))
    (f64.store offset=8 (local.get $sums)
      (f64.add (f64x2.extract_lane 0 (local.get $weighted)) (f64x2.extract_lane 1 (local.get $weighted)))))

  ;; The band magnitudes alone, as bandSums computes them (the same two lanes, the same order): for bands
  ;; edges[b] … edges[b + 1] − 1, sqrt(Σ power)·scale into `magnitudes` (float32). For SuperFlux's filterbank, which
  ;; needs neither the square root of every bin nor the frame's magnitude sums.
  (func (export "bandMagnitudes") (param $power i32) (param $edges i32) (param $bands i32) (param $scale f64)
    (param $magnitudes i32)
    (local $b i32) (local $k i32) (local $to i32) (local $band v128)
    (block $bandsDone
      (loop $eachBand
        (br_if $bandsDone (i32.ge_u (local.get $b) (local.get $bands)))
        (local.set $k (i32.load (i32.add (local.get $edges) (i32.shl (local.get $b) (i32.const 2)))))
        (local.set $to (i32.load offset=4 (i32.add (local.get $edges) (i32.shl (local.get $b) (i32.const 2)))))
        (local.set $band (v128.const i64x2 0 0))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.ge_s (i32.add (local.get $k) (i32.const 1)) (local.get $to)))
            (local.set $band (f64x2.add (local.get $band) (v128.load (i32.add (local.get $power) (i32.shl (local.get $k) (i32.const 3))))))
            (local.set $k (i32.add (local.get $k) (i32.const 2)))
            (br $pairs)))
        (if (i32.lt_s (local.get $k) (local.get $to))
          (then
            (local.set $band (f64x2.add (local.get $band)
              (v128.load64_zero (i32.add (local.get $power) (i32.shl (local.get $k) (i32.const 3))))))))
        (f32.store (i32.add (local.get $magnitudes) (i32.shl (local.get $b) (i32.const 2)))
          (f32.demote_f64 (f64.mul
            (f64.sqrt (f64.add (f64x2.extract_lane 0 (local.get $band)) (f64x2.extract_lane 1 (local.get $band))))
            (local.get $scale))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $eachBand))))
)
