;; rxrec's WebAssembly SIMD kernels: the catalogue scan of a factor model's list, the Gram sums
;; and the Cholesky solve of an ALS row, a top-k selection, the closest row among a few, and the
;; ranks of the ensemble's candidate scores. Every sum is accumulated in the order the plain
;; TypeScript forms in src/models/dot-scores.ts and src/models/ridge-solve.ts use (f64x2 lanes
;; hold what those forms keep in two scalar accumulators; wasm has no fused multiply-add), so
;; results are equal bit for bit. All pointers are byte offsets into the imported memory; strides are in bytes.
;; Assembled by tests/kernels/wasm-bytes.test.ts (wabt) into src/kernels/kernels-wasm.ts.
(module
  (import "env" "memory" (memory 1))

  ;; out[i] = Σ_{f < len} u[f] · rows[i · stride + f] for i < count: lane 0 sums the even f,
  ;; lane 1 the odd ones (an odd last f joins lane 0), then lane 0 + lane 1. Two items a pass;
  ;; an odd count's last item is one running sum.
  (func (export "dotScores")
    (param $u i32) (param $rows i32) (param $stride i32) (param $len i32) (param $count i32) (param $out i32)
    (local $i i32) (local $f i32) (local $a i32) (local $b i32) (local $pairs i32)
    (local $accA v128) (local $accB v128) (local $uv v128) (local $ut f64)
    (local.set $pairs (i32.shl (i32.shr_u (local.get $len) (i32.const 1)) (i32.const 4)))
    (if (i32.and (local.get $len) (i32.const 1))
      (then (local.set $ut (f64.load (i32.add (local.get $u) (local.get $pairs))))))
    (block $done
      (loop $items
        (br_if $done (i32.ge_u (i32.add (local.get $i) (i32.const 1)) (local.get $count)))
        (local.set $a (i32.add (local.get $rows) (i32.mul (local.get $i) (local.get $stride))))
        (local.set $b (i32.add (local.get $a) (local.get $stride)))
        (local.set $accA (v128.const f64x2 0 0))
        (local.set $accB (v128.const f64x2 0 0))
        (local.set $f (i32.const 0))
        (block $factorsDone
          (loop $factors
            (br_if $factorsDone (i32.ge_u (local.get $f) (local.get $pairs)))
            (local.set $uv (v128.load (i32.add (local.get $u) (local.get $f))))
            (local.set $accA (f64x2.add (local.get $accA) (f64x2.mul (local.get $uv) (v128.load (i32.add (local.get $a) (local.get $f))))))
            (local.set $accB (f64x2.add (local.get $accB) (f64x2.mul (local.get $uv) (v128.load (i32.add (local.get $b) (local.get $f))))))
            (local.set $f (i32.add (local.get $f) (i32.const 16)))
            (br $factors)))
        (if (i32.and (local.get $len) (i32.const 1))
          (then
            (local.set $accA (f64x2.replace_lane 0 (local.get $accA)
              (f64.add (f64x2.extract_lane 0 (local.get $accA)) (f64.mul (local.get $ut) (f64.load (i32.add (local.get $a) (local.get $f)))))))
            (local.set $accB (f64x2.replace_lane 0 (local.get $accB)
              (f64.add (f64x2.extract_lane 0 (local.get $accB)) (f64.mul (local.get $ut) (f64.load (i32.add (local.get $b) (local.get $f)))))))))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3)))
          (f64.add (f64x2.extract_lane 0 (local.get $accA)) (f64x2.extract_lane 1 (local.get $accA))))
        (f64.store offset=8 (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3)))
          (f64.add (f64x2.extract_lane 0 (local.get $accB)) (f64x2.extract_lane 1 (local.get $accB))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $items)))
    ;; An odd count's last item: one running sum in factor order (as dotScores' last item).
    (if (i32.lt_u (local.get $i) (local.get $count))
      (then
        (local.set $a (i32.add (local.get $rows) (i32.mul (local.get $i) (local.get $stride))))
        (local.set $ut (f64.const 0))
        (local.set $pairs (i32.shl (local.get $len) (i32.const 3)))
        (local.set $f (i32.const 0))
        (block $lastDone
          (loop $last
            (br_if $lastDone (i32.ge_u (local.get $f) (local.get $pairs)))
            (local.set $ut (f64.add (local.get $ut)
              (f64.mul (f64.load (i32.add (local.get $u) (local.get $f))) (f64.load (i32.add (local.get $a) (local.get $f))))))
            (local.set $f (i32.add (local.get $f) (i32.const 8)))
            (br $last)))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3))) (local.get $ut)))))

  ;; Column sums and Gram sums of `count` rows of `width` float64s (a multiple of 4), row k at
  ;; rows + ids[k · idStride] · rowStride (int32 ids; strides in bytes), read where they lie,
  ;; each sum over k in order from 0:
  ;;   sums[g] = Σ_k (sumWeight x_kg) for g < width;
  ;;   gram[f · width + g] = Σ_k (weight x_kf) x_kg for f a multiple of 4 with its next 3 rows, g ≥ f even, g + 1 < width
  ;; (the products in the order addOuterUpper and a weighted rhs take them; weights of 1 change nothing).
  ;; Entries below those tiles are left as they were. A table row narrower than `width` lends
  ;; its padding lanes the next float64s of the memory: they reach only sums and entries past
  ;; the row's width, which the caller drops (lanes never mix).
  (func (export "gramSums")
    (param $rows i32) (param $rowStride i32) (param $ids i32) (param $idStride i32) (param $count i32)
    (param $width i32) (param $sums i32) (param $gram i32) (param $weight f64) (param $sumWeight f64)
    (local $sw v128) (local $end i32) (local $k i32) (local $at i32) (local $f i32) (local $g i32) (local $fo i32) (local $go i32) (local $out i32) (local $gramRow i32)
    (local $s v128) (local $y v128) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local.set $gramRow (i32.shl (local.get $width) (i32.const 3)))
    (local.set $sw (f64x2.splat (local.get $sumWeight)))
    (local.set $end (i32.add (local.get $ids) (i32.mul (local.get $count) (local.get $idStride))))
    (local.set $g (i32.const 0))
    (block $sumsDone
      (loop $columns
        (br_if $sumsDone (i32.ge_u (local.get $g) (local.get $width)))
        (local.set $go (i32.shl (local.get $g) (i32.const 3)))
        (local.set $s (v128.const f64x2 0 0))
        (local.set $k (local.get $ids))
        (block $rowsDone
          (loop $rowsLoop
            (br_if $rowsDone (i32.ge_u (local.get $k) (local.get $end)))
            (local.set $at (i32.add (local.get $rows) (i32.mul (i32.load (local.get $k)) (local.get $rowStride))))
            (local.set $s (f64x2.add (local.get $s) (f64x2.mul (local.get $sw) (v128.load (i32.add (local.get $at) (local.get $go))))))
            (local.set $k (i32.add (local.get $k) (local.get $idStride)))
            (br $rowsLoop)))
        (v128.store (i32.add (local.get $sums) (local.get $go)) (local.get $s))
        (local.set $g (i32.add (local.get $g) (i32.const 2)))
        (br $columns)))
    (local.set $f (i32.const 0))
    (block $tileRowsDone
      (loop $tileRows
        (br_if $tileRowsDone (i32.ge_u (local.get $f) (local.get $width)))
        (local.set $fo (i32.shl (local.get $f) (i32.const 3)))
        (local.set $g (local.get $f))
        (block $tileColumnsDone
          (loop $tileColumns
            (br_if $tileColumnsDone (i32.ge_u (i32.add (local.get $g) (i32.const 1)) (local.get $width)))
            (local.set $go (i32.shl (local.get $g) (i32.const 3)))
            (local.set $a (v128.const f64x2 0 0))
            (local.set $b (v128.const f64x2 0 0))
            (local.set $c (v128.const f64x2 0 0))
            (local.set $d (v128.const f64x2 0 0))
            (local.set $k (local.get $ids))
            (block $tileDone
              (loop $tile
                (br_if $tileDone (i32.ge_u (local.get $k) (local.get $end)))
                (local.set $at (i32.add (local.get $rows) (i32.mul (i32.load (local.get $k)) (local.get $rowStride))))
                (local.set $y (v128.load (i32.add (local.get $at) (local.get $go))))
                (local.set $at (i32.add (local.get $at) (local.get $fo)))
                (local.set $a (f64x2.add (local.get $a) (f64x2.mul (f64x2.splat (f64.mul (local.get $weight) (f64.load (local.get $at)))) (local.get $y))))
                (local.set $b (f64x2.add (local.get $b) (f64x2.mul (f64x2.splat (f64.mul (local.get $weight) (f64.load offset=8 (local.get $at)))) (local.get $y))))
                (local.set $c (f64x2.add (local.get $c) (f64x2.mul (f64x2.splat (f64.mul (local.get $weight) (f64.load offset=16 (local.get $at)))) (local.get $y))))
                (local.set $d (f64x2.add (local.get $d) (f64x2.mul (f64x2.splat (f64.mul (local.get $weight) (f64.load offset=24 (local.get $at)))) (local.get $y))))
                (local.set $k (i32.add (local.get $k) (local.get $idStride)))
                (br $tile)))
            (local.set $out (i32.add (local.get $gram) (i32.add (i32.mul (local.get $f) (local.get $gramRow)) (local.get $go))))
            (v128.store (local.get $out) (local.get $a))
            (v128.store (i32.add (local.get $out) (local.get $gramRow)) (local.get $b))
            (v128.store (i32.add (local.get $out) (i32.shl (local.get $gramRow) (i32.const 1))) (local.get $c))
            (v128.store (i32.add (local.get $out) (i32.mul (local.get $gramRow) (i32.const 3))) (local.get $d))
            (local.set $g (i32.add (local.get $g) (i32.const 2)))
            (br $tileColumns)))
        (local.set $f (i32.add (local.get $f) (i32.const 4)))
        (br $tileRows))))

  ;; Column `column`'s best (float64s at hs) against a score; a NaN leaves it (pmax's rule).
  (func $columnBest (param $hs i32) (param $column i32) (param $score f64)
    (local $at i32)
    (local.set $at (i32.add (local.get $hs) (i32.shl (local.get $column) (i32.const 3))))
    (f64.store (local.get $at)
      (f64x2.extract_lane 0 (f64x2.pmax (f64x2.splat (f64.load (local.get $at))) (f64x2.splat (local.get $score))))))

  ;; The k best of scores[0..count), best first: higher score first, equal scores to the lower
  ;; index, NaN and -Infinity never (as topK in src/ranking/top-k.ts; the caller excludes an
  ;; item by writing -Infinity over its score), into hs (scores) and hi (indexes); returns how many.
  ;; First a floor: the items dealt into k columns (item i to column i mod k), the least of the
  ;; columns' best scores. Each column holds an item at or above it, so k items do, and nothing
  ;; below it is listed; the scan then looks only at the items at or above it (an eighth of
  ;; random scores at k = 50 of 1,682, the best few hundred when scores fall with the index, as
  ;; popularity's do). Columns (not runs of neighbours) so that scores ordered by index still
  ;; floor high. A column with nothing listable floors at -Infinity, which prunes nothing. The
  ;; columns' best are kept where the list goes.
  ;; Then the list itself, kept sorted: an item better than the worst kept goes in at the count
  ;; of kept scores at or above its own (equal ones came first, from lower indexes), counted two
  ;; at a time without a branch on the data, and the ones below move down a place by a memory
  ;; copy, the worst dropping out. A heap took two unpredictable branches a level of every sift
  ;; and a heapsort at the end; this takes none, and the list is in order as it stands.
  ;; Unfilled places hold -Infinity, which no listed score is at or below.
  (func (export "topK")
    (param $scores i32) (param $count i32) (param $k i32) (param $hs i32) (param $hi i32) (result i32)
    (local $index i32) (local $size i32) (local $pos i32) (local $pairsEnd i32) (local $j i32) (local $moved i32)
    (local $score f64) (local $threshold f64) (local $bar v128) (local $at i32) (local $splat v128) (local $atOrAbove v128)
    (local $floor f64) (local $floorBar v128) (local $end i32) (local $column i32)
    (if (i32.le_s (local.get $k) (i32.const 0)) (then (return (i32.const 0))))
    (local.set $floor (f64.const -inf))
    ;; Columns of two items or more, and k of 8 or more (else the floor costs more than it saves).
    (if (i32.and (i32.ge_s (local.get $count) (i32.shl (local.get $k) (i32.const 1))) (i32.ge_s (local.get $k) (i32.const 8)))
      (then
        (local.set $end (i32.mul (i32.div_s (local.get $count) (local.get $k)) (local.get $k)))
        (block $started
          (loop $start
            (br_if $started (i32.ge_s (local.get $column) (local.get $k)))
            (f64.store (i32.add (local.get $hs) (i32.shl (local.get $column) (i32.const 3))) (f64.const -inf))
            (local.set $column (i32.add (local.get $column) (i32.const 1)))
            (br $start)))
        ;; Whole rows of k, two columns a step (pmax keeps the best over a NaN: pmax(a, b) = a < b ? b : a),
        ;; an odd k's last column alone; then the last, partial row.
        (block $rows
          (loop $row
            (br_if $rows (i32.ge_s (local.get $index) (local.get $end)))
            (local.set $column (i32.const 0))
            (block $pairs
              (loop $pair
                (br_if $pairs (i32.gt_s (i32.add (local.get $column) (i32.const 2)) (local.get $k)))
                (local.set $at (i32.add (local.get $hs) (i32.shl (local.get $column) (i32.const 3))))
                (v128.store (local.get $at)
                  (f64x2.pmax (v128.load (local.get $at))
                              (v128.load (i32.add (local.get $scores) (i32.shl (i32.add (local.get $index) (local.get $column)) (i32.const 3))))))
                (local.set $column (i32.add (local.get $column) (i32.const 2)))
                (br $pair)))
            (if (i32.lt_s (local.get $column) (local.get $k))
              (then (call $columnBest (local.get $hs) (local.get $column)
                                      (f64.load (i32.add (local.get $scores) (i32.shl (i32.add (local.get $index) (local.get $column)) (i32.const 3)))))))
            (local.set $index (i32.add (local.get $index) (local.get $k)))
            (br $row)))
        (block $rest
          (loop $tail
            (br_if $rest (i32.ge_s (local.get $index) (local.get $count)))
            (call $columnBest (local.get $hs) (i32.sub (local.get $index) (local.get $end))
                              (f64.load (i32.add (local.get $scores) (i32.shl (local.get $index) (i32.const 3)))))
            (local.set $index (i32.add (local.get $index) (i32.const 1)))
            (br $tail)))
        ;; The floor: the least column best (none is NaN).
        (local.set $floor (f64.const inf))
        (local.set $column (i32.const 0))
        (block $least
          (loop $columns
            (br_if $least (i32.ge_s (local.get $column) (local.get $k)))
            (local.set $floor (f64.min (local.get $floor) (f64.load (i32.add (local.get $hs) (i32.shl (local.get $column) (i32.const 3))))))
            (local.set $column (i32.add (local.get $column) (i32.const 1)))
            (br $columns)))
        (local.set $index (i32.const 0))))
    (local.set $floorBar (f64x2.splat (local.get $floor)))
    (local.set $column (i32.const 0))
    (block $cleared
      (loop $clear
        (br_if $cleared (i32.ge_s (local.get $column) (local.get $k)))
        (f64.store (i32.add (local.get $hs) (i32.shl (local.get $column) (i32.const 3))) (f64.const -inf))
        (local.set $column (i32.add (local.get $column) (i32.const 1)))
        (br $clear)))
    ;; The worst kept, -Infinity until k are: any score above it enters (NaN never does).
    (local.set $threshold (f64.const -inf))
    (local.set $bar (f64x2.splat (f64.const -inf)))
    (block $scanned
      (loop $scan
        (br_if $scanned (i32.ge_s (local.get $index) (local.get $count)))
        (local.set $at (i32.add (local.get $scores) (i32.shl (local.get $index) (i32.const 3))))
        ;; Four at a time past the ones that cannot enter (below the floor, or once the list is
        ;; full not above its worst): most items.
        (if (i32.lt_s (i32.add (local.get $index) (i32.const 3)) (local.get $count))
          (then
            (if (i32.eqz (v128.any_true (v128.or (v128.and (f64x2.gt (v128.load (local.get $at)) (local.get $bar))
                                                           (f64x2.ge (v128.load (local.get $at)) (local.get $floorBar)))
                                                 (v128.and (f64x2.gt (v128.load offset=16 (local.get $at)) (local.get $bar))
                                                           (f64x2.ge (v128.load offset=16 (local.get $at)) (local.get $floorBar))))))
              (then
                (local.set $index (i32.add (local.get $index) (i32.const 4)))
                (br $scan)))))
        (local.set $score (f64.load (local.get $at)))
        (if (i32.and (f64.gt (local.get $score) (local.get $threshold)) (f64.ge (local.get $score) (local.get $floor)))
          (then
            ;; Its place: the kept scores at or above it, by pairs over the filled places (an
            ;; unfilled one is -Infinity and counts 0), then an odd k's last place alone.
            (local.set $splat (f64x2.splat (local.get $score)))
            (local.set $atOrAbove (v128.const i64x2 0 0))
            (local.set $pairsEnd (i32.and (i32.add (local.get $size) (i32.const 1)) (i32.const -2)))
            (if (i32.gt_s (local.get $pairsEnd) (i32.and (local.get $k) (i32.const -2)))
              (then (local.set $pairsEnd (i32.and (local.get $k) (i32.const -2)))))
            (local.set $j (i32.const 0))
            (block $counted
              (loop $pairs
                (br_if $counted (i32.ge_s (local.get $j) (local.get $pairsEnd)))
                ;; A lane at or above is all ones, -1 as an integer: subtracting it counts it.
                (local.set $atOrAbove (i64x2.sub (local.get $atOrAbove)
                  (f64x2.ge (v128.load (i32.add (local.get $hs) (i32.shl (local.get $j) (i32.const 3)))) (local.get $splat))))
                (local.set $j (i32.add (local.get $j) (i32.const 2)))
                (br $pairs)))
            (local.set $pos (i32.wrap_i64 (i64.add (i64x2.extract_lane 0 (local.get $atOrAbove)) (i64x2.extract_lane 1 (local.get $atOrAbove)))))
            (if (i32.lt_s (local.get $j) (local.get $size))
              (then (local.set $pos (i32.add (local.get $pos)
                      (f64.ge (f64.load (i32.add (local.get $hs) (i32.shl (local.get $j) (i32.const 3)))) (local.get $score))))))
            ;; The kept from pos on move down a place, within the k places.
            (local.set $moved (i32.sub (local.get $size) (local.get $pos)))
            (if (i32.eq (local.get $size) (local.get $k)) (then (local.set $moved (i32.sub (local.get $moved) (i32.const 1)))))
            (memory.copy (i32.add (local.get $hs) (i32.shl (i32.add (local.get $pos) (i32.const 1)) (i32.const 3)))
                         (i32.add (local.get $hs) (i32.shl (local.get $pos) (i32.const 3)))
                         (i32.shl (local.get $moved) (i32.const 3)))
            (memory.copy (i32.add (local.get $hi) (i32.shl (i32.add (local.get $pos) (i32.const 1)) (i32.const 2)))
                         (i32.add (local.get $hi) (i32.shl (local.get $pos) (i32.const 2)))
                         (i32.shl (local.get $moved) (i32.const 2)))
            (f64.store (i32.add (local.get $hs) (i32.shl (local.get $pos) (i32.const 3))) (local.get $score))
            (i32.store (i32.add (local.get $hi) (i32.shl (local.get $pos) (i32.const 2))) (local.get $index))
            (local.set $size (i32.add (local.get $size) (i32.lt_s (local.get $size) (local.get $k))))
            (local.set $threshold (f64.load (i32.add (local.get $hs) (i32.shl (i32.sub (local.get $k) (i32.const 1)) (i32.const 3)))))
            (local.set $bar (f64x2.splat (local.get $threshold)))))
        (local.set $index (i32.add (local.get $index) (i32.const 1)))
        (br $scan)))
    (local.get $size))

  ;; Solve (a) x = rhs for the r × r system whose upper triangle is in a, by the in-place upper
  ;; Cholesky factorisation of RidgeSystem.solve (src/models/ridge-solve.ts), step for step: the
  ;; same pivot floor, the same sums in the same order, so the same solution.
  (func (export "choleskySolve") (param $a i32) (param $rhs i32) (param $x i32) (param $r i32)
    (local $i i32) (local $j i32) (local $k i32) (local $row i32)
    (local $scale f64) (local $floor f64) (local $d f64) (local $pivot f64) (local $s f64) (local $akj f64)
    ;; a[i][j] is at a + 8 (i r + j); row = 8 r.
    (local.set $row (i32.shl (local.get $r) (i32.const 3)))
    (block $scaled
      (loop $diagonal
        (br_if $scaled (i32.ge_s (local.get $j) (local.get $r)))
        (local.set $scale (f64.max (local.get $scale)
          (f64.load (i32.add (local.get $a) (i32.mul (local.get $j) (i32.add (local.get $row) (i32.const 8)))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $diagonal)))
    (local.set $floor (f64.mul (f64.max (local.get $scale) (f64.const 1e-300)) (f64.const 1e-12)))
    (local.set $j (i32.const 0))
    (block $factored
      (loop $columns
        (br_if $factored (i32.ge_s (local.get $j) (local.get $r)))
        ;; d = a[j][j] − Σ_{k<j} a[k][j]²
        (local.set $d (f64.load (i32.add (local.get $a) (i32.mul (local.get $j) (i32.add (local.get $row) (i32.const 8))))))
        (local.set $k (i32.const 0))
        (block $dDone
          (loop $dSum
            (br_if $dDone (i32.ge_s (local.get $k) (local.get $j)))
            (local.set $akj (f64.load (i32.add (local.get $a) (i32.add (i32.mul (local.get $k) (local.get $row)) (i32.shl (local.get $j) (i32.const 3))))))
            (local.set $d (f64.sub (local.get $d) (f64.mul (local.get $akj) (local.get $akj))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $dSum)))
        (local.set $pivot (if (result f64) (f64.gt (local.get $d) (local.get $floor))
          (then (f64.sqrt (local.get $d))) (else (f64.sqrt (local.get $floor)))))
        (f64.store (i32.add (local.get $a) (i32.mul (local.get $j) (i32.add (local.get $row) (i32.const 8)))) (local.get $pivot))
        ;; a[j][i] = (a[j][i] − Σ_{k<j} a[k][j] a[k][i]) / pivot for i > j
        (local.set $i (i32.add (local.get $j) (i32.const 1)))
        (block $rowDone
          (loop $rowEntries
            (br_if $rowDone (i32.ge_s (local.get $i) (local.get $r)))
            (local.set $s (f64.load (i32.add (local.get $a) (i32.add (i32.mul (local.get $j) (local.get $row)) (i32.shl (local.get $i) (i32.const 3))))))
            (local.set $k (i32.const 0))
            (block $sDone
              (loop $sSum
                (br_if $sDone (i32.ge_s (local.get $k) (local.get $j)))
                (local.set $s (f64.sub (local.get $s)
                  (f64.mul
                    (f64.load (i32.add (local.get $a) (i32.add (i32.mul (local.get $k) (local.get $row)) (i32.shl (local.get $j) (i32.const 3)))))
                    (f64.load (i32.add (local.get $a) (i32.add (i32.mul (local.get $k) (local.get $row)) (i32.shl (local.get $i) (i32.const 3))))))))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $sSum)))
            (f64.store (i32.add (local.get $a) (i32.add (i32.mul (local.get $j) (local.get $row)) (i32.shl (local.get $i) (i32.const 3))))
              (f64.div (local.get $s) (local.get $pivot)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $rowEntries)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $columns)))
    ;; Uᵀ y = rhs: y[i] = (rhs[i] − Σ_{k<i} a[k][i] y[k]) / a[i][i]
    (local.set $i (i32.const 0))
    (block $forwardDone
      (loop $forward
        (br_if $forwardDone (i32.ge_s (local.get $i) (local.get $r)))
        (local.set $s (f64.load (i32.add (local.get $rhs) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $k (i32.const 0))
        (block $fDone
          (loop $fSum
            (br_if $fDone (i32.ge_s (local.get $k) (local.get $i)))
            (local.set $s (f64.sub (local.get $s)
              (f64.mul
                (f64.load (i32.add (local.get $a) (i32.add (i32.mul (local.get $k) (local.get $row)) (i32.shl (local.get $i) (i32.const 3)))))
                (f64.load (i32.add (local.get $x) (i32.shl (local.get $k) (i32.const 3)))))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $fSum)))
        (f64.store (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 3)))
          (f64.div (local.get $s) (f64.load (i32.add (local.get $a) (i32.mul (local.get $i) (i32.add (local.get $row) (i32.const 8)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $forward)))
    ;; U x = y: x[i] = (y[i] − Σ_{k>i} a[i][k] x[k]) / a[i][i], from the last row up
    (local.set $i (i32.sub (local.get $r) (i32.const 1)))
    (block $backDone
      (loop $back
        (br_if $backDone (i32.lt_s (local.get $i) (i32.const 0)))
        (local.set $s (f64.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $k (i32.add (local.get $i) (i32.const 1)))
        (block $bDone
          (loop $bSum
            (br_if $bDone (i32.ge_s (local.get $k) (local.get $r)))
            (local.set $s (f64.sub (local.get $s)
              (f64.mul
                (f64.load (i32.add (local.get $a) (i32.add (i32.mul (local.get $i) (local.get $row)) (i32.shl (local.get $k) (i32.const 3)))))
                (f64.load (i32.add (local.get $x) (i32.shl (local.get $k) (i32.const 3)))))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $bSum)))
        (f64.store (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 3)))
          (f64.div (local.get $s) (f64.load (i32.add (local.get $a) (i32.mul (local.get $i) (i32.add (local.get $row) (i32.const 8)))))))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $back))))

  ;; Of the rows ids[0..n) (int32 row numbers), the one whose dot product with u over len
  ;; columns is largest and above 0 (the first such on ties), as its position in ids, or -1. Each
  ;; dot product is one running sum in column order (as ImplicitAls.explain's).
  (func (export "bestDot") (param $u i32) (param $rows i32) (param $stride i32) (param $len i32) (param $ids i32) (param $n i32) (result i32)
    (local $p i32) (local $f i32) (local $a i32) (local $end i32) (local $best i32) (local $dot f64) (local $bestDot f64)
    (local.set $best (i32.const -1))
    (local.set $end (i32.shl (local.get $len) (i32.const 3)))
    (block $done
      (loop $picks
        (br_if $done (i32.ge_s (local.get $p) (local.get $n)))
        (local.set $a (i32.add (local.get $rows)
          (i32.mul (i32.load (i32.add (local.get $ids) (i32.shl (local.get $p) (i32.const 2)))) (local.get $stride))))
        (local.set $dot (f64.const 0))
        (local.set $f (i32.const 0))
        (block $summed
          (loop $sum
            (br_if $summed (i32.ge_u (local.get $f) (local.get $end)))
            (local.set $dot (f64.add (local.get $dot)
              (f64.mul (f64.load (i32.add (local.get $u) (local.get $f))) (f64.load (i32.add (local.get $a) (local.get $f))))))
            (local.set $f (i32.add (local.get $f) (i32.const 8)))
            (br $sum)))
        (if (f64.gt (local.get $dot) (local.get $bestDot))
          (then
            (local.set $best (local.get $p))
            (local.set $bestDot (local.get $dot))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $picks)))
    (local.get $best))

  ;; The ensemble's candidate ranks: sorted[0..n) = values[0..n) ascending, and below[c] = how
  ;; many values are less than values[c] (a float64 count; equal values, ±0 among them, share
  ;; one). An insertion sort of the values taken last first, with their positions (int32s at
  ;; ids) alongside: an input's own top-N is listed best first, so read backwards it arrives in
  ;; order and costs a comparison each. Values must not be NaN.
  (func (export "rankValues") (param $values i32) (param $n i32) (param $sorted i32) (param $ids i32) (param $below i32)
    (local $i i32) (local $j i32) (local $id i32) (local $v f64) (local $w f64) (local $runStart i32)
    ;; Taken last first.
    (block $copied
      (loop $copy
        (br_if $copied (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $j (i32.sub (i32.sub (local.get $n) (i32.const 1)) (local.get $i)))
        (f64.store (i32.add (local.get $sorted) (i32.shl (local.get $i) (i32.const 3)))
          (f64.load (i32.add (local.get $values) (i32.shl (local.get $j) (i32.const 3)))))
        (i32.store (i32.add (local.get $ids) (i32.shl (local.get $i) (i32.const 2))) (local.get $j))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $copy)))
    (local.set $i (i32.const 1))
    (block $sortedAll
      (loop $insert
        (br_if $sortedAll (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $v (f64.load (i32.add (local.get $sorted) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $id (i32.load (i32.add (local.get $ids) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $j (i32.sub (local.get $i) (i32.const 1)))
        (block $placed
          (loop $shift
            (br_if $placed (i32.lt_s (local.get $j) (i32.const 0)))
            (local.set $w (f64.load (i32.add (local.get $sorted) (i32.shl (local.get $j) (i32.const 3)))))
            (br_if $placed (i32.eqz (f64.gt (local.get $w) (local.get $v))))
            (f64.store offset=8 (i32.add (local.get $sorted) (i32.shl (local.get $j) (i32.const 3))) (local.get $w))
            (i32.store offset=4 (i32.add (local.get $ids) (i32.shl (local.get $j) (i32.const 2)))
              (i32.load (i32.add (local.get $ids) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (br $shift)))
        (f64.store offset=8 (i32.add (local.get $sorted) (i32.shl (local.get $j) (i32.const 3))) (local.get $v))
        (i32.store offset=4 (i32.add (local.get $ids) (i32.shl (local.get $j) (i32.const 2))) (local.get $id))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $insert)))
    ;; Each value's count below: where its run of equal values starts.
    (local.set $i (i32.const 0))
    (block $counted
      (loop $runs
        (br_if $counted (i32.ge_s (local.get $i) (local.get $n)))
        (if (i32.gt_s (local.get $i) (i32.const 0))
          (then
            (if (f64.gt (f64.load (i32.add (local.get $sorted) (i32.shl (local.get $i) (i32.const 3))))
                        (f64.load (i32.sub (i32.add (local.get $sorted) (i32.shl (local.get $i) (i32.const 3))) (i32.const 8))))
              (then (local.set $runStart (local.get $i))))))
        (f64.store (i32.add (local.get $below) (i32.shl (i32.load (i32.add (local.get $ids) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 3)))
          (f64.convert_i32_s (local.get $runStart)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $runs)))
  )
)
