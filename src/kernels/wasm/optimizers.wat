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

  ;; float32 values at $src to bfloat16 codes at $dst (two bytes each, in value order); an odd
  ;; count also writes the zero code after the last, completing its word.
  (func (export "bf16pack") (param $src i32) (param $dst i32) (param $n i32)
    (local $vend i32) (local $end i32) (local $u v128) (local $lo v128) (local $hi v128)
    (local.set $vend (i32.add (local.get $src) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (block $vdone
      (loop $vec
        (br_if $vdone (i32.ge_u (local.get $src) (local.get $vend)))
        ;; Round to nearest even on the 16 bits dropped (a carry may reach the exponent, to
        ;; infinity); NaN becomes the quiet NaN 0x7FC0. Every code is at most 0xFFFF, so the
        ;; saturating narrowing keeps it.
        (local.set $lo
          (v128.bitselect
              (i32x4.splat (i32.const 0x7fc0))
              (i32x4.shr_u
                (i32x4.add
                  (i32x4.add (local.tee $u (v128.load (local.get $src))) (i32x4.splat (i32.const 0x7fff)))
                  (v128.and (i32x4.shr_u (local.get $u) (i32.const 16)) (i32x4.splat (i32.const 1))))
                (i32.const 16))
              (i32x4.gt_s (v128.and (local.get $u) (i32x4.splat (i32.const 0x7fffffff))) (i32x4.splat (i32.const 0x7f800000)))))
        (local.set $hi
          (v128.bitselect
              (i32x4.splat (i32.const 0x7fc0))
              (i32x4.shr_u
                (i32x4.add
                  (i32x4.add (local.tee $u (v128.load offset=16 (local.get $src))) (i32x4.splat (i32.const 0x7fff)))
                  (v128.and (i32x4.shr_u (local.get $u) (i32.const 16)) (i32x4.splat (i32.const 1))))
                (i32.const 16))
              (i32x4.gt_s (v128.and (local.get $u) (i32x4.splat (i32.const 0x7fffffff))) (i32x4.splat (i32.const 0x7f800000)))))
        (v128.store (local.get $dst) (i16x8.narrow_i32x4_u (local.get $lo) (local.get $hi)))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $vec)))
    (block $tdone
      (loop $scalar
        (br_if $tdone (i32.ge_u (local.get $src) (local.get $end)))
        (i32.store16 (local.get $dst) (i32x4.extract_lane 0
          (v128.bitselect
              (i32x4.splat (i32.const 0x7fc0))
              (i32x4.shr_u
                (i32x4.add
                  (i32x4.add (local.tee $u (v128.load32_zero (local.get $src))) (i32x4.splat (i32.const 0x7fff)))
                  (v128.and (i32x4.shr_u (local.get $u) (i32.const 16)) (i32x4.splat (i32.const 1))))
                (i32.const 16))
              (i32x4.gt_s (v128.and (local.get $u) (i32x4.splat (i32.const 0x7fffffff))) (i32x4.splat (i32.const 0x7f800000))))))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 2)))
        (br $scalar)))
    (if (i32.and (local.get $n) (i32.const 1))
      (then (i32.store16 (local.get $dst) (i32.const 0)))))

  ;; int8 codes (one byte each, in value order) at $codes to float32 values at $dst: the map's
  ;; value of the code (256 float32 at $map) times the block's scale (one float32 per block of
  ;; 256 values at $scales), rounded once.
  (func (export "int8unpack") (param $scales i32) (param $codes i32) (param $dst i32) (param $n i32) (param $map i32)
    (local $i i32) (local $end i32) (local $scale f32)
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $scale (f32.load (i32.add (local.get $scales) (i32.shr_u (local.get $i) (i32.const 6)))))
        (local.set $end (i32.add (local.get $i) (i32.const 256)))
        (if (i32.gt_u (local.get $end) (local.get $n)) (then (local.set $end (local.get $n))))
        (loop $values
          (f32.store
            (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
            (f32.mul
              (f32.load (i32.add (local.get $map) (i32.shl (i32.load8_u (i32.add (local.get $codes) (local.get $i))) (i32.const 2))))
              (local.get $scale)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $values (i32.lt_u (local.get $i) (local.get $end))))
        (br $blocks))))

  ;; float32 values at $src to int8 codes at $codes (one byte each, then zero codes up to a
  ;; multiple of 4) and block scales at $scales: per block of 256 values, the absmax (the NaN
  ;; 0x7FC00000 for a block holding NaN or an infinity), and for each value the code of its
  ;; float32 quotient by the absmax (of 0 in a zero or non-finite block): the smallest code of
  ;; the quotient's upper 16 bits (65536 bytes at $tables + 1024), plus one if it exceeds that
  ;; code's midpoint (256 float32 at $tables, the last +Infinity). The quotients are finite, and
  ;; the float32 values sharing upper 16 bits with a finite one span at most two codes (checked
  ;; where the table is made), so one comparison finds the code.
  (func (export "int8pack") (param $src i32) (param $scales i32) (param $codes i32) (param $n i32) (param $tables i32)
    (local $i i32) (local $end i32) (local $vend i32) (local $absmax f32) (local $a f32) (local $finite i32)
    (local $zero i32) (local $q f32) (local $c i32) (local $word i32) (local $x v128) (local $vmax v128) (local $vok v128)
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $end (i32.add (local.get $i) (i32.const 256)))
        (if (i32.gt_u (local.get $end) (local.get $n)) (then (local.set $end (local.get $n))))
        (local.set $vend (i32.add (local.get $i) (i32.and (i32.sub (local.get $end) (local.get $i)) (i32.const -4))))
        ;; The absmax, and whether every value is finite (|x| <= the largest float32).
        (local.set $c (local.get $i))
        (local.set $vmax (f32x4.splat (f32.const 0)))
        (local.set $vok (i32x4.splat (i32.const -1)))
        (block $vdone
          (loop $vec
            (br_if $vdone (i32.ge_u (local.get $c) (local.get $vend)))
            (local.set $x (f32x4.abs (v128.load (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2))))))
            (local.set $vok (v128.and (local.get $vok) (f32x4.le (local.get $x) (f32x4.splat (f32.const 0x1.fffffep+127)))))
            (local.set $vmax (f32x4.max (local.get $vmax) (local.get $x)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $vec)))
        (local.set $finite (i32x4.all_true (local.get $vok)))
        (local.set $absmax
          (f32.max
            (f32.max (f32x4.extract_lane 0 (local.get $vmax)) (f32x4.extract_lane 1 (local.get $vmax)))
            (f32.max (f32x4.extract_lane 2 (local.get $vmax)) (f32x4.extract_lane 3 (local.get $vmax)))))
        (block $tdone
          (loop $tail
            (br_if $tdone (i32.ge_u (local.get $c) (local.get $end)))
            (local.set $a (f32.abs (f32.load (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2))))))
            (if (f32.le (local.get $a) (f32.const 0x1.fffffep+127))
              (then (local.set $absmax (f32.max (local.get $absmax) (local.get $a))))
              (else (local.set $finite (i32.const 0))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $tail)))
        (i32.store
          (i32.add (local.get $scales) (i32.shr_u (local.get $i) (i32.const 6)))
          (select (i32.reinterpret_f32 (local.get $absmax)) (i32.const 0x7fc00000) (local.get $finite)))
        (local.set $zero (i32.or (i32.eqz (local.get $finite)) (f32.eq (local.get $absmax) (f32.const 0))))
        ;; Four values at a time: their float32 quotients, then each one's code, into one word.
        (local.set $vmax (f32x4.splat (local.get $absmax)))
        (block $wdone
          (loop $words
            (br_if $wdone (i32.ge_u (local.get $i) (local.get $vend)))
            (local.set $x
              (v128.and
                (f32x4.div (v128.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))) (local.get $vmax))
                (i32x4.splat (i32.sub (local.get $zero) (i32.const 1)))))
            (local.set $word (i32.const 0))
            (local.set $c (i32.load8_u offset=1024 (i32.add (local.get $tables) (i32.shr_u (i32x4.extract_lane 0 (local.get $x)) (i32.const 16)))))
            (local.set $q (f32x4.extract_lane 0 (local.get $x)))
            (local.set $c (i32.add (local.get $c) (f32.gt (local.get $q) (f32.load (i32.add (local.get $tables) (i32.shl (local.get $c) (i32.const 2)))))))
            (local.set $word (i32.or (local.get $word) (i32.shl (local.get $c) (i32.const 0))))
            (local.set $c (i32.load8_u offset=1024 (i32.add (local.get $tables) (i32.shr_u (i32x4.extract_lane 1 (local.get $x)) (i32.const 16)))))
            (local.set $q (f32x4.extract_lane 1 (local.get $x)))
            (local.set $c (i32.add (local.get $c) (f32.gt (local.get $q) (f32.load (i32.add (local.get $tables) (i32.shl (local.get $c) (i32.const 2)))))))
            (local.set $word (i32.or (local.get $word) (i32.shl (local.get $c) (i32.const 8))))
            (local.set $c (i32.load8_u offset=1024 (i32.add (local.get $tables) (i32.shr_u (i32x4.extract_lane 2 (local.get $x)) (i32.const 16)))))
            (local.set $q (f32x4.extract_lane 2 (local.get $x)))
            (local.set $c (i32.add (local.get $c) (f32.gt (local.get $q) (f32.load (i32.add (local.get $tables) (i32.shl (local.get $c) (i32.const 2)))))))
            (local.set $word (i32.or (local.get $word) (i32.shl (local.get $c) (i32.const 16))))
            (local.set $c (i32.load8_u offset=1024 (i32.add (local.get $tables) (i32.shr_u (i32x4.extract_lane 3 (local.get $x)) (i32.const 16)))))
            (local.set $q (f32x4.extract_lane 3 (local.get $x)))
            (local.set $c (i32.add (local.get $c) (f32.gt (local.get $q) (f32.load (i32.add (local.get $tables) (i32.shl (local.get $c) (i32.const 2)))))))
            (local.set $word (i32.or (local.get $word) (i32.shl (local.get $c) (i32.const 24))))
            (i32.store (i32.add (local.get $codes) (local.get $i)) (local.get $word))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $words)))
        ;; The last values of a count that is not a multiple of 4, one at a time.
        (block $vals
          (loop $values
            (br_if $vals (i32.ge_u (local.get $i) (local.get $end)))
            (local.set $q
              (select
                (f32.const 0)
                (f32.div (f32.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))) (local.get $absmax))
                (local.get $zero)))
            (local.set $c (i32.load8_u offset=1024 (i32.add (local.get $tables) (i32.shr_u (i32.reinterpret_f32 (local.get $q)) (i32.const 16)))))
            (local.set $c (i32.add (local.get $c) (f32.gt (local.get $q) (f32.load (i32.add (local.get $tables) (i32.shl (local.get $c) (i32.const 2)))))))
            (i32.store8 (i32.add (local.get $codes) (local.get $i)) (local.get $c))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $values)))
        (br $blocks)))
    (block $padded
      (loop $pad
        (br_if $padded (i32.eqz (i32.and (local.get $i) (i32.const 3))))
        (i32.store8 (i32.add (local.get $codes) (local.get $i)) (i32.const 0))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $pad))))
)
