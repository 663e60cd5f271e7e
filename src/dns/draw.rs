//! Owns the orders a checked answer goes through, one per query in turn:
//! computed when verdicts change, so a query only picks the next one.
//!
//! - Without `max_answers`, every address answers, heavier weights first;
//!   addresses of equal weight take turns at the front (with all weights
//!   equal, today's plain rotation).
//! - With `max_answers = k` (fewer than the addresses), each answer holds
//!   k addresses drawn by weight without replacement: address i appears in
//!   a share π_i of answers, its inclusion probability under successive
//!   draws. A ring of [`RING`] answers is laid out so that each address
//!   appears in π_i of them (systematic sampling over the cumulative π,
//!   which never picks an address twice since π_i ≤ 1), then shuffled, so
//!   shares over any run of queries follow the weights to within 1/[`RING`].

use rand::SeedableRng;
use rand::seq::SliceRandom;

/// Answers in a `max_answers` ring.
pub(super) const RING: usize = 100;

/// Ordered draws above this many are estimated rather than enumerated.
const MAX_ENUMERATED: usize = 50_000;

/// Draws simulated to estimate inclusion probabilities of large sets.
const SIMULATED: usize = 4096;

/// The orders answers go through, as indexes into `weights` (the set's
/// addresses, heaviest first). `seed` varies the ring between names.
pub(super) fn orders(weights: &[u32], max_answers: Option<u32>, seed: u64) -> Vec<Box<[u16]>> {
    let n = weights.len();
    match max_answers {
        Some(k) if (k as usize) < n && n > 0 => ring(weights, k as usize, seed),
        _ => rotations(weights),
    }
}

/// Every address in each order; each run of equal weights rotated by one
/// more place per order.
fn rotations(weights: &[u32]) -> Vec<Box<[u16]>> {
    let n = weights.len();
    // Runs of equal weight (weights are sorted heaviest first).
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for i in 1..=n {
        if i == n || weights[i] != weights[start] {
            runs.push((start, i - start));
            start = i;
        }
    }
    (0..n.max(1))
        .map(|r| {
            runs.iter()
                .flat_map(|&(start, len)| (0..len).map(move |j| (start + (j + r) % len) as u16))
                .collect()
        })
        .collect()
}

/// The `max_answers` ring: [`RING`] answers of `k` addresses each.
fn ring(weights: &[u32], k: usize, seed: u64) -> Vec<Box<[u16]>> {
    let pi = inclusion(weights, k, seed);
    let total: f64 = pi.iter().sum();
    // Systematic sampling: the cumulative π spans [0, total ≈ k); answer j
    // takes the addresses under the points u, u + 1, … u + k - 1.
    let mut cumulative = Vec::with_capacity(pi.len());
    let mut sum = 0.0;
    for p in &pi {
        sum += p * k as f64 / total;
        cumulative.push(sum);
    }
    // Rounding must not leave the last point past the end.
    if let Some(last) = cumulative.last_mut() {
        *last = f64::INFINITY;
    }
    let mut ring: Vec<Box<[u16]>> = (0..RING)
        .map(|j| {
            let u = (j as f64 + 0.5) / RING as f64;
            let mut picked: Vec<u16> = (0..k)
                .filter_map(|m| {
                    let point = u + m as f64;
                    cumulative.iter().position(|&c| point < c).map(|i| i as u16)
                })
                .collect();
            picked.dedup();
            // Every answer holds k: should rounding have merged two points,
            // the heaviest address not yet in it fills the gap.
            for i in 0..weights.len() as u16 {
                if picked.len() >= k {
                    break;
                }
                if !picked.contains(&i) {
                    picked.push(i);
                }
            }
            // Whose turn it is at the front changes from answer to answer.
            let len = picked.len().max(1);
            picked.rotate_left(j % len);
            picked.into_boxed_slice()
        })
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    ring.shuffle(&mut rng);
    ring
}

/// Each address's probability of being among `k` drawn by weight without
/// replacement (each draw proportional to the weights left). Exact by
/// enumeration of the ordered draws when they are few, else estimated.
pub(super) fn inclusion(weights: &[u32], k: usize, seed: u64) -> Vec<f64> {
    let n = weights.len();
    let w: Vec<f64> = weights.iter().map(|&w| f64::from(w)).collect();
    if w.iter().all(|&w| w == 0.0) {
        return vec![k as f64 / n.max(1) as f64; n];
    }
    let sequences: usize = (n + 1 - k.min(n)..=n)
        .try_fold(1usize, |acc, f| acc.checked_mul(f))
        .unwrap_or(usize::MAX);
    let mut pi = vec![0.0; n];
    if sequences <= MAX_ENUMERATED {
        let mut taken = vec![false; n];
        enumerate(&w, k, 1.0, &mut taken, &mut pi);
        return pi;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for _ in 0..SIMULATED {
        let mut left = w.clone();
        for _ in 0..k {
            let total: f64 = left.iter().sum();
            if total <= 0.0 {
                break;
            }
            let mut x = rand::Rng::random::<f64>(&mut rng) * total;
            let mut chosen = n - 1;
            for (i, &wi) in left.iter().enumerate() {
                if x < wi {
                    chosen = i;
                    break;
                }
                x -= wi;
            }
            pi[chosen] += 1.0 / SIMULATED as f64;
            left[chosen] = 0.0;
        }
    }
    pi
}

/// Adds to `pi` the probability `p` of the draws so far (`taken`), times
/// that of each way of drawing `left` more.
fn enumerate(w: &[f64], left: usize, p: f64, taken: &mut [bool], pi: &mut [f64]) {
    if left == 0 {
        return;
    }
    let total: f64 = w
        .iter()
        .zip(taken.iter())
        .filter(|(_, t)| !**t)
        .map(|(w, _)| w)
        .sum();
    if total <= 0.0 {
        return;
    }
    for i in 0..w.len() {
        if taken[i] || w[i] == 0.0 {
            continue;
        }
        let q = p * w[i] / total;
        pi[i] += q;
        taken[i] = true;
        enumerate(w, left - 1, q, taken, pi);
        taken[i] = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inclusion_of_3_1_1_drawing_two() {
        // A first with 0.6; else A second with 0.75: 0.6 + 0.4 × 0.75.
        let pi = inclusion(&[3, 1, 1], 2, 1);
        let want = [0.9, 0.55, 0.55];
        for (p, w) in pi.iter().zip(want) {
            assert!((p - w).abs() < 1e-9, "{pi:?}");
        }
    }

    #[test]
    fn the_ring_follows_the_inclusion_probabilities() {
        let weights = [5, 3, 1, 1];
        let pi = inclusion(&weights, 2, 7);
        let ring = orders(&weights, Some(2), 7);
        assert_eq!(ring.len(), RING);
        for (i, p) in pi.iter().enumerate() {
            let seen = ring.iter().filter(|a| a.contains(&(i as u16))).count();
            assert!(
                (seen as f64 / RING as f64 - p).abs() <= 1.0 / RING as f64 + 1e-9,
                "{i}: {seen} vs {p}"
            );
        }
        assert!(ring.iter().all(|a| a.len() == 2 && a[0] != a[1]));
    }

    #[test]
    fn estimates_of_large_sets_are_close() {
        let weights: Vec<u32> = (1..=20).collect();
        let pi = inclusion(&weights, 5, 3);
        assert!((pi.iter().sum::<f64>() - 5.0).abs() < 1e-6);
        assert!(pi[19] > pi[0]);
    }

    #[test]
    fn without_a_cap_equal_weights_rotate_and_heavier_ones_lead() {
        assert_eq!(
            rotations(&[1, 1, 1]),
            vec![
                vec![0u16, 1, 2].into_boxed_slice(),
                vec![1, 2, 0].into_boxed_slice(),
                vec![2, 0, 1].into_boxed_slice()
            ]
        );
        let orders = rotations(&[5, 2, 2]);
        assert!(
            orders.iter().all(|o| o[0] == 0),
            "the heaviest first: {orders:?}"
        );
        assert!(
            orders.iter().any(|o| o[1] == 2),
            "equal weights take turns: {orders:?}"
        );
    }
}
