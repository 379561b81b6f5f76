;; Fused multi-tensor optimizer kernels for the tfjs wasm backend (WebAssembly SIMD).
;;
;; The module imports the backend's own memory, so it reads and writes tensor buffers where
;; tfjs keeps them. Each exported kernel processes every leaf of a parameter tree in one call,
;; described by a table of records in memory (11 i32 words, 44 bytes, per leaf):
;;
;;   [0] n      number of float32 elements
;;   [1] decay  1 to add weight decay on this leaf (adam), else 0
;;   [2..6]     input pointers  in0..in4  (0 when unused)
;;   [7..10]    output pointers out0..out3 (0 when unused)
;;
;; A leaf is processed in 4-wide vectors; its last n mod 4 elements are copied into a scratch
;; area and go through the same vector body once more. Every element is read before it is
;; written, so an output may be its own input (the in-place step of trainStep).
;;
;; Per-step scalars come as float32 values at $sc; flags select variants:
;;   bit 0 nesterov, bit 1 apply (out0 = p + u instead of u), bit 2 clip (scale g first),
;;   bit 3 weight decay, bit 4 momentum, bit 5 centered, bit 6 eps inside the root,
;;   bit 7 bias correction, bit 8 rsqrt as the cpu backend's tf.rsqrt rounds it (1 / sqrt(x) in
;;   float64, rounded once; without it the root is rounded to float32 and then divided, as the
;;   wasm backend's).
;; The element-wise formulas and their operation order are those of the composite tf-op path
;; in src/transforms (see src/kernels/spec.ts for the scalar layouts).

(module
  (import "env" "memory" (memory 1))

  ;; Scratch layout: 9 blocks of 16 bytes (in0..in4, out0..out3) then the 4 saved outputs.
  ;; The last n mod 4 elements of a leaf are copied into the scratch blocks, so the vector body
  ;; runs once more on them there; pointers are rebased so that (pointer + $o) lands in scratch.
  (func $prepare_tail (param $rec i32) (param $scratch i32) (param $o i32) (param $rem i32)
    (local $k i32) (local $ptr i32) (local $block i32)
    (local.set $k (i32.const 0))
    (loop $inputs
      (local.set $ptr (i32.load offset=8 (i32.add (local.get $rec) (i32.shl (local.get $k) (i32.const 2)))))
      (if (local.get $ptr)
        (then
          (local.set $block (i32.add (local.get $scratch) (i32.shl (local.get $k) (i32.const 4))))
          (v128.store (local.get $block) (v128.const i32x4 0 0 0 0))
          (memory.copy (local.get $block) (i32.add (local.get $ptr) (local.get $o)) (i32.shl (local.get $rem) (i32.const 2)))
          (i32.store offset=8
            (i32.add (local.get $rec) (i32.shl (local.get $k) (i32.const 2)))
            (i32.sub (local.get $block) (local.get $o)))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $inputs (i32.lt_u (local.get $k) (i32.const 5))))
    (local.set $k (i32.const 0))
    (loop $outputs
      (local.set $ptr (i32.load offset=28 (i32.add (local.get $rec) (i32.shl (local.get $k) (i32.const 2)))))
      (i32.store offset=144 (i32.add (local.get $scratch) (i32.shl (local.get $k) (i32.const 2))) (local.get $ptr))
      (if (local.get $ptr)
        (then
          (i32.store offset=28
            (i32.add (local.get $rec) (i32.shl (local.get $k) (i32.const 2)))
            (i32.sub
              (i32.add (local.get $scratch) (i32.shl (i32.add (local.get $k) (i32.const 5)) (i32.const 4)))
              (local.get $o)))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $outputs (i32.lt_u (local.get $k) (i32.const 4)))))

  (func $finish_tail (param $scratch i32) (param $o i32) (param $rem i32)
    (local $k i32) (local $ptr i32)
    (local.set $k (i32.const 0))
    (loop $outputs
      (local.set $ptr (i32.load offset=144 (i32.add (local.get $scratch) (i32.shl (local.get $k) (i32.const 2)))))
      (if (local.get $ptr)
        (then
          (memory.copy
            (i32.add (local.get $ptr) (local.get $o))
            (i32.add (local.get $scratch) (i32.shl (i32.add (local.get $k) (i32.const 5)) (i32.const 4)))
            (i32.shl (local.get $rem) (i32.const 2)))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $outputs (i32.lt_u (local.get $k) (i32.const 4)))))

  ;; Sum of squares of in0 over all leaves, accumulated in float64 (for global-norm clipping).
  (func (export "sumsq") (param $table i32) (param $count i32) (result f64)
    (local $j i32) (local $rec i32) (local $n i32) (local $ptr i32) (local $end i32) (local $vend i32)
    (local $x v128) (local $lo v128) (local $hi v128) (local $acc0 v128) (local $acc1 v128) (local $tail f64) (local $s f64)
    (local.set $acc0 (f64x2.splat (f64.const 0)))
    (local.set $acc1 (f64x2.splat (f64.const 0)))
    (block $done
      (loop $leaves
        (br_if $done (i32.ge_u (local.get $j) (local.get $count)))
        (local.set $rec (i32.add (local.get $table) (i32.mul (local.get $j) (i32.const 44))))
        (local.set $n (i32.load (local.get $rec)))
        (local.set $ptr (i32.load offset=8 (local.get $rec)))
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

  ;; Adam / NAdam / AdamW. in: g p m v; out: u|p' m' v'.
  ;; scalars: b1 1-b1 b2 1-b2 bc1 bc1(t+1) bc2 eps epsRoot wd lr clip
  (func (export "adam") (param $table i32) (param $count i32) (param $sc i32) (param $flags i32) (param $scratch i32)
    (local $b1 v128) (local $c1 v128) (local $b2 v128) (local $c2 v128) (local $bc1 v128) (local $bc1n v128)
    (local $bc2 v128) (local $eps v128) (local $epsRoot v128) (local $wd v128) (local $lr v128) (local $clip v128)
    (local $j i32) (local $rec i32) (local $n i32) (local $end i32) (local $rem i32) (local $tail i32) (local $o i32) (local $decay i32)
    (local $pg i32) (local $pp i32) (local $pm i32) (local $pv i32) (local $q0 i32) (local $q1 i32) (local $q2 i32)
    (local $g v128) (local $m v128) (local $v v128) (local $mh v128) (local $u v128)
    (local.set $b1 (v128.load32_splat offset=0 (local.get $sc)))
    (local.set $c1 (v128.load32_splat offset=4 (local.get $sc)))
    (local.set $b2 (v128.load32_splat offset=8 (local.get $sc)))
    (local.set $c2 (v128.load32_splat offset=12 (local.get $sc)))
    (local.set $bc1 (v128.load32_splat offset=16 (local.get $sc)))
    (local.set $bc1n (v128.load32_splat offset=20 (local.get $sc)))
    (local.set $bc2 (v128.load32_splat offset=24 (local.get $sc)))
    (local.set $eps (v128.load32_splat offset=28 (local.get $sc)))
    (local.set $epsRoot (v128.load32_splat offset=32 (local.get $sc)))
    (local.set $wd (v128.load32_splat offset=36 (local.get $sc)))
    (local.set $lr (v128.load32_splat offset=40 (local.get $sc)))
    (local.set $clip (v128.load32_splat offset=44 (local.get $sc)))
    (block $done
      (loop $leaves
        (br_if $done (i32.ge_u (local.get $j) (local.get $count)))
        (local.set $rec (i32.add (local.get $table) (i32.mul (local.get $j) (i32.const 44))))
        (local.set $n (i32.load (local.get $rec)))
        (if (local.get $n)
          (then
            (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
            (local.set $rem (i32.and (local.get $n) (i32.const 3)))
            (local.set $tail (i32.const 0))
            (local.set $o (i32.const 0))
            (loop $phase
            (local.set $decay (i32.and (i32.load offset=4 (local.get $rec)) (i32.shr_u (local.get $flags) (i32.const 3))))
            (local.set $pg (i32.load offset=8 (local.get $rec)))
            (local.set $pp (i32.load offset=12 (local.get $rec)))
            (local.set $pm (i32.load offset=16 (local.get $rec)))
            (local.set $pv (i32.load offset=20 (local.get $rec)))
            (local.set $q0 (i32.load offset=28 (local.get $rec)))
            (local.set $q1 (i32.load offset=32 (local.get $rec)))
            (local.set $q2 (i32.load offset=36 (local.get $rec)))
            (block $vdone
            (loop $vec
              (br_if $vdone (i32.ge_u (local.get $o) (local.get $end)))
              (local.set $g (v128.load (i32.add (local.get $pg) (local.get $o))))
              (if (i32.and (local.get $flags) (i32.const 4))
                (then (local.set $g (f32x4.mul (local.get $g) (local.get $clip)))))
              (local.set $m (f32x4.add
                (f32x4.mul (local.get $c1) (local.get $g))
                (f32x4.mul (local.get $b1) (v128.load (i32.add (local.get $pm) (local.get $o))))))
              (local.set $v (f32x4.add
                (f32x4.mul (local.get $c2) (f32x4.mul (local.get $g) (local.get $g)))
                (f32x4.mul (local.get $b2) (v128.load (i32.add (local.get $pv) (local.get $o))))))
              (v128.store (i32.add (local.get $q1) (local.get $o)) (local.get $m))
              (v128.store (i32.add (local.get $q2) (local.get $o)) (local.get $v))
              (if (i32.and (local.get $flags) (i32.const 1))
                (then (local.set $mh (f32x4.add
                  (f32x4.mul (local.get $b1) (f32x4.div (local.get $m) (local.get $bc1n)))
                  (f32x4.mul (local.get $c1) (f32x4.div (local.get $g) (local.get $bc1))))))
                (else (local.set $mh (f32x4.div (local.get $m) (local.get $bc1)))))
              (local.set $u (f32x4.div
                (local.get $mh)
                (f32x4.add
                  (f32x4.sqrt (f32x4.add (f32x4.div (local.get $v) (local.get $bc2)) (local.get $epsRoot)))
                  (local.get $eps))))
              (if (local.get $decay)
                (then (local.set $u (f32x4.add (local.get $u)
                  (f32x4.mul (local.get $wd) (v128.load (i32.add (local.get $pp) (local.get $o))))))))
              (local.set $u (f32x4.mul (local.get $u) (local.get $lr)))
              (if (i32.and (local.get $flags) (i32.const 2))
                (then (local.set $u (f32x4.add (v128.load (i32.add (local.get $pp) (local.get $o))) (local.get $u)))))
              (v128.store (i32.add (local.get $q0) (local.get $o)) (local.get $u))
              (local.set $o (i32.add (local.get $o) (i32.const 16)))
              (br $vec)))
            ;; One more vector for the last n mod 4 elements, through scratch.
            (if (i32.and (i32.ne (local.get $rem) (i32.const 0)) (i32.eqz (local.get $tail)))
              (then
                (call $prepare_tail (local.get $rec) (local.get $scratch) (local.get $o) (local.get $rem))
                (local.set $end (i32.add (local.get $o) (i32.const 16)))
                (local.set $tail (i32.const 1))
                (br $phase))))
            (if (local.get $tail)
              (then (call $finish_tail (local.get $scratch) (i32.sub (local.get $o) (i32.const 16)) (local.get $rem))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $leaves))))

  ;; SGD with optional heavy-ball or Nesterov momentum. in: g p t; out: u|p' t'.
  ;; scalars: momentum lr clip
  (func (export "sgd") (param $table i32) (param $count i32) (param $sc i32) (param $flags i32) (param $scratch i32)
    (local $md v128) (local $lr v128) (local $clip v128)
    (local $j i32) (local $rec i32) (local $n i32) (local $end i32) (local $rem i32) (local $tail i32) (local $o i32)
    (local $pg i32) (local $pp i32) (local $pt i32) (local $q0 i32) (local $q1 i32)
    (local $g v128) (local $t v128) (local $u v128)
    (local.set $md (v128.load32_splat offset=0 (local.get $sc)))
    (local.set $lr (v128.load32_splat offset=4 (local.get $sc)))
    (local.set $clip (v128.load32_splat offset=8 (local.get $sc)))
    (block $done
      (loop $leaves
        (br_if $done (i32.ge_u (local.get $j) (local.get $count)))
        (local.set $rec (i32.add (local.get $table) (i32.mul (local.get $j) (i32.const 44))))
        (local.set $n (i32.load (local.get $rec)))
        (if (local.get $n)
          (then
            (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
            (local.set $rem (i32.and (local.get $n) (i32.const 3)))
            (local.set $tail (i32.const 0))
            (local.set $o (i32.const 0))
            (loop $phase
            (local.set $pg (i32.load offset=8 (local.get $rec)))
            (local.set $pp (i32.load offset=12 (local.get $rec)))
            (local.set $pt (i32.load offset=16 (local.get $rec)))
            (local.set $q0 (i32.load offset=28 (local.get $rec)))
            (local.set $q1 (i32.load offset=32 (local.get $rec)))
            (block $vdone
            (loop $vec
              (br_if $vdone (i32.ge_u (local.get $o) (local.get $end)))
              (local.set $g (v128.load (i32.add (local.get $pg) (local.get $o))))
              (if (i32.and (local.get $flags) (i32.const 4))
                (then (local.set $g (f32x4.mul (local.get $g) (local.get $clip)))))
              (local.set $u (local.get $g))
              (if (i32.and (local.get $flags) (i32.const 16))
                (then
                  (local.set $t (f32x4.add (local.get $g)
                    (f32x4.mul (local.get $md) (v128.load (i32.add (local.get $pt) (local.get $o))))))
                  (v128.store (i32.add (local.get $q1) (local.get $o)) (local.get $t))
                  (local.set $u (local.get $t))
                  (if (i32.and (local.get $flags) (i32.const 1))
                    (then (local.set $u (f32x4.add (local.get $g) (f32x4.mul (local.get $md) (local.get $t))))))))
              (local.set $u (f32x4.mul (local.get $u) (local.get $lr)))
              (if (i32.and (local.get $flags) (i32.const 2))
                (then (local.set $u (f32x4.add (v128.load (i32.add (local.get $pp) (local.get $o))) (local.get $u)))))
              (v128.store (i32.add (local.get $q0) (local.get $o)) (local.get $u))
              (local.set $o (i32.add (local.get $o) (i32.const 16)))
              (br $vec)))
            ;; One more vector for the last n mod 4 elements, through scratch.
            (if (i32.and (i32.ne (local.get $rem) (i32.const 0)) (i32.eqz (local.get $tail)))
              (then
                (call $prepare_tail (local.get $rec) (local.get $scratch) (local.get $o) (local.get $rem))
                (local.set $end (i32.add (local.get $o) (i32.const 16)))
                (local.set $tail (i32.const 1))
                (br $phase))))
            (if (local.get $tail)
              (then (call $finish_tail (local.get $scratch) (i32.sub (local.get $o) (i32.const 16)) (local.get $rem))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $leaves))))

  ;; RMSprop: plain or centered, eps inside or outside the root, optional bias correction and
  ;; momentum applied after the learning rate. in: g p nu mu mom; out: u|p' nu' mu' mom'.
  ;; scalars: decay 1-decay bc eps momentum lr clip
  (func (export "rms") (param $table i32) (param $count i32) (param $sc i32) (param $flags i32) (param $scratch i32)
    (local $d v128) (local $c v128) (local $bc v128) (local $eps v128) (local $md v128) (local $lr v128) (local $clip v128)
    (local $j i32) (local $rec i32) (local $n i32) (local $end i32) (local $rem i32) (local $tail i32) (local $o i32)
    (local $pg i32) (local $pp i32) (local $pnu i32) (local $pmu i32) (local $pmom i32)
    (local $q0 i32) (local $q1 i32) (local $q2 i32) (local $q3 i32)
    (local $g v128) (local $v v128) (local $m v128) (local $s v128) (local $u v128) (local $t v128)
    (local.set $d (v128.load32_splat offset=0 (local.get $sc)))
    (local.set $c (v128.load32_splat offset=4 (local.get $sc)))
    (local.set $bc (v128.load32_splat offset=8 (local.get $sc)))
    (local.set $eps (v128.load32_splat offset=12 (local.get $sc)))
    (local.set $md (v128.load32_splat offset=16 (local.get $sc)))
    (local.set $lr (v128.load32_splat offset=20 (local.get $sc)))
    (local.set $clip (v128.load32_splat offset=24 (local.get $sc)))
    (block $done
      (loop $leaves
        (br_if $done (i32.ge_u (local.get $j) (local.get $count)))
        (local.set $rec (i32.add (local.get $table) (i32.mul (local.get $j) (i32.const 44))))
        (local.set $n (i32.load (local.get $rec)))
        (if (local.get $n)
          (then
            (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
            (local.set $rem (i32.and (local.get $n) (i32.const 3)))
            (local.set $tail (i32.const 0))
            (local.set $o (i32.const 0))
            (loop $phase
            (local.set $pg (i32.load offset=8 (local.get $rec)))
            (local.set $pp (i32.load offset=12 (local.get $rec)))
            (local.set $pnu (i32.load offset=16 (local.get $rec)))
            (local.set $pmu (i32.load offset=20 (local.get $rec)))
            (local.set $pmom (i32.load offset=24 (local.get $rec)))
            (local.set $q0 (i32.load offset=28 (local.get $rec)))
            (local.set $q1 (i32.load offset=32 (local.get $rec)))
            (local.set $q2 (i32.load offset=36 (local.get $rec)))
            (local.set $q3 (i32.load offset=40 (local.get $rec)))
            (block $vdone
            (loop $vec
              (br_if $vdone (i32.ge_u (local.get $o) (local.get $end)))
              (local.set $g (v128.load (i32.add (local.get $pg) (local.get $o))))
              (if (i32.and (local.get $flags) (i32.const 4))
                (then (local.set $g (f32x4.mul (local.get $g) (local.get $clip)))))
              (local.set $v (f32x4.add
                (f32x4.mul (local.get $c) (f32x4.mul (local.get $g) (local.get $g)))
                (f32x4.mul (local.get $d) (v128.load (i32.add (local.get $pnu) (local.get $o))))))
              (v128.store (i32.add (local.get $q1) (local.get $o)) (local.get $v))
              (local.set $s (local.get $v))
              (if (i32.and (local.get $flags) (i32.const 128))
                (then (local.set $s (f32x4.div (local.get $s) (local.get $bc)))))
              (if (i32.and (local.get $flags) (i32.const 32))
                (then
                  (local.set $m (f32x4.add
                    (f32x4.mul (local.get $c) (local.get $g))
                    (f32x4.mul (local.get $d) (v128.load (i32.add (local.get $pmu) (local.get $o))))))
                  (v128.store (i32.add (local.get $q2) (local.get $o)) (local.get $m))
                  (if (i32.and (local.get $flags) (i32.const 128))
                    (then (local.set $m (f32x4.div (local.get $m) (local.get $bc)))))
                  (local.set $s (f32x4.sub (local.get $s) (f32x4.mul (local.get $m) (local.get $m))))))
              (if (i32.and (local.get $flags) (i32.const 64))
                (then
                  (local.set $s (f32x4.add (local.get $s) (local.get $eps)))
                  (local.set $s (if (result v128) (i32.and (local.get $flags) (i32.const 256))
                  (then (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                    (f32x4.demote_f64x2_zero (f64x2.div (f64x2.splat (f64.const 1))
                      (f64x2.sqrt (f64x2.promote_low_f32x4 (local.get $s)))))
                    (f32x4.demote_f64x2_zero (f64x2.div (f64x2.splat (f64.const 1))
                      (f64x2.sqrt (f64x2.promote_low_f32x4
                        (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $s) (local.get $s))))))))
                  (else (f32x4.div (f32x4.splat (f32.const 1)) (f32x4.sqrt (local.get $s)))))))
                (else (local.set $s (f32x4.div (f32x4.splat (f32.const 1))
                  (f32x4.add (f32x4.sqrt (local.get $s)) (local.get $eps))))))
              (local.set $u (f32x4.mul (f32x4.mul (local.get $s) (local.get $g)) (local.get $lr)))
              (if (i32.and (local.get $flags) (i32.const 16))
                (then
                  (local.set $t (f32x4.add (local.get $u)
                    (f32x4.mul (local.get $md) (v128.load (i32.add (local.get $pmom) (local.get $o))))))
                  (v128.store (i32.add (local.get $q3) (local.get $o)) (local.get $t))
                  (if (i32.and (local.get $flags) (i32.const 1))
                    (then (local.set $u (f32x4.add (local.get $u) (f32x4.mul (local.get $md) (local.get $t)))))
                    (else (local.set $u (local.get $t))))))
              (if (i32.and (local.get $flags) (i32.const 2))
                (then (local.set $u (f32x4.add (v128.load (i32.add (local.get $pp) (local.get $o))) (local.get $u)))))
              (v128.store (i32.add (local.get $q0) (local.get $o)) (local.get $u))
              (local.set $o (i32.add (local.get $o) (i32.const 16)))
              (br $vec)))
            ;; One more vector for the last n mod 4 elements, through scratch.
            (if (i32.and (i32.ne (local.get $rem) (i32.const 0)) (i32.eqz (local.get $tail)))
              (then
                (call $prepare_tail (local.get $rec) (local.get $scratch) (local.get $o) (local.get $rem))
                (local.set $end (i32.add (local.get $o) (i32.const 16)))
                (local.set $tail (i32.const 1))
                (br $phase))))
            (if (local.get $tail)
              (then (call $finish_tail (local.get $scratch) (i32.sub (local.get $o) (i32.const 16)) (local.get $rem))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $leaves))))

  ;; AdaGrad. in: g p s; out: u|p' s'. scalars: eps lr clip
  (func (export "rss") (param $table i32) (param $count i32) (param $sc i32) (param $flags i32) (param $scratch i32)
    (local $eps v128) (local $lr v128) (local $clip v128)
    (local $j i32) (local $rec i32) (local $n i32) (local $end i32) (local $rem i32) (local $tail i32) (local $o i32)
    (local $pg i32) (local $pp i32) (local $ps i32) (local $q0 i32) (local $q1 i32)
    (local $g v128) (local $s v128) (local $u v128)
    (local.set $eps (v128.load32_splat offset=0 (local.get $sc)))
    (local.set $lr (v128.load32_splat offset=4 (local.get $sc)))
    (local.set $clip (v128.load32_splat offset=8 (local.get $sc)))
    (block $done
      (loop $leaves
        (br_if $done (i32.ge_u (local.get $j) (local.get $count)))
        (local.set $rec (i32.add (local.get $table) (i32.mul (local.get $j) (i32.const 44))))
        (local.set $n (i32.load (local.get $rec)))
        (if (local.get $n)
          (then
            (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
            (local.set $rem (i32.and (local.get $n) (i32.const 3)))
            (local.set $tail (i32.const 0))
            (local.set $o (i32.const 0))
            (loop $phase
            (local.set $pg (i32.load offset=8 (local.get $rec)))
            (local.set $pp (i32.load offset=12 (local.get $rec)))
            (local.set $ps (i32.load offset=16 (local.get $rec)))
            (local.set $q0 (i32.load offset=28 (local.get $rec)))
            (local.set $q1 (i32.load offset=32 (local.get $rec)))
            (block $vdone
            (loop $vec
              (br_if $vdone (i32.ge_u (local.get $o) (local.get $end)))
              (local.set $g (v128.load (i32.add (local.get $pg) (local.get $o))))
              (if (i32.and (local.get $flags) (i32.const 4))
                (then (local.set $g (f32x4.mul (local.get $g) (local.get $clip)))))
              (local.set $s (f32x4.add (f32x4.mul (local.get $g) (local.get $g))
                (v128.load (i32.add (local.get $ps) (local.get $o)))))
              (v128.store (i32.add (local.get $q1) (local.get $o)) (local.get $s))
              (local.set $u (f32x4.add (local.get $s) (local.get $eps)))
              (local.set $u (if (result v128) (i32.and (local.get $flags) (i32.const 256))
                  (then (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                    (f32x4.demote_f64x2_zero (f64x2.div (f64x2.splat (f64.const 1))
                      (f64x2.sqrt (f64x2.promote_low_f32x4 (local.get $u)))))
                    (f32x4.demote_f64x2_zero (f64x2.div (f64x2.splat (f64.const 1))
                      (f64x2.sqrt (f64x2.promote_low_f32x4
                        (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $u) (local.get $u))))))))
                  (else (f32x4.div (f32x4.splat (f32.const 1)) (f32x4.sqrt (local.get $u))))))
              (local.set $u (f32x4.mul
                (f32x4.mul
                  (v128.and (local.get $u) (f32x4.gt (local.get $s) (f32x4.splat (f32.const 0))))
                  (local.get $g))
                (local.get $lr)))
              (if (i32.and (local.get $flags) (i32.const 2))
                (then (local.set $u (f32x4.add (v128.load (i32.add (local.get $pp) (local.get $o))) (local.get $u)))))
              (v128.store (i32.add (local.get $q0) (local.get $o)) (local.get $u))
              (local.set $o (i32.add (local.get $o) (i32.const 16)))
              (br $vec)))
            ;; One more vector for the last n mod 4 elements, through scratch.
            (if (i32.and (i32.ne (local.get $rem) (i32.const 0)) (i32.eqz (local.get $tail)))
              (then
                (call $prepare_tail (local.get $rec) (local.get $scratch) (local.get $o) (local.get $rem))
                (local.set $end (i32.add (local.get $o) (i32.const 16)))
                (local.set $tail (i32.const 1))
                (br $phase))))
            (if (local.get $tail)
              (then (call $finish_tail (local.get $scratch) (i32.sub (local.get $o) (i32.const 16)) (local.get $rem))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $leaves))))
)
