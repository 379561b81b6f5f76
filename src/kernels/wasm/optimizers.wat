;; The hand-written part of the WebAssembly SIMD kernels for the tfjs wasm backend (the update
;; rules themselves are generated from the element steps: see emit.ts). The module imports the
;; backend's own memory, so it reads tensor buffers where tfjs keeps them.
;;
;; A table in memory describes the leaves, two i32 words per leaf: [0] n, the number of float32
;; elements, [1] the byte offset of the leaf's data.

(module
  (import "env" "memory" (memory 1))

  ;; The sum of squares of every element of every leaf, accumulated in float64.
  (func (export "sumsq") (param $table i32) (param $count i32) (result f64)
    (local $j i32) (local $rec i32) (local $n i32) (local $ptr i32) (local $end i32) (local $vend i32)
    (local $x v128) (local $lo v128) (local $hi v128) (local $acc0 v128) (local $acc1 v128) (local $tail f64) (local $s f64)
    (local.set $acc0 (f64x2.splat (f64.const 0)))
    (local.set $acc1 (f64x2.splat (f64.const 0)))
    (block $done
      (loop $leaves
        (br_if $done (i32.ge_u (local.get $j) (local.get $count)))
        (local.set $rec (i32.add (local.get $table) (i32.shl (local.get $j) (i32.const 3))))
        (local.set $n (i32.load (local.get $rec)))
        (local.set $ptr (i32.load offset=4 (local.get $rec)))
        (local.set $end (i32.add (local.get $ptr) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $vend (i32.add (local.get $ptr) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
        (block $vdone
          (loop $vec
            (br_if $vdone (i32.ge_u (local.get $ptr) (local.get $vend)))
            (local.set $x (v128.load (local.get $ptr)))
            (local.set $lo (f64x2.promote_low_f32x4 (local.get $x)))
            (local.set $hi (f64x2.promote_low_f32x4
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $x) (local.get $x))))
            (local.set $acc0 (f64x2.add (local.get $acc0) (f64x2.mul (local.get $lo) (local.get $lo))))
            (local.set $acc1 (f64x2.add (local.get $acc1) (f64x2.mul (local.get $hi) (local.get $hi))))
            (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
            (br $vec)))
        (block $tdone
          (loop $scalar
            (br_if $tdone (i32.ge_u (local.get $ptr) (local.get $end)))
            (local.set $s (f64.promote_f32 (f32.load (local.get $ptr))))
            (local.set $tail (f64.add (local.get $tail) (f64.mul (local.get $s) (local.get $s))))
            (local.set $ptr (i32.add (local.get $ptr) (i32.const 4)))
            (br $scalar)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $leaves)))
    (local.set $acc0 (f64x2.add (local.get $acc0) (local.get $acc1)))
    (f64.add
      (local.get $tail)
      (f64.add (f64x2.extract_lane 0 (local.get $acc0)) (f64x2.extract_lane 1 (local.get $acc0)))))
  ;; bfloat16 codes (two bytes each, in value order) at $src to float32 values at $dst: each
  ;; code is the upper 16 bits of its value. Eight values per SIMD step.
  (func (export "bf16unpack") (param $src i32) (param $dst i32) (param $n i32)
    (local $vend i32) (local $end i32) (local $x v128)
    (local.set $vend (i32.add (local.get $src) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 1))))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 1))))
    (block $vdone
      (loop $vec
        (br_if $vdone (i32.ge_u (local.get $src) (local.get $vend)))
        (local.set $x (v128.load (local.get $src)))
        (v128.store (local.get $dst) (i32x4.shl (i32x4.extend_low_i16x8_u (local.get $x)) (i32.const 16)))
        (v128.store offset=16 (local.get $dst) (i32x4.shl (i32x4.extend_high_i16x8_u (local.get $x)) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (br $vec)))
    (block $tdone
      (loop $scalar
        (br_if $tdone (i32.ge_u (local.get $src) (local.get $end)))
        (i32.store (local.get $dst) (i32.shl (i32.load16_u (local.get $src)) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 2)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $scalar))))

  ;; The bfloat16 code of the float32 bits $u (four lanes): round to nearest even on the 16 bits
  ;; dropped (a carry may reach the exponent, to infinity); NaN becomes the quiet NaN 0x7FC0.
  (func $bf16 (param $u v128) (result v128)
    (v128.bitselect
      (i32x4.splat (i32.const 0x7fc0))
      (i32x4.shr_u
        (i32x4.add
          (i32x4.add (local.get $u) (i32x4.splat (i32.const 0x7fff)))
          (v128.and (i32x4.shr_u (local.get $u) (i32.const 16)) (i32x4.splat (i32.const 1))))
        (i32.const 16))
      (i32x4.gt_s (v128.and (local.get $u) (i32x4.splat (i32.const 0x7fffffff))) (i32x4.splat (i32.const 0x7f800000)))))

  ;; float32 values at $src to bfloat16 codes at $dst (two bytes each, in value order); an odd
  ;; count also writes the zero code after the last, completing its word.
  (func (export "bf16pack") (param $src i32) (param $dst i32) (param $n i32)
    (local $vend i32) (local $end i32)
    (local.set $vend (i32.add (local.get $src) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (block $vdone
      (loop $vec
        (br_if $vdone (i32.ge_u (local.get $src) (local.get $vend)))
        ;; Every code is at most 0xFFFF, so the saturating narrowing keeps it.
        (v128.store (local.get $dst)
          (i16x8.narrow_i32x4_u
            (call $bf16 (v128.load (local.get $src)))
            (call $bf16 (v128.load offset=16 (local.get $src)))))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $vec)))
    (block $tdone
      (loop $scalar
        (br_if $tdone (i32.ge_u (local.get $src) (local.get $end)))
        (i32.store16 (local.get $dst) (i32x4.extract_lane 0 (call $bf16 (v128.load32_zero (local.get $src)))))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 2)))
        (br $scalar)))
    (if (i32.and (local.get $n) (i32.const 1))
      (then (i32.store16 (local.get $dst) (i32.const 0)))))
)
