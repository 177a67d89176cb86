//! The inner loops of the ARIMA fit, compiled twice: for the baseline
//! x86-64 the release is built for, and with AVX2 and FMA, chosen at run
//! time when the processor has them.
//!
//! Why: an ARIMA search is a few hundred passes of these loops over the
//! series, and two of them are bound by the processor. The MA recursion
//! waits on each step's multiply and subtraction (8 cycles), where one
//! fused multiply-add waits 4; the vectorised passes (the AR filter, the
//! Jacobian's columns, dot products) do twice the work per instruction in
//! 256-bit registers. Built for the native processor (same code) the
//! `arima` load test answered 12 % more requests, and 4 % more again with
//! the recursion's multiply-add fused (2 runs each, alternating). The
//! release cannot assume either (the tarball and the .deb run on any
//! x86-64), so each kernel is a body generic over `FMA`, inlined into a
//! baseline function and into a `#[target_feature]` one, and a dispatcher
//! that asks `is_x86_feature_detected!` (cached by the standard library).
//! The `multiversion` crate does the same with a macro; four kernels did
//! not justify a proc-macro dependency.
//!
//! The two versions round differently (a fused multiply-add rounds once):
//! fits agree to about 1e-12 relative, not bit for bit, so answers are
//! identical for identical requests on one machine, not across processors.
//!
//! May import: nothing of the crate.

/// `x_t ← x_t − Σ_l c_l x_{t−l}` for `t ≥ from`, in place on each of `xs`
/// (values before the first count as zero), for the sparse `(lag, c)`
/// pairs of `lags` (lags from 1).
///
/// Each step waits on the one before, so the order is chosen for the
/// processor: the longer lags first, then the lag-1 term from a register
/// (`prev`), so only one multiply and one subtraction (or one fused
/// multiply-add) lie on the chain instead of a store, a reload and every
/// lag; `K` series filtered side by side overlap their chains.
pub fn ma_recursion<const K: usize>(xs: [&mut [f64]; K], lags: &[(usize, f64)], from: usize) {
    #[cfg(target_arch = "x86_64")]
    if fused() {
        // SAFETY: `fused` checked that this processor has AVX2 and FMA.
        #[allow(unsafe_code)]
        return unsafe { ma_recursion_fused(xs, lags, from) };
    }
    ma_recursion_body::<K, false>(xs, lags, from);
}

/// `y ← y + c·x` over the common length.
pub fn axpy(c: f64, x: &[f64], y: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if fused() {
        // SAFETY: `fused` checked that this processor has AVX2 and FMA.
        #[allow(unsafe_code)]
        return unsafe { axpy_fused(c, x, y) };
    }
    axpy_body::<false>(c, x, y);
}

/// `y ← y + c·(a − b)` over the common length.
pub fn axpy_diff(c: f64, a: &[f64], b: &[f64], y: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if fused() {
        // SAFETY: `fused` checked that this processor has AVX2 and FMA.
        #[allow(unsafe_code)]
        return unsafe { axpy_diff_fused(c, a, b, y) };
    }
    axpy_diff_body::<false>(c, a, b, y);
}

/// `Σ aᵢbᵢ` over the common length, in eight interleaved partial sums: a
/// plain running sum waits on each addition before the next (the LM
/// step's normal equations were a third of an ARIMA search), eight lanes
/// keep the adder busy and fill the vector registers.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if fused() {
        // SAFETY: `fused` checked that this processor has AVX2 and FMA.
        #[allow(unsafe_code)]
        return unsafe { dot_fused(a, b) };
    }
    dot_body::<false>(a, b)
}

/// Whether the processor has AVX2 and FMA (the standard library caches the
/// answer, so this is a load and a test).
#[cfg(target_arch = "x86_64")]
fn fused() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn ma_recursion_fused<const K: usize>(xs: [&mut [f64]; K], lags: &[(usize, f64)], from: usize) {
    ma_recursion_body::<K, true>(xs, lags, from);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn axpy_fused(c: f64, x: &[f64], y: &mut [f64]) {
    axpy_body::<true>(c, x, y);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn axpy_diff_fused(c: f64, a: &[f64], b: &[f64], y: &mut [f64]) {
    axpy_diff_body::<true>(c, a, b, y);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot_fused(a: &[f64], b: &[f64]) -> f64 {
    dot_body::<true>(a, b)
}

/// `acc + a·b`, fused where the version has FMA (without it `mul_add` is a
/// slow library call, hence the two forms).
#[inline(always)]
fn madd<const FMA: bool>(a: f64, b: f64, acc: f64) -> f64 {
    if FMA { a.mul_add(b, acc) } else { acc + a * b }
}

#[inline(always)]
fn ma_recursion_body<const K: usize, const FMA: bool>(
    mut xs: [&mut [f64]; K],
    lags: &[(usize, f64)],
    from: usize,
) {
    let n = xs.iter().map(|x| x.len()).min().unwrap_or(0);
    if from >= n || lags.is_empty() {
        return;
    }
    let c1 = lags.iter().find(|(l, _)| *l == 1).map_or(0.0, |p| p.1);
    let mut rest: Vec<(usize, f64)> = lags
        .iter()
        .filter(|(l, _)| *l > 1)
        .map(|&(l, c)| (l, -c))
        .collect();
    rest.sort_unstable_by_key(|p| std::cmp::Reverse(p.0));
    let mut prev = [0.0; K];
    if from > 0 {
        for (p, x) in prev.iter_mut().zip(xs.iter()) {
            *p = x[from - 1];
        }
    }
    // before the longest lag some terms reach before the series
    let split = rest.first().map_or(0, |p| p.0).max(from).min(n);
    for t in from..split {
        for (x, p) in xs.iter_mut().zip(prev.iter_mut()) {
            let mut e = x[t];
            for &(l, c) in &rest {
                if l <= t {
                    e = madd::<FMA>(c, x[t - l], e);
                }
            }
            e = madd::<FMA>(-c1, *p, e);
            x[t] = e;
            *p = e;
        }
    }
    for t in split..n {
        for (x, p) in xs.iter_mut().zip(prev.iter_mut()) {
            let mut e = x[t];
            for &(l, c) in &rest {
                e = madd::<FMA>(c, x[t - l], e);
            }
            e = madd::<FMA>(-c1, *p, e);
            x[t] = e;
            *p = e;
        }
    }
}

#[inline(always)]
fn axpy_body<const FMA: bool>(c: f64, x: &[f64], y: &mut [f64]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y = madd::<FMA>(c, *x, *y);
    }
}

#[inline(always)]
fn axpy_diff_body<const FMA: bool>(c: f64, a: &[f64], b: &[f64], y: &mut [f64]) {
    for ((y, a), b) in y.iter_mut().zip(a).zip(b) {
        *y = madd::<FMA>(c, a - b, *y);
    }
}

#[inline(always)]
fn dot_body<const FMA: bool>(a: &[f64], b: &[f64]) -> f64 {
    // 16 lanes for the 256-bit version measured the same as 8
    const LANES: usize = 8;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..LANES {
            acc[j] = madd::<FMA>(x[j], y[j], acc[j]);
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| ((i * 37 % 101) as f64 - 50.0) / 7.0)
            .collect()
    }

    fn close(a: &[f64], b: &[f64]) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-12 * x.abs().max(1.0), "{x} vs {y}");
        }
    }

    /// The recursion against its definition, one step at a time, in both
    /// versions (the fused one only where this processor has it).
    #[test]
    fn ma_recursion_is_its_definition_in_both_versions() {
        let lags = [(1, 0.6), (2, -0.25), (12, 0.3), (13, -0.18)];
        let x = series(200);
        let mut want = x.clone();
        for t in 5..want.len() {
            for &(l, c) in &lags {
                if l <= t {
                    want[t] -= c * want[t - l];
                }
            }
        }
        let mut plain = x.clone();
        ma_recursion_body::<1, false>([&mut plain], &lags, 5);
        close(&plain, &want);
        let (mut a, mut b) = (x.clone(), x.clone());
        ma_recursion([&mut a, &mut b], &lags, 5);
        close(&a, &want);
        close(&b, &want);
        assert_eq!(&a[..5], &x[..5], "values before `from` are left alone");
    }

    #[test]
    fn vector_kernels_agree_with_plain_loops() {
        let (a, b) = (series(103), series(107));
        let want: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - want).abs() < 1e-9 * want.abs().max(1.0));
        assert!((dot_body::<false>(&a, &b) - want).abs() < 1e-9 * want.abs().max(1.0));
        let mut y = vec![1.0; 103];
        axpy(2.0, &a, &mut y);
        close(&y, &a.iter().map(|v| 1.0 + 2.0 * v).collect::<Vec<_>>());
        let mut y = vec![1.0; 103];
        axpy_diff(-0.5, &a, &b, &mut y);
        let want: Vec<f64> = a.iter().zip(&b).map(|(x, z)| 1.0 - 0.5 * (x - z)).collect();
        close(&y, &want);
    }
}
